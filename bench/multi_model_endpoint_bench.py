"""Benchmark of the local multi-model endpoint: the seeds' experiments, on this machine.

1. Cold vs warm invocation latency per segment model (seed 004: first call ~1.1-1.5 s, warm
   ~20 ms on SageMaker; target here: warm p50 under 5 ms over loopback).
2. 200 copies of the models behind a cache smaller than 200 (seed 003: the instance held 121):
   invoke 100 models, the same 100 again, all 200, then the first 100 again; print the loaded
   model count and hit rate after each phase.
3. Concurrent clients hammering the 200 copies through a cache of fewer models, so models are
   evicted while requests use them (target: no request fails).

Prints figures; asserts nothing. The endpoint runs as its own process
(`python -m pipelines.cli.multi_model_endpoint`); clients use keep-alive connections to 127.0.0.1.
Latencies are medians over --runs fresh endpoint processes. The models come from a local run of
the multi-model pipeline (`run-pipeline --local`, about 2 minutes on 2 cores), or from --prefix:
a directory or an s3:// prefix of --local-root holding `<segment>/v<N>.tar.gz` artifacts.

Run: `python bench/multi_model_endpoint_bench.py [--prefix PREFIX] [--runs 3]`.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from endpoint_process import EndpointProcess  # this folder (run as a script)

from runtime.serving import artifact_store

CITIES = ["New York", "Chicago", "Phoenix"]
PIPELINE_PREFIX = "MultiModelPipeline/staging/"
HOUSE = {"year_built": 2001, "square_feet": 2800, "num_bedrooms": 4, "num_bathrooms": 2.5,
         "lot_acres": 0.9, "garage_spaces": 2, "deck": "yes", "front_porch": "no"}
BODY = json.dumps({"instances": [HOUSE]}).encode()
WARM_P50_TARGET_MS = 5.0


class Endpoint(EndpointProcess):
    """The multi-model endpoint command in its own process on a free loopback port."""

    def __init__(self, prefix: Path, log: Path, *options: str):
        super().__init__([sys.executable, "-m", "pipelines.cli.multi_model_endpoint", str(prefix),
                          "--port", "0", "--threads", "8", *options], log)

    def get(self, path: str) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()


class Client:
    """One keep-alive connection; `invoke` returns (status, seconds)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def invoke(self, target: str) -> tuple[int, float]:
        started = time.perf_counter()
        self.conn.request("POST", "/invocations", body=BODY, headers={
            "Content-Type": "application/json", "X-Amzn-SageMaker-Target-Model": target})
        response = self.conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started

    def ping(self) -> float:
        started = time.perf_counter()
        self.conn.request("GET", "/ping")
        self.conn.getresponse().read()
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
                     for row in [header, *rows])


# --- the models ------------------------------------------------------------------------------
def pipeline_artifacts(work: Path) -> tuple[Path, list[str]]:
    """Run the multi-model pipeline locally; returns its staging directory and artifact names."""
    print(f"training {', '.join(CITIES)} with run-pipeline --local (about 2 minutes) ...",
          flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.run_pipeline", "--local", "-n",
         "pipelines.multi_model.pipeline", "--kwargs", json.dumps({"segments": CITIES})],
        cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the pipeline failed (pass --prefix to use trained artifacts):\n"
                         f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    staging = list((work / ".sagemaker-local").glob(f"*/{PIPELINE_PREFIX}"))
    if len(staging) != 1:
        raise SystemExit(f"expected one staging prefix under {work}/.sagemaker-local, "
                         f"found {staging}")
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return staging[0], artifact_store(str(staging[0])).names()


def fetch_source(prefix: str, local_root: str, work: Path) -> tuple[Path, list[str]]:
    """Copy the artifacts under --prefix into a directory."""
    store = artifact_store(prefix, local_root)
    names = store.names()
    if not names:
        raise SystemExit(f"no .tar.gz artifacts under {prefix}")
    source = work / "source"
    for name in names:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        with store.open(name) as stream:
            (source / name).write_bytes(stream.read())
    return source, names


def layout(source: Path, names: list[str], work: Path, copies: int) -> tuple[Path, list[str]]:
    """A prefix with the models under their names plus `copies` copies under distinct names."""
    prefix = work / "prefix"
    copy_names = [f"copy-{i:03d}/v1.tar.gz" for i in range(copies)]
    sources = names + [names[i % len(names)] for i in range(copies)]
    for name, origin in zip(names + copy_names, sources, strict=True):
        (prefix / name).parent.mkdir(parents=True, exist_ok=True)
        (prefix / name).write_bytes((source / origin).read_bytes())
    return prefix, copy_names


