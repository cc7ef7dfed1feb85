"""Stopping a local execution, as StopPipelineExecution does on SageMaker.

A stop comes from Ctrl-C (the runner turns SIGINT into a stop request), from code
(`StopControl.request()`), or from another process: `request_stop(root, execution_id)` (what
`run-pipeline --local --stop` calls) writes `<root>/executions/<id>.stop`, which the running
execution polls. While it runs, an execution keeps `<root>/executions/<id>.running` (its pid),
so a stop without an id finds it; executions.py finishes the record of one whose runner died.
Once stopped, no new step starts, job subprocesses are terminated, waiting callback steps send
a `Stopping` message, and the execution ends Stopped.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Protocol

from steps.common.atomic import write_bytes_atomic

POLL_SECONDS = 0.2
EXECUTIONS_DIR = "executions"


class StopRequestError(ValueError):
    """`--stop` cannot tell which execution to stop; the message says what to pass."""


class NothingToStop(StopRequestError):
    """No execution, or not the one named, is running: a refusal of state, not of usage."""


class StopFlag(Protocol):
    """What a job watches: whether it should stop now."""

    @property
    def requested(self) -> bool: ...


class AnyStop:
    """Stop when any of the flags says so (an execution stop, or a sibling instance failed)."""

    def __init__(self, *flags: StopFlag | threading.Event | None):
        self._flags = [f for f in flags if f is not None]

    @property
    def requested(self) -> bool:
        return any(f.is_set() if isinstance(f, threading.Event) else f.requested
                   for f in self._flags)


class StopControl:
    """One execution's stop flag: set in-process, or by a stop file another process writes."""

    def __init__(self, local_root: Path, execution_id: str):
        self.execution_id = execution_id
        self.stop_file = _stop_file(local_root, execution_id)
        self.running_file = _running_file(local_root, execution_id)
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        if not self._event.is_set() and self.stop_file.exists():
            self._event.set()
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True as soon as a stop is requested."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.requested:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._event.wait(min(remaining, POLL_SECONDS))
        return True

    def mark_running(self) -> None:
        write_bytes_atomic(self.running_file, json.dumps(
            {"execution_id": self.execution_id, "pid": os.getpid()}).encode())

    def finish(self) -> None:
        for path in (self.running_file, self.stop_file):
            path.unlink(missing_ok=True)


def request_stop(local_root: str | os.PathLike[str], execution_id: str | None = None) -> str:
    """Ask a running local execution to stop; return its id. Raise StopRequestError."""
    root = Path(local_root).resolve()
    running = running_executions(root)
    if execution_id is None:
        if not running:
            raise NothingToStop(f"no local execution is running under {root}")
        if len(running) > 1:
            raise StopRequestError(f"{len(running)} executions are running under {root}: "
                                   f"{', '.join(running)}; pass the one to stop: --stop ID")
        execution_id = running[0]
    elif execution_id not in running:
        raise NothingToStop(f"execution {execution_id!r} is not running under {root} "
                               f"(running: {', '.join(running) or 'none'})")
    write_bytes_atomic(_stop_file(root, execution_id), b"stop\n")
    return execution_id


def running_executions(local_root: Path) -> list[str]:
    """Ids of executions whose runner process is alive (a killed runner leaves a stale file)."""
    found = []
    for path in sorted((local_root / EXECUTIONS_DIR).glob("*.running")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if process_alive(int(record.get("pid", 0))):
            found.append(record["execution_id"])
    return found


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_file(root: Path, execution_id: str) -> Path:
    return root / EXECUTIONS_DIR / f"{execution_id}.stop"


def _running_file(root: Path, execution_id: str) -> Path:
    return root / EXECUTIONS_DIR / f"{execution_id}.running"
