"""Stopping an execution like StopPipelineExecution: from another process, --stop, Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.local import CallbackOptions, StopRequestError, request_stop, run_local_pipeline
from pipelines.local.stopping import running_executions
from pipelines.local.store import local_store
from runtime.ports.local_callbacks import read_callback

from . import definitions as d
from . import runner_fixtures as f
from .test_callback_steps import recording_lambda

pytestmark = pytest.mark.integration


def _when(condition: Callable[[], bool], then: Callable[[], None]) -> threading.Thread:
    """Run `then` in a thread once `condition` holds (gives up after 60s)."""
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if condition():
                then()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def _hold_definition(pid_file: Path) -> dict:
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [
        f.relay_training("Hold", {"data": d.DATA}, f.hold_environment(pid_file)),
        f.relay_training("After", {"model": f.model_of("Hold")})]}


class TestStopWhileACallbackWaitsAndAJobRuns:
    def test_consumer_gets_stopping_job_is_terminated_execution_stopped(self, local_root, tmp_path):
        f.seed_summary(local_store(local_root))
        pid_file = tmp_path / "hold.pid"
        definition = f.topics_definition(review=True)
        definition["Steps"].append(f.relay_training("Hold", {"summary": f.SUMMARY},
                                                    f.hold_environment(pid_file),
                                                    DependsOn=["Layer1"]))
        definition["Steps"][2]["DependsOn"] = ["Hold"]  # Layer2 waits for both
        events: list[dict] = []
        store = local_store(local_root)

        def waiting() -> bool:
            proposals = [u for u in store.list_uris(f"s3://{d.BUCKET}/topics/")
                         if u.endswith("/proposal.json")]
            return pid_file.exists() and bool(proposals)

        watcher = _when(waiting, lambda: request_stop(local_root))
        execution = run_local_pipeline(
            definition, local_root=local_root, live=False, max_workers=2,
            callback_consumers={f.QUEUE_URL: recording_lambda(events)},
            callback_options=CallbackOptions(visibility_timeout_s=0.05))
        watcher.join()

        assert execution.status == "Stopped"
        statuses = {n: r.status for n, r in execution.steps.items()}
        assert statuses == {"Layer1": "Succeeded", "MapLayer1": "Stopped", "Layer2": "NotRun",
                            "Hold": "Stopped"}
        bodies = [json.loads(r["body"]) for e in events for r in e["Records"]]
        assert [b["status"] for b in bodies] == ["Executing", "Stopping"]
        token = bodies[0]["token"]
        assert bodies[1]["token"] == token
        assert read_callback(local_root, token)["status"] == "Failed"  # the Lambda's answer
        assert f.process_gone(int(pid_file.read_text()))
        assert execution.steps["Hold"].failure_reason == (
            "the execution was stopped; the job was terminated")
        assert running_executions(local_root) == []
        assert not list((local_root / "executions").glob("*.stop"))


class TestStopCommand:
    def test_run_pipeline_stop_from_another_process(self, local_root: Path, tmp_path: Path):
        pid_file = tmp_path / "hold.pid"
        stopped: list[subprocess.CompletedProcess] = []

        def stop() -> None:
            stopped.append(subprocess.run(
                [sys.executable, "-m", "pipelines.cli.run_pipeline", "--stop", "--local-root",
                 str(local_root)], capture_output=True, text=True, timeout=120))

        watcher = _when(pid_file.exists, stop)
        execution = run_local_pipeline(_hold_definition(pid_file), local_root=local_root,
                                       live=False)
        watcher.join()

        assert stopped[0].returncode == 0, stopped[0].stderr
        assert stopped[0].stdout.startswith(
            f"Stop requested for local execution {execution.execution_id}")
        assert execution.status == "Stopped"
        assert [r.status for r in execution.steps.values()] == ["Stopped", "NotRun"]
        assert f.process_gone(int(pid_file.read_text()))
        saved = json.loads((local_root / "executions" / f"{execution.execution_id}.json")
                           .read_text())
        assert saved["status"] == "Stopped"

    def test_a_step_its_run_condition_would_start_after_a_stop_says_why_it_did_not_run(
            self, local_root: Path, tmp_path: Path):
        pid_file = tmp_path / "hold.pid"
        definition = _hold_definition(pid_file)
        definition["Steps"].append(f.relay_training(
            "Cleanup", {"data": d.DATA}, DependsOn=[{"Step": "Hold", "Trigger": "Stopped"}]))
        watcher = _when(pid_file.exists, lambda: request_stop(local_root))
        execution = run_local_pipeline(definition, local_root=local_root, live=False)
        watcher.join()

        assert execution.status == "Stopped"
        assert execution.steps["Cleanup"].status == "NotRun"
        assert execution.steps["Cleanup"].summary == (
            "not run: its run condition on Hold (Stopped) was met, but a local execution "
            "starts no step after a stop (SageMaker would start it)")
        assert execution.steps["After"].summary != execution.steps["Cleanup"].summary

    def test_stop_names_what_is_running_when_it_cannot_tell(self, tmp_path: Path):
        with pytest.raises(StopRequestError, match=r"no local execution is running under "):
            request_stop(tmp_path)
        with pytest.raises(StopRequestError, match=r"execution 'abc' is not running under .* "
                                                   r"\(running: none\)"):
            request_stop(tmp_path, "abc")


class TestCtrlC:
    def test_sigint_stops_the_execution(self, local_root: Path, tmp_path: Path):
        before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs as a background job
        pid_file = tmp_path / "hold.pid"
        watcher = _when(pid_file.exists, lambda: os.kill(os.getpid(), signal.SIGINT))
        execution = run_local_pipeline(_hold_definition(pid_file), local_root=local_root,
                                       live=False)
        watcher.join()

        assert execution.status == "Stopped"
        assert execution.steps["Hold"].status == "Stopped"
        assert f.process_gone(int(pid_file.read_text()))
        assert signal.getsignal(signal.SIGINT) is before  # the runner put back what it found