# --- experiments -----------------------------------------------------------------------------
def cold_and_warm(prefix: Path, names: list[str], warmup: str, work: Path, runs: int,
                  warm_requests: int) -> float:
    """Per model: the first request (loads it), `warm_requests` more, then as many calls of
    the handler alone in this process right after (paired, as the machine's load drifts).
    Returns the warm p50."""
    handlers = {name: _handler_alone(prefix / name, work) for name in names}
    cold: dict[str, list[float]] = {name: [] for name in names}
    warm: dict[str, list[float]] = {name: [] for name in names}
    alone: dict[str, list[float]] = {name: [] for name in names}
    first_in_process: list[float] = []
    pings: list[float] = []
    for run in range(runs):
        with Endpoint(prefix, work / f"cold-warm-{run}.log") as endpoint:
            client = Client(endpoint.port)
            status, seconds = client.invoke(warmup)  # imports the handler's libraries
            first_in_process.append(seconds)
            pings.append(statistics.median(client.ping() for _ in range(warm_requests)))
            for name in names:
                status, seconds = client.invoke(name)
                if status != 200:
                    raise SystemExit(f"{name} answered {status}; see {endpoint.log}")
                cold[name].append(seconds)
                latencies = [client.invoke(name) for _ in range(warm_requests)]
                warm[name].append(statistics.median(s for _, s in latencies))
                alone[name].append(statistics.median(handlers[name]()
                                                     for _ in range(warm_requests)))
            client.close()
    print(f"\n## 1. Cold vs warm invocation latency (ms; median of {runs} endpoint processes; "
          f"warm = p50 of {warm_requests} requests; handler alone = input_fn, predict_fn, "
          f"output_fn in the bench process, no HTTP)")
    print(f"first request of a process (loads a model and imports pandas, scikit-learn, "
          f"XGBoost): {ms(statistics.median(first_in_process))} ms")
    rows = [[name, ms(statistics.median(cold[name])), ms(statistics.median(warm[name])),
             f"{statistics.median(cold[name]) / statistics.median(warm[name]):.0f}x",
             ms(statistics.median(alone[name]))] for name in names]
    print(table(rows, ["target model", "cold", "warm p50", "cold/warm", "handler alone p50"]))
    print(f"GET /ping p50 (HTTP and app without a model): {ms(statistics.median(pings))} ms")
    overall = statistics.median(statistics.median(warm[name]) for name in names)
    overhead = statistics.median(w - a for name in names
                                 for w, a in zip(warm[name], alone[name], strict=True))
    verdict = "PASS" if overall * 1000 < WARM_P50_TARGET_MS else "FAIL"
    print(f"warm p50 over all models: {ms(overall)} ms (target < {WARM_P50_TARGET_MS} ms: "
          f"{verdict}); endpoint overhead over the handler alone: {ms(overhead)} ms")
    return overall


def _handler_alone(archive: Path, work: Path) -> Callable[[], float]:
    """A function timing one warm call of the archive's handler in this process."""
    from steps.multi_model import inference  # after main() set OMP_NUM_THREADS, as the endpoint
    directory = Path(tempfile.mkdtemp(dir=work))
    with tarfile.open(archive) as opened:
        opened.extractall(directory, filter="data")
    model = inference.model_fn(str(directory))

    def call() -> float:
        started = time.perf_counter()
        data = inference.input_fn(BODY, "application/json")
        inference.output_fn(inference.predict_fn(data, model), "application/json")
        return time.perf_counter() - started
    for _ in range(20):
        call()
    return call


def _counts(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("p50", "wall")}


def hundred_then_two_hundred(prefix: Path, copies: list[str], warmup: str, work: Path,
                             runs: int, cache_models: int) -> None:
    phases = [("first 100", copies[:100]), ("same 100 again", copies[:100]),
              ("all 200", copies), ("first 100 again", copies[:100])]
    results: list[list[dict]] = []
    for run in range(runs):
        rows = []
        with Endpoint(prefix, work / f"hundreds-{run}.log", "--max-models",
                      str(cache_models)) as endpoint:
            client = Client(endpoint.port)
            client.invoke(warmup)  # import the handler's libraries outside the phases
            before = endpoint.get("/metrics")
            for label, targets in phases:
                started = time.perf_counter()
                answers = [client.invoke(target) for target in targets]
                wall = time.perf_counter() - started
                after = endpoint.get("/metrics")
                hits = after["hits"] - before["hits"]
                misses = after["misses"] - before["misses"]
                rows.append({"phase": label, "requests": len(targets), "hits": hits,
                             "misses": misses, "hit_rate": hits / (hits + misses),
                             "loaded": after["loaded_models"],
                             "evictions": after["evictions"] - before["evictions"],
                             "failed": sum(status != 200 for status, _ in answers),
                             "p50": statistics.median(s for _, s in answers), "wall": wall})
                before = after
            client.close()
        results.append(rows)
    print(f"\n## 2. 100 then 200 models behind a cache of {cache_models} models ({len(copies)} "
          f"copies under distinct names; times: median of {runs} processes; loaded models include "
          f"the one invoked first to import the handler's libraries)")
    same = all(list(map(_counts, rows)) == list(map(_counts, results[0])) for rows in results)
    table_rows = []
    for i, row in enumerate(results[0]):
        p50 = statistics.median(run[i]["p50"] for run in results)
        wall = statistics.median(run[i]["wall"] for run in results)
        table_rows.append([row["phase"], row["requests"], row["hits"], row["misses"],
                           f"{row['hit_rate']:.0%}", row["loaded"], row["evictions"],
                           row["failed"], ms(p50), f"{wall:.2f}"])
    print(table(table_rows, ["phase", "requests", "hits", "misses", "hit rate",
                             "loaded models", "evictions", "failed", "p50 ms", "wall s"]))
    hits = sum(row["hits"] for row in results[0])
    total = sum(row["requests"] for row in results[0])
    print(f"hit rate over the four phases: {hits / total:.0%}; counts "
          f"{'identical in every run' if same else 'DIFFER between runs'}")


