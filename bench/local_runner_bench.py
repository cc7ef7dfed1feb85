"""Local runner overhead: the same job run through the runner vs. run directly.

For a processing and a training script, each taking `--seconds` of CPU (0 = trivial), it
times a one-step pipeline through `run_local_pipeline` (cache off) against the script run
directly as a subprocess with the same paths and environment, and prints medians of
`--repeats` runs, the ratio and the absolute per-step overhead.
Targets: ratio under 1.2x for a 10 s job; overhead under 1 s for a trivial job.

    python bench/local_runner_bench.py [--seconds 10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.local import run_local_pipeline
from pipelines.local.store import local_store

BUCKET = "bench"
SCRIPT = '''
import argparse, os, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=0)
parser.add_argument("--input", default=os.environ.get("SM_CHANNEL_TRAIN", ""))
parser.add_argument("--output", default=os.environ.get("SM_MODEL_DIR", ""))
args, _ = parser.parse_known_args()
end, n = time.perf_counter() + args.seconds, 0
while time.perf_counter() < end:
    n += sum(i * i for i in range(1000))
rows = sum(len(p.read_text().splitlines()) for p in pathlib.Path(args.input).rglob("*.csv"))
pathlib.Path(args.output, "result.txt").write_text(f"{rows} {n}")
print(f"metric rows={rows};")
'''


def processing_definition(seconds: float) -> dict:
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [{
        "Name": "Job", "Type": "Processing", "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge",
                                                      "InstanceCount": 1, "VolumeSizeInGB": 1}},
            "AppSpecification": {"ImageUri": "bench", "ContainerEntrypoint": [
                "python3", "/opt/ml/processing/input/code/job.py"], "ContainerArguments": [
                "--seconds", str(seconds), "--input", "/opt/ml/processing/input/data",
                "--output", "/opt/ml/processing/out"]},
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "ProcessingInputs": [_input("data", f"s3://{BUCKET}/data", "data"),
                                 _input("code", f"s3://{BUCKET}/code/job.py", "code")],
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {
                "S3Uri": f"s3://{BUCKET}/out", "LocalPath": "/opt/ml/processing/out",
                "S3UploadMode": "EndOfJob"}}]}}}]}


def _input(name: str, uri: str, folder: str) -> dict:
    return {"InputName": name, "S3Input": {
        "S3Uri": uri, "LocalPath": f"/opt/ml/processing/input/{folder}",
        "S3DataType": "S3Prefix", "S3InputMode": "File"}}


def training_definition(seconds: float) -> dict:
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [{
        "Name": "Job", "Type": "Training", "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": "bench", "TrainingInputMode": "File",
                                       "ContainerEntrypoint": ["python3"],
                                       "ContainerArguments": ["/opt/ml/input/data/code/job.py",
                                                              "--seconds", str(seconds)]},
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "InputDataConfig": [_channel("train", f"s3://{BUCKET}/data"),
                                _channel("code", f"s3://{BUCKET}/code")],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                               "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}}]}


def _channel(name: str, uri: str) -> dict:
    return {"ChannelName": name, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}


def time_runner(definition: dict, root: Path) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the runner's summary table
        execution = run_local_pipeline(definition, local_root=root, use_cache=False)
    elapsed = time.perf_counter() - started
    if execution.status != "Succeeded":
        raise SystemExit(f"runner failed: {execution.failure_reason}")
    return elapsed


def time_direct(script: Path, data: Path, seconds: float, work: Path) -> float:
    """The script alone: same interpreter, same kind of paths, no staging or upload."""
    out = work / "direct-out"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), "--seconds", str(seconds), "--input",
                    str(data), "--output", str(out)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.getLogger("pipelines.local").setLevel(logging.WARNING)
    print(f"python {platform.python_version()} on {platform.platform()}, "
          f"{os.cpu_count()} cores; repeats={args.repeats}, data rows={args.rows}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "local"
        store = local_store(root)
        store.write_bytes(f"s3://{BUCKET}/code/job.py", SCRIPT.encode())
        store.write_bytes(f"s3://{BUCKET}/data/data.csv",
                          "".join(f"{i},{i * 2}\n" for i in range(args.rows)).encode())
        script, data = work / "job.py", work / "data"
        script.write_text(SCRIPT)
        data.mkdir()
        (data / "data.csv").write_bytes(store.read_bytes(f"s3://{BUCKET}/data/data.csv"))
        print(f"{'job':<11}{'seconds':>8}{'direct s':>10}{'runner s':>10}{'overhead s':>12}"
              f"{'ratio':>8}")
        for kind, build in (("processing", processing_definition),
                            ("training", training_definition)):
            for seconds in (0.0, args.seconds):
                direct = statistics.median(time_direct(script, data, seconds, work)
                                           for _ in range(args.repeats))
                runner = statistics.median(time_runner(build(seconds), root)
                                           for _ in range(args.repeats))
                print(f"{kind:<11}{seconds:>8.1f}{direct:>10.3f}{runner:>10.3f}"
                      f"{runner - direct:>12.3f}{runner / direct:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
