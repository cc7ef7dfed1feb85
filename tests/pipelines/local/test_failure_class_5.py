"""Regression test for issue 14's class 5, interrupted local executions: after kill -9 of the
runner, `run-pipeline --local --list` (or the next run) marks the execution Failed,
"interrupted", removes its `.running` marker, and resuming still reuses the cached steps."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import run_pipeline
from pipelines.local import run_local_pipeline

from . import runner_fixtures as f
from .test_interruption import RUNNER, _wait_for, definition

pytestmark = pytest.mark.integration


@pytest.fixture
def killed(local_root: Path, tmp_path: Path) -> tuple[str, int]:
    """(execution id, runner pid) of a run killed with SIGKILL while its training job runs."""
    definition_file = tmp_path / "definition.json"
    definition_file.write_text(json.dumps(definition()))
    pid_file = tmp_path / "train.pid"
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(definition_file),
                               str(local_root)], env={**os.environ, **f.hold_environment(pid_file)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(pid_file.exists), "the training job never started"
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    (marker,) = (local_root / "executions").glob("*.running")
    return marker.name.removesuffix(".running"), runner.pid


class TestClass5InterruptedLocalExecutions:
    def test_list_marks_the_killed_execution_failed_and_removes_its_marker(
            self, local_root, killed, capsys):
        execution_id, pid = killed

        assert run_pipeline.main(["--local", "--list", "--local-root", str(local_root)]) == 0

        listing = capsys.readouterr().out.splitlines()
        assert listing[0].split()[:5] == ["EXECUTION", "PIPELINE", "STATUS", "STARTED",
                                          "DURATION"]
        (row,) = [line for line in listing if line.startswith(execution_id)]
        assert row.split()[2] == "Failed" and f"interrupted: its runner (pid {pid})" in row
        assert not list((local_root / "executions").glob("*.running"))
        record = json.loads((local_root / "executions" / f"{execution_id}.json").read_text())
        assert (record["status"], record["end_time"] is not None) == ("Failed", True)
        assert {n: s["status"] for n, s in record["steps"].items()} == {
            "Preprocess": "Succeeded", "Train": "Failed", "Package": "NotRun"}

    def test_the_next_run_marks_it_and_resumes_from_the_cache(self, local_root, killed):
        execution_id, _ = killed

        resumed = run_local_pipeline(definition(), local_root=local_root, live=False)

        assert resumed.status == "Succeeded", resumed.failure_reason
        assert {n: r.cached for n, r in resumed.steps.items()} == {
            "Preprocess": True, "Train": False, "Package": False}
        record = json.loads((local_root / "executions" / f"{execution_id}.json").read_text())
        assert record["status"] == "Failed"
        assert record["failure_reason"].startswith("interrupted")
        assert not list((local_root / "executions").glob("*.running"))

    def test_an_execution_still_running_is_left_alone(self, local_root, capsys):
        marker = local_root / "executions" / "alive0000001.running"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"execution_id": "alive0000001", "pid": os.getpid()}))

        assert run_pipeline.main(["--local", "--list", "--local-root", str(local_root)]) == 0

        assert marker.exists()
        assert capsys.readouterr().out.startswith("no local executions under")
