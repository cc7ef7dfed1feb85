"""Run one container job as a subprocess of the current Python, in a per-job directory.

The container's `/opt/ml` is mapped to the job directory: every `/opt/ml/...` in the
entrypoint, the arguments and the environment is rewritten, and `python`/`python3` becomes
this interpreter. stdout and stderr go to one log file kept on disk; the failure reason is
`<job>/output/failure` if the job wrote it, else the last lines of stderr.
"""
from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

_OPT_ML = re.compile(r"(?<![\w./-])/opt/ml(?=/|\b|$)")
_PYTHON = re.compile(r"(.*/)?python(3(\.\d+)?)?")
FAILURE_TAIL_LINES = 10


@dataclass(frozen=True)
class JobResult:
    exit_code: int
    log_path: Path
    failure_reason: str  # empty when the job succeeded


class ContainerPaths:
    """`/opt/ml/...` <-> `<job dir>/...`."""

    def __init__(self, job_dir: Path):
        self.root = job_dir

    def local(self, container_path: str) -> Path:
        return Path(self.map(container_path))

    def map(self, text: str) -> str:
        return _OPT_ML.sub(str(self.root).replace("\\", "\\\\"), text)


def command_line(entrypoint: list[str], arguments: list[str], paths: ContainerPaths) -> list[str]:
    """The entrypoint with arguments, container paths mapped and python made this Python."""
    command = [paths.map(str(part)) for part in [*entrypoint, *arguments]]
    if command and _PYTHON.fullmatch(command[0]):
        command[0] = sys.executable
    return command


def run_job(command: list[str], env: dict[str, str], cwd: Path, paths: ContainerPaths,
            log_path: Path) -> JobResult:
    """Run to completion; never raises for a non-zero exit (the caller decides)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1",
                **{k: paths.map(str(v)) for k, v in env.items()}}
    tail: collections.deque[str] = collections.deque(maxlen=FAILURE_TAIL_LINES)
    with open(log_path, "ab", buffering=0) as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        try:
            process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=log,
                                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        except OSError as exc:
            return JobResult(127, log_path, f"cannot start {command[0]!r}: {exc}")
        reader = threading.Thread(target=_copy_stderr, args=(process, log, tail), daemon=True)
        reader.start()
        exit_code = process.wait()
        reader.join()
    if exit_code == 0:
        return JobResult(0, log_path, "")
    failure_file = paths.local("/opt/ml/output/failure")
    reason = failure_file.read_text(errors="replace").strip() if failure_file.is_file() else ""
    if not reason:
        reason = " | ".join(line.strip() for line in tail if line.strip())
    return JobResult(exit_code, log_path, reason or f"exited with status {exit_code}")


def _copy_stderr(process: subprocess.Popen, log, tail: collections.deque) -> None:
    for line in iter(process.stderr.readline, b""):
        log.write(line)
        tail.append(line.decode(errors="replace"))
    process.stderr.close()
