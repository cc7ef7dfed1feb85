"""A run killed with SIGKILL leaves only whole objects and cache entries; the next run resumes."""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.stopping import running_executions
from pipelines.local.store import local_store

from . import definitions as d
from . import runner_fixtures as f

pytestmark = pytest.mark.integration

RUNNER = """
import json, sys
from pipelines.local import run_local_pipeline
run_local_pipeline(json.load(open(sys.argv[1])), local_root=sys.argv[2], live=False)
"""

WRITER = """
import hashlib, itertools, os, pathlib, sys
from pipelines.local.cache import StepCache
from runtime.ports.object_store import LocalObjectStore
root = pathlib.Path(sys.argv[1])
store, cache = LocalObjectStore(root), StepCache(root)
for i in itertools.count():
    body = os.urandom(4 << 20)
    store.write_bytes("s3://bucket/big.bin", hashlib.sha256(body).digest() + body)
    cache.save("Step", "key", {"i": i, "blob": "x" * 500000}, "arn")
    if i == 2:
        pathlib.Path(sys.argv[2]).touch()
"""


def definition() -> dict:
    return {"Version": "2020-12-01", "Parameters": d.parameters(), "Steps": [
        d.preprocess_step(),
        f.relay_training("Train", {"train": d.output_uri("Preprocess", "train")}),
        f.relay_training("Package", {"model": f.model_of("Train")})]}


def _wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _assert_only_whole_objects(root: Path) -> None:
    store = local_store(root)
    for uri in store.list_uris(f"s3://{d.BUCKET}/"):
        data = store.read_bytes(uri)
        if uri.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                archive.getmembers()
        elif uri.endswith(".json"):
            json.loads(data)
    for entry in (root / "cache").rglob("*"):
        if entry.is_file():
            assert not entry.name.startswith(".tmp-"), entry
            assert json.loads(entry.read_text())["Properties"]


class TestKilledDuringTraining:
    def test_no_partial_objects_and_the_next_run_resumes(self, local_root, tmp_path):
        definition_file = tmp_path / "definition.json"
        definition_file.write_text(json.dumps(definition()))
        pid_file = tmp_path / "train.pid"
        env = {**os.environ, **f.hold_environment(pid_file)}
        runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(definition_file),
                                   str(local_root)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            assert _wait_for(pid_file.exists), "the training job never started"
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait()
        job_pid = int(pid_file.read_text())
        assert _wait_for(lambda: f.process_gone(job_pid), 10), "the training job outlived its runner"

        store = local_store(local_root)
        _assert_only_whole_objects(local_root)
        assert store.list_uris(f"s3://{d.BUCKET}/preprocess/train")
        assert store.list_uris(f"s3://{d.BUCKET}/relay/") == []
        cached = sorted(p.parent.name for p in (local_root / "cache").rglob("*.json"))
        assert cached == ["Preprocess"]
        assert list((local_root / "executions").glob("*.running"))  # left by the killed run
        assert running_executions(local_root) == []

        resumed = run_local_pipeline(definition(), local_root=local_root, live=False)

        assert resumed.status == "Succeeded", resumed.failure_reason
        assert {n: r.cached for n, r in resumed.steps.items()} == {
            "Preprocess": True, "Train": False, "Package": False}
        _assert_only_whole_objects(local_root)


class TestKilledWhileWriting:
    def test_objects_and_cache_entries_are_whole_at_any_moment(self, tmp_path):
        root, marker = tmp_path / "local", tmp_path / "writing"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(marker)])
        try:
            assert _wait_for(marker.exists), "the writer never got going"
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()

        data = (root / "bucket" / "big.bin").read_bytes()
        assert hashlib.sha256(data[32:]).digest() == data[:32]
        entry = json.loads((root / "cache" / "Step" / "key.json").read_text())
        assert entry["Properties"]["i"] >= 2
        assert local_store(root).list_uris("s3://bucket/") == ["s3://bucket/big.bin"]
