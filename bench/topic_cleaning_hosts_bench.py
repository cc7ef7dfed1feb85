"""Topic cleaning on 1 vs several hosts through the local runner: PreprocessText (each host
its share of the rows) and MergeCorpus, on the bundled sample.

Each run is `run-pipeline --local --no-cache --steps PreprocessText,MergeCorpus` with
ProcessingInstanceCount set, in its own process; host counts are interleaved run by run so
that a busy machine slows them alike. It prints each run's step durations (the runner's, from
process start to upload), the CPU seconds of the run and every process it started (the cost
sharding adds: each host reads the input and loads spaCy), the data report's per-host
cleaning seconds, and the medians and their ratios. The local runner runs the hosts as
processes of one machine that share its cores: on a small machine this is not the speed-up
of separate instances on SageMaker, and on a machine busy with other work more processes
also win a larger share of the CPU. It also checks that every run's corpus parts are the
same bytes.

    python bench/topic_cleaning_hosts_bench.py [--hosts 1,2] [--runs 3] [--n-docs 0]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.local.executions import list_executions
from pipelines.sequential_topics.sample_data import sample_csv
from runtime.ports.object_store import LocalObjectStore
from steps.sequential_topics import contract

PIPELINE = "pipelines.sequential_topics.pipeline"
INPUT = "s3://sagemaker-us-east-1-000000000000/SequentialTopicsPipeline/sample-data/bbc-news.csv"
STEPS = ("PreprocessText", "MergeCorpus")


def run_once(root: Path, hosts: int) -> dict:
    """One selective execution; its step durations, host seconds and the parts' digest."""
    parameters = json.dumps({"ProcessingInstanceCount": hosts})
    cpu_before = _children_cpu()
    done = subprocess.run([sys.executable, "-m", "pipelines.cli.run_pipeline", "--local",
                           "--local-root", str(root), "--no-cache", "--no-tracking", "-n",
                           PIPELINE, "--steps", ",".join(STEPS), "--parameters", parameters],
                          capture_output=True, text=True)
    cpu = _children_cpu() - cpu_before  # the runner and its jobs, which it waits for
    if done.returncode != 0:
        raise SystemExit(f"run with {hosts} host(s) failed:\n{done.stderr[-2000:]}")
    record = list_executions(root)[-1]
    durations = {name: record["steps"][name]["duration_s"] for name in STEPS}
    store = LocalObjectStore(root)
    prefix = f"s3://sagemaker-us-east-1-000000000000/SequentialTopicsPipeline/" \
             f"{record['execution_id']}/MergeCorpus/"
    uris = store.list_uris(prefix)
    [report_uri] = [u for u in uris if u.endswith(contract.DATA_REPORT)]
    report = json.loads(store.read_bytes(report_uri))
    digest = hashlib.sha256()
    for uri in sorted(u for u in uris if "/corpus/" in u):
        digest.update(store.read_bytes(uri))
    return {"hosts": hosts, **durations, "total": sum(durations.values()),
            "cpu_seconds": round(cpu, 1),
            "host_seconds": [h["seconds"] for h in report["hosts"]], "kept": report["kept"],
            "parts_sha256": digest.hexdigest()[:16]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,2", help="comma-separated host counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n-docs", type=int, default=0, help="0: the whole bundled sample")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.hosts.split(",")]
    with tempfile.TemporaryDirectory(prefix="cleaning-hosts-") as folder:
        root = Path(folder)
        LocalObjectStore(root).write_bytes(INPUT, sample_csv(args.n_docs or None))
        results = []
        for run in range(args.runs):
            for hosts in counts:
                result = run_once(root, hosts)
                print(f"run {run + 1}: {json.dumps(result)}", flush=True)
                results.append(result)
    for hosts in counts:
        mine = [r for r in results if r["hosts"] == hosts]
        medians = {key: round(statistics.median(r[key] for r in mine), 1)
                   for key in (*STEPS, "total", "cpu_seconds")}
        print(f"{hosts} host(s), median of {len(mine)}: {medians}")
    for key, what in (("total", "wall time (PreprocessText + MergeCorpus)"),
                      ("cpu_seconds", "CPU seconds (the whole run)")):
        base = statistics.median(r[key] for r in results if r["hosts"] == counts[0])
        for hosts in counts[1:]:
            other = statistics.median(r[key] for r in results if r["hosts"] == hosts)
            print(f"{hosts} hosts / {counts[0]}: {other / base:.2f}x the {what}")
    digests = {r["parts_sha256"] for r in results}
    print(f"corpus parts identical in every run: {len(digests) == 1} ({sorted(digests)})")


if __name__ == "__main__":
    main()