def _hammer(port: int, copies: list[str], count: int, seed: int) -> list[tuple[int, float]]:
    """One client: `count` requests for random copies on one keep-alive connection."""
    rng = random.Random(seed)
    client = Client(port)
    try:
        return [client.invoke(rng.choice(copies)) for _ in range(count)]
    finally:
        client.close()


def concurrent_eviction(prefix: Path, copies: list[str], warmup: str, work: Path, runs: int,
                        cache_models: int, clients: int, requests: int) -> int:
    """`clients` threads invoke random copies; returns the number of failed requests."""
    outcomes = []
    for run in range(runs):
        with Endpoint(prefix, work / f"concurrent-{run}.log", "--max-models",
                      str(cache_models)) as endpoint:
            Client(endpoint.port).invoke(warmup)  # import the handler's libraries first
            before = endpoint.get("/metrics")
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                batches = pool.map(partial(_hammer, endpoint.port, copies, requests // clients),
                                   range(run * clients, (run + 1) * clients))
                results = [result for batch in batches for result in batch]
            wall = time.perf_counter() - started
            after = endpoint.get("/metrics")
        latencies = [s for _, s in results]
        hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
        outcomes.append({"failed": sum(status != 200 for status, _ in results),
                         "requests": len(results), "rps": len(results) / wall,
                         "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
                         "hit_rate": hits / (hits + misses),
                         "evictions": after["evictions"] - before["evictions"],
                         "loaded": after["loaded_models"]})
    print(f"\n## 3. {clients} concurrent clients, random models of {len(copies)}, cache of "
          f"{cache_models} models ({runs} runs)")
    rows = [[i + 1, o["requests"], o["failed"], f"{o['rps']:.0f}", ms(o["p50"]), ms(o["p95"]),
             f"{o['hit_rate']:.0%}", o["evictions"], o["loaded"]]
            for i, o in enumerate(outcomes)]
    print(table(rows, ["run", "requests", "failed", "req/s", "p50 ms", "p95 ms", "hit rate",
                       "evictions", "loaded models"]))
    failed = sum(o["failed"] for o in outcomes)
    print(f"failed requests while models were evicted: {failed} (target 0: "
          f"{'PASS' if failed == 0 else 'FAIL'}); median req/s "
          f"{statistics.median(o['rps'] for o in outcomes):.0f}")
    return failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="trained artifacts: a directory or an s3:// prefix of "
                                         "--local-root (default: run the pipeline locally)")
    parser.add_argument("--local-root", default=".sagemaker-local")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm-requests", type=int, default=200)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--cache-models", type=int, default=121,
                        help="experiment 2's cache (the seed's instance held 121)")
    parser.add_argument("--stress-cache-models", type=int, default=40)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # what the endpoint sets; see its main()
    with tempfile.TemporaryDirectory(prefix="mme-bench-") as temporary:
        work = Path(temporary)
        if args.prefix:
            source, names = fetch_source(args.prefix, args.local_root, work)
        else:
            source, names = pipeline_artifacts(work)
        prefix, copies = layout(source, names, work, args.copies)
        print(f"models: {', '.join(names)}; {len(copies)} copies; python "
              f"{sys.version.split()[0]}; {args.runs} runs")
        cold_and_warm(prefix, names, copies[0], work, args.runs, args.warm_requests)
        hundred_then_two_hundred(prefix, copies, names[0], work, args.runs, args.cache_models)
        concurrent_eviction(prefix, copies, names[0], work, args.runs,
                            args.stress_cache_models, args.clients, args.requests)


if __name__ == "__main__":
    main()
