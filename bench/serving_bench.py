"""Serving speed of the handlers (issue 19): in process, over loopback HTTP, under concurrency.

1. The stacked ensemble's handler in process (input_fn + predict_fn + output_fn), CSV and JSON,
   1 row and 10,000 rows, regression (diabetes) and classification with probabilities (breast
   cancer), each model trained by train.py at the job's defaults. The baseline is the reference
   path measured in the same run, in blocks alternating with the fast path's: the request
   as a DataFrame through `features_frame` and `coerce`, then `Ensemble.predict` (scikit-learn's
   encoder, the boosters' DataFrame inputs, CatBoost on its training threads), which is what
   predict_fn ran before the fast path. Both answers are compared (identical bodies).
2. The serve module (`python -m steps.serve`, its own process, waitress with --threads) over
   loopback, per handler (both stacked models; the topic model too when part 3 runs): 1-record
   p50 on one keep-alive connection, a batch (10,000 rows; topics: 100 documents), then 1, 4
   and 16 concurrent clients (each a keep-alive connection on its own thread, 1-record
   requests): requests/s and latency percentiles, for each --server-threads value.
3. The topic handler on a three-layer model of the real stack (spaCy, MiniLM + LSA, UMAP),
   built here on the sample corpus (a few minutes) or given as --topic-model DIR: per
   document (a sample record's text columns combined as the handler does), for 1 and 1,000
   documents with every model warm, the cleaning, the embedding
   (representations.compute of the layers' representations, with torch's threads and with
   one) and the layers on the embedded documents (served_model.assign_embedded), by the
   reference path (BERTopic's transform) and the prepared one (layer_predictor), alternating,
   their topics compared; the target is on the prepared layers' time against the one-thread
   embedding.

Prints figures (medians); asserts nothing. Timings on a shared machine are noisy: compare
figures of the same run. Run: `python bench/serving_bench.py [--parts stacked http topic]`
(about 3 minutes for the first two on 2 cores, most of it training).
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from endpoint_process import EndpointProcess  # this folder (run as a script)
from sklearn.datasets import load_breast_cancer, load_diabetes

from steps.stacked_ensemble import inference
from steps.stacked_ensemble.ensemble import Ensemble

SCRIPTS = Path(__file__).resolve().parents[1] / "steps" / "stacked_ensemble"
CSV, JSON = "text/csv", "application/json"
BATCH = 10_000
TARGETS = {"p50_ms": 2.0, "http_p50_ms": 3.0, "rows_per_s": 150_000}
CLIENTS = (1, 4, 16)
PARTS = ("stacked", "http", "topic")


def _run(script: str, args: list[str]) -> None:
    subprocess.run([sys.executable, str(SCRIPTS / script), *args], check=True,
                   capture_output=True, text=True)


def train(root: Path, frame: pd.DataFrame, target: str, problem_type: str) -> Path:
    """preprocess.py and train.py (the job's default hyperparameters); the model directory."""
    root.mkdir(parents=True)
    frame.to_csv(root / "data.csv", index=False)
    _run("preprocess.py", ["--input-dir", str(root / "data.csv"), "--output-dir",
                           str(root / "splits"), "--target-column", target,
                           "--problem-type", problem_type])
    _run("train.py", ["--train", str(root / "splits" / "train"), "--validation",
                      str(root / "splits" / "validation"), "--model-dir", str(root / "model"),
                      "--output-data-dir", str(root / "out"), "--problem_type", problem_type,
                      "--target_column", target])
    return root / "model"


def bodies(features: pd.DataFrame, rows: int, count: int, seed: int) -> dict[str, list[str]]:
    """`count` CSV and JSON bodies of `rows` rows drawn from `features`."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {CSV: [], JSON: []}
    for _ in range(count):
        sample = features.iloc[rng.integers(0, len(features), rows)]
        out[CSV].append(sample.to_csv(index=False, header=False))
        out[JSON].append(json.dumps({"instances": sample.to_numpy().tolist()}))
    return out


def fast_call(model: Ensemble, body: str, content_type: str) -> str:
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type),
                                                    model), JSON)


def reference_call(model: Ensemble, body: str, content_type: str) -> str:
    frame = inference.features_frame(inference.input_fn(body, content_type), model)
    return inference.output_fn(inference.prediction_of(Ensemble.predict(model, frame), model),
                               JSON)


def _timed(call: Callable[[], str]) -> tuple[float, str]:
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def alternating(model: Ensemble, texts: list[str], content_type: str, calls: int,
                blocks: int) -> tuple[list[float], list[float], bool]:
    """(reference seconds, fast seconds, every answer identical): blocks of calls of one
    path, then of the other, `blocks` times each (not call for call: the reference's CatBoost
    leaves OpenMP threads spinning that would slow the next call, whichever path makes it)."""
    same = all(fast_call(model, body, content_type) == reference_call(model, body, content_type)
               for body in texts)
    timings: dict[Callable, list[float]] = {reference_call: [], fast_call: []}
    per_block = max(1, calls // blocks)
    for block in range(blocks):
        for path, seconds in timings.items():
            for i in range(per_block):
                body = texts[(block * per_block + i) % len(texts)]
                seconds.append(_timed(lambda b=body, p=path: p(model, b, content_type))[0])
    return timings[reference_call], timings[fast_call], same


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
                     for row in [header, *rows])


def in_process(models: dict[str, Path], data: dict[str, pd.DataFrame], seed: int,
               single_calls: int, batch_calls: int, rounds: int = 3) -> None:
    """Every case `rounds` times over, one after the other, timings pooled per case: a burst of
    load from elsewhere on a shared machine then lands on a part of each case's calls."""
    print("\n## 1. Stacked handler in process: input_fn + predict_fn + output_fn (JSON out)")
    loaded = {problem: inference.model_fn(str(model_dir)) for problem, model_dir in models.items()}
    cases = [(problem, batch, calls, content_type,
              bodies(data[problem], batch, 50 if batch == 1 else 3, seed)[content_type])
             for problem in models for batch, calls in ((1, single_calls), (BATCH, batch_calls))
             for content_type in (CSV, JSON)]
    pooled: dict[int, tuple[list[float], list[float], list[bool]]] = {
        i: ([], [], []) for i in range(len(cases))}
    for _ in range(rounds):
        for i, (problem, batch, calls, content_type, texts) in enumerate(cases):
            ref, fast, same = alternating(loaded[problem], texts, content_type,
                                          max(1, calls // rounds), blocks=5 if batch == 1 else 3)
            pooled[i][0].extend(ref)
            pooled[i][1].extend(fast)
            pooled[i][2].append(same)
    rows = []
    for i, (problem, batch, _, content_type, _) in enumerate(cases):
        ref, fast, same = pooled[i]
        ref_s, fast_s = statistics.median(ref), statistics.median(fast)
        if batch == 1:
            target = _verdict(fast_s * 1000 < TARGETS["p50_ms"])
        else:
            target = _verdict(batch / fast_s >= TARGETS["rows_per_s"])
        rows.append([problem, batch, content_type, len(fast), f"{ref_s * 1000:.2f}",
                     f"{fast_s * 1000:.2f}", f"{ref_s / fast_s:.1f}x", f"{batch / fast_s:,.0f}",
                     "yes" if all(same) else "NO", target])
    print(table(rows, ["model", "rows", "body", "calls", "reference ms p50", "fast ms p50",
                       "speed-up", "fast rows/s", "identical", "target"]))
    print(f"targets: 1 row p50 < {TARGETS['p50_ms']} ms; {BATCH:,} rows >= "
          f"{TARGETS['rows_per_s']:,} rows/s; {rounds} rounds of every case, pooled")


def serve_endpoint(model_dir: Path, threads: int, log: Path) -> EndpointProcess:
    """`python -m steps.serve` in its own process on a free loopback port."""
    return EndpointProcess(
        [sys.executable, "-m", "steps.serve", "--model-dir", str(model_dir), "--port", "0",
         "--host", "127.0.0.1", "--threads", str(threads)], log, start_timeout_s=120)


def post(connection: http.client.HTTPConnection, body: bytes, content_type: str) -> float:
    """Seconds for one POST /invocations on a keep-alive connection (refuses a non-200)."""
    started = time.perf_counter()
    connection.request("POST", "/invocations", body=body,
                       headers={"Content-Type": content_type, "Accept": JSON})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200:
        raise SystemExit(f"the endpoint answered {response.status}: {answer[:200]!r}")
    return time.perf_counter() - started


def clients(port: int, texts: list[bytes], content_type: str, count: int,
            requests: int) -> tuple[float, list[float]]:
    """(requests per second, every latency) of `count` clients sending `requests` each."""
    latencies: list[list[float]] = [[] for _ in range(count)]
    start = threading.Barrier(count + 1)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        post(connection, texts[0], content_type)
        start.wait()
        for i in range(requests):
            latencies[index].append(post(connection, texts[(index + i) % len(texts)],
                                         content_type))
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return count * requests / elapsed, [s for own in latencies for s in own]


def _ms(values: list[float], share: float) -> str:
    return f"{np.quantile(values, share) * 1000:.2f}"


@dataclass
class HttpCase:
    """One handler's model and requests for the loopback part: 1-record bodies, and a batch."""

    model_dir: Path
    content_type: str
    single: list[bytes]
    batch: bytes
    batch_records: int
    requests: int  # per measurement, split among the clients


def stacked_case(model_dir: Path, features: pd.DataFrame, seed: int, requests: int) -> HttpCase:
    single = [b.encode() for b in bodies(features, 1, 50, seed)[CSV]]
    return HttpCase(model_dir, CSV, single, bodies(features, BATCH, 1, seed)[CSV][0].encode(),
                    BATCH, requests)


def topic_case(model_dir: Path, documents: int, requests: int) -> HttpCase:
    from pipelines.sequential_topics.sample_data import sample_frame

    frame = sample_frame(documents, seed=11)
    texts = (frame["title"] + ". " + frame["description"]).tolist()
    single = [json.dumps({"instances": [text]}).encode() for text in texts[:50]]
    return HttpCase(model_dir, JSON, single, json.dumps({"instances": texts}).encode(),
                    len(texts), requests)


def over_http(cases: dict[str, HttpCase], server_threads: list[int], work: Path) -> None:
    print("\n## 2. The serve module over loopback (python -m steps.serve in its own process; "
          "1-record requests unless said; clients are threads of this process, keep-alive)")
    rows = []
    for name, case in cases.items():
        for threads in server_threads:
            with serve_endpoint(case.model_dir, threads, work / f"{name}-{threads}.log") as endpoint:
                connection = http.client.HTTPConnection("127.0.0.1", endpoint.port,
                                                        timeout=600)
                for body in case.single[:5]:
                    post(connection, body, case.content_type)
                one = [post(connection, case.single[i % len(case.single)], case.content_type)
                       for i in range(case.requests)]
                batch_s = statistics.median(post(connection, case.batch, case.content_type)
                                            for _ in range(3))
                connection.close()
                rows.append([name, threads, "1 (one connection)", f"{1 / np.median(one):,.0f}",
                             _ms(one, 0.5), _ms(one, 0.99)])
                rows.append([name, threads, f"1, {case.batch_records:,}-record batch",
                             f"{case.batch_records / batch_s:,.0f} records/s",
                             f"{batch_s * 1000:.1f}", ""])
                for count in CLIENTS:
                    per_second, latencies = clients(endpoint.port, case.single,
                                                    case.content_type, count,
                                                    max(case.requests // count, 2))
                    rows.append([name, threads, count, f"{per_second:,.0f}",
                                 _ms(latencies, 0.5), _ms(latencies, 0.99)])
    print(table(rows, ["model", "server threads", "clients", "requests/s", "p50 ms",
                       "p99 ms"]))
    print(f"target (stacked): 1-row p50 over HTTP < {TARGETS['http_p50_ms']} ms")


def _step(main: Callable[[list[str]], int | None], args: list[str]) -> None:
    try:
        code = main(args)
    except SystemExit as exit_:
        code = exit_.code
    if code not in (0, None):
        raise SystemExit(f"{main.__module__} {' '.join(args)} exited {code}")


def build_topic_model(work: Path, documents: int, served: Path) -> None:
    """Three layers on the sample corpus with the real stack (spaCy cleaning, MiniLM + LSA,
    UMAP), each mapping splitting the largest topic; packaged, and unpacked into `served`."""
    import tarfile

    from pipelines.sequential_topics.sample_data import sample_frame
    from runtime.topic_mapping.mapping_update import update_mapping
    from steps.sequential_topics import contract, embed, package_model, preprocess, train_layer
    from steps.sequential_topics.layer_store import read_summary
    from steps.sequential_topics.mapping_schema import MappingOverrides, dump_document

    work.mkdir(parents=True)
    sample_frame(documents).to_csv(work / "raw.csv", index=False)
    parts, embeddings, lsa = work / "parts", work / "embeddings", work / "lsa"
    _step(preprocess.main, ["--input", str(work / "raw.csv"), "--parts-dir", str(parts),
                            "--report-dir", str(work / "report"), "--num-parts", "2"])
    _step(embed.main, ["--input", str(parts), "--full-corpus", str(parts), "--output-dir",
                       str(embeddings), "--lsa-dir", str(lsa), "--resource-config",
                       str(work / "none.json")])
    previous = None
    for layer in (1, 2, 3):
        args = ["--corpus", str(parts), "--embeddings", str(embeddings), "--model-dir",
                str(work / f"model{layer}"), "--output-data-dir", str(work / f"out{layer}"),
                "--layer", str(layer), "--cv_folds", "1", "--sub_min_docs", "8"]
        if layer > 1:
            args += ["--mapping", str(work / f"mapping{layer - 1}"), "--previous-model",
                     str(work / f"model{layer - 1}")]
        _step(train_layer.main, args)
        if layer < 3:
            summary = read_summary(work / f"model{layer}", layer)
            largest = max(summary.topics, key=lambda t: (t.size, -t.topic))
            previous = update_mapping(previous, summary, MappingOverrides(
                topics={f"{layer}:{largest.topic}": {"action": "split"}}))
            (work / f"mapping{layer}").mkdir()
            (work / f"mapping{layer}" / contract.MAPPING_FILE).write_bytes(
                dump_document(previous))
    _step(package_model.main, ["--model", str(work / "model3"), "--mapping",
                               str(work / "mapping2"), "--preprocessing", str(work / "report"),
                               "--representations", str(lsa), "--output-dir",
                               str(work / "package")])
    with tarfile.open(work / "package" / "model.tar.gz") as archive:
        archive.extractall(served, filter="data")


def topic_assignment(model_dir: Path, repeats: int) -> None:
    """The handler's parts per document with every model warm: cleaning, the embedding (with
    torch's threads and with one), and the layers on the embedded documents, by the reference
    path (BERTopic's transform) and the prepared one, alternating run by run; target: the
    prepared layers / the one-thread embedding < 10%."""
    import torch

    from pipelines.sequential_topics.sample_data import sample_frame
    from steps.sequential_topics import inference as topics
    from steps.sequential_topics import representations, served_model, text_cleaning

    print("\n## 3. Topic handler: the layers' time against the embedding's")
    model = topics.model_fn(str(model_dir))
    layers = [(m.layer, m.representation, len(m.by_parent),
               all(p.prepared for p, _ in m.by_parent.values())) for m in model.layers]
    print(f"layers (layer, representation, sub-models, prepared): {layers}")
    needed = tuple(dict.fromkeys(layer.representation for layer in model.layers))
    frame = sample_frame(1000, seed=11)
    # what the handler makes of a sample record: the model's text columns, combined
    columns = list(model.settings.text_columns)
    raw = [text_cleaning.combine_fields(values) for values in frame[columns].astype(str).to_numpy(
        ).tolist()]
    print(f"documents: the sample's records, fields {columns} combined as the handler does "
          f"(median {int(np.median([len(r.split()) for r in raw]))} words)")
    walls, cpus = [], []
    for count, runs in ((1, repeats * 10), (1000, repeats)):
        texts = served_model.clean(model, raw[:count])
        vectors = representations.compute(texts, model.minilm, model.lsa, needed=needed)
        same = served_model.assign_embedded(model, texts, vectors) == \
            served_model.assign_embedded(model, texts, vectors, reference=True)
        timings: dict[str, list[tuple[float, float]]] = {
            "clean": [], "embed": [], "embed-1": [], "reference": [], "prepared": []}
        torch_threads = torch.get_num_threads()
        for _ in range(runs):
            timings["clean"].append(_wall_and_cpu(lambda c=count: served_model.clean(
                model, raw[:c])))
            timings["embed"].append(_wall_and_cpu(lambda t=texts: representations.compute(
                t, model.minilm, model.lsa, needed=needed)))
            torch.set_num_threads(1)
            timings["embed-1"].append(_wall_and_cpu(lambda t=texts: representations.compute(
                t, model.minilm, model.lsa, needed=needed)))
            torch.set_num_threads(torch_threads)
            for path in ("reference", "prepared"):
                timings[path].append(_wall_and_cpu(
                    lambda t=texts, v=vectors, r=path == "reference":
                    served_model.assign_embedded(model, t, v, reference=r)))
        wall, cpu = ({name: statistics.median(v[i] for v in values) / count * 1000
                      for name, values in timings.items()} for i in (0, 1))
        walls.append([count, runs, *(f"{wall[n]:.2f}" for n in timings),
                      f"{wall['reference'] / wall['prepared']:.1f}x",
                      f"{wall['prepared'] / wall['embed-1']:.1%}", "yes" if same else "NO",
                      _verdict(wall["prepared"] / wall["embed-1"] < 0.10)])
        cpus.append([count, runs, *(f"{cpu[n]:.2f}" for n in ("embed-1", "reference",
                                                             "prepared")),
                     f"{cpu['reference'] / cpu['prepared']:.1f}x",
                     f"{cpu['reference'] / cpu['embed-1']:.1%}",
                     f"{cpu['prepared'] / cpu['embed-1']:.1%}",
                     _verdict(cpu["prepared"] / cpu["embed-1"] < 0.10)])
    print("wall-clock ms per document:")
    print(table(walls, ["documents", "runs", "clean", f"embed (torch {torch_threads} threads)",
                        "embed (1 thread)", "layers (reference)", "layers (prepared)",
                        "speed-up", "prepared / embed (1 thread)", "same topics",
                        "target < 10%"]))
    print("CPU ms per document of the calling thread (one-thread work only: unaffected by "
          "waiting for a core on a shared machine):")
    print(table(cpus, ["documents", "runs", "embed (1 thread)", "layers (reference)",
                       "layers (prepared)", "speed-up", "reference / embed",
                       "prepared / embed", "target < 10%"]))
    print("layers = served_model.assign_embedded on the embedded documents (UMAP, BIRCH and "
          "labels per layer; numba on one thread; the reference also with OpenMP and BLAS on "
          "one); reference = BERTopic's transform, prepared = layer_predictor; the embedding is "
          "representations.compute of the layers' representations, with torch's default "
          "threads and with one; medians of the runs, the paths alternating")


def _wall_and_cpu(call: Callable[[], object]) -> tuple[float, float]:
    """(wall-clock seconds, the calling thread's CPU seconds) of call()."""
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=["stacked", "http"])
    parser.add_argument("--single-calls", type=int, default=301,
                        help="1-row calls per path and body type")
    parser.add_argument("--rounds", type=int, default=3,
                        help="in process: rounds over every case, timings pooled")
    parser.add_argument("--batch-calls", type=int, default=9,
                        help=f"{BATCH:,}-row calls per path and body type")
    parser.add_argument("--requests", type=int, default=600,
                        help="HTTP requests per measurement (split among the clients)")
    parser.add_argument("--server-threads", type=int, nargs="+", default=[1, 4],
                        help="serve --threads values to measure")
    parser.add_argument("--topic-model", type=Path, default=None,
                        help="part 3: an unpacked topic model (package_model.py's output); "
                             "built there on --topic-documents sample documents (and kept) "
                             "when DIR does not exist; default: built in a scratch folder")
    parser.add_argument("--topic-documents", type=int, default=600)
    parser.add_argument("--topic-http-documents", type=int, default=100,
                        help="documents in the topic handler's batch request over HTTP")
    parser.add_argument("--topic-requests", type=int, default=48,
                        help="1-document HTTP requests per topic measurement")
    parser.add_argument("--topic-repeats", type=int, default=3,
                        help="runs for 1,000 documents (1 document: ten times as many)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    print("# Serving benchmark")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        cases: dict[str, HttpCase] = {}
        if {"stacked", "http"} & set(args.parts):
            diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "y"})
            cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "y"})
            data = {"regression": diabetes.drop(columns="y"),
                    "classification": cancer.drop(columns="y")}
            started = time.perf_counter()
            models = {"regression": train(work / "diabetes", diabetes, "y", "regression"),
                      "classification": train(work / "cancer", cancer, "y", "classification")}
            print(f"trained diabetes (regression) and breast cancer (classification) at the "
                  f"job's defaults in {time.perf_counter() - started:.0f} s")
            if "stacked" in args.parts:
                in_process(models, data, args.seed, args.single_calls, args.batch_calls,
                           args.rounds)
            cases = {problem: stacked_case(model_dir, data[problem], args.seed, args.requests)
                     for problem, model_dir in models.items()}
        if "topic" in args.parts:
            model_dir = args.topic_model or work / "topic-model"
            if not model_dir.exists():
                started = time.perf_counter()
                build_topic_model(work / "topic-build", args.topic_documents, model_dir)
                print(f"built a three-layer topic model on {args.topic_documents} sample "
                      f"documents in {time.perf_counter() - started:.0f} s")
            topic_assignment(model_dir, args.topic_repeats)
            cases["topics"] = topic_case(model_dir, args.topic_http_documents,
                                         args.topic_requests)
        if "http" in args.parts:
            over_http(cases, args.server_threads, work)

if __name__ == "__main__":
    main()
