"""End-to-end time of the stacked-ensemble pipeline run locally, as `make run` runs it.

Each run builds the definition, seeds the sample data, and runs every step with the cache off
in a fresh local root, with the pipeline's default tuning budget (MaxTuningJobs 4,
MaxParallelTuningJobs 2). Prints each run and the median. Target: under 90 s on 2 cores.

    python bench/stacked_pipeline_e2e_bench.py [--runs 3] [--problem-type regression]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import tempfile
import time

from pipelines import run_pipeline


def one_run(problem_type: str) -> float:
    with tempfile.TemporaryDirectory(prefix="stacked-e2e-") as root:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = run_pipeline.main(["--local", "--local-root", root, "--no-cache",
                                      "-n", "pipelines.stacked_ensemble.pipeline", "--kwargs",
                                      json.dumps({"problem_type": problem_type})])
        elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"run failed with exit status {code}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--problem-type", default="regression")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; stacked ensemble, "
          f"{args.problem_type}, default tuning budget (4 trials, 2 in parallel), cache off, "
          f"{args.runs} runs")
    times = []
    for number in range(1, args.runs + 1):
        times.append(one_run(args.problem_type))
        print(f"run {number}: {times[-1]:.1f} s")
    median = statistics.median(times)
    print(f"median end-to-end: {median:.1f} s (target < 90 s: {'MET' if median < 90 else 'MISSED'})")


if __name__ == "__main__":
    main()
