"""Run one container job as a subprocess of the current Python, in a per-job directory.

The container's `/opt/ml` is mapped to the job directory: every `/opt/ml/...` in the
entrypoint, the arguments and the environment is rewritten, and `python`/`python3` becomes
this interpreter. stdout and stderr go to one log file kept on disk; the failure reason is
`<job>/output/failure` if the job wrote it, else the last lines of stderr. Lines the job logs at
WARNING (Python logging's `<date> <time> WARNING <logger>: <message>`, the step scripts'
format) are also handed to `on_warning`, at most MAX_FORWARDED_WARNINGS per job, so that what
a step warns about reaches the console and not only the job's log.

Each job runs in its own process group, so a stop terminates the job and whatever it started
(SIGTERM, then SIGKILL after a grace period, as StopTrainingJob does), whatever a finished job
left running is killed as its container would be, and a Ctrl-C at the terminal reaches the
runner only. On Linux the job also dies with the runner
(PR_SET_PDEATHSIG), so a killed runner leaves no job behind.

The runner reaps the job with wait4, which also gives its resource usage: CPU seconds (user +
system, of the job and of the child processes it waited for, e.g. spaCy's workers) and peak
RSS (the largest of those processes, not their sum), recorded per step (`JobUsage`).

How a local failure maps to SageMaker's (what retry policies see, see retry.py):
- exit status > 0: the script failed, an AlgorithmError: never retried.
- killed by a signal the runner did not send (the kernel's OOM killer sends SIGKILL): an
  instance failure, `SageMaker.JOB_INTERNAL_ERROR`.
- the process cannot be started for lack of memory or process slots (EAGAIN, ENOMEM):
  `SageMaker.CAPACITY_ERROR`; any other start failure is a client error, not retried.
"""
from __future__ import annotations

import collections
import ctypes
import ctypes.util
import errno
import os
import re
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.local.errors import StepFailed, StepStopped
from pipelines.local.stopping import POLL_SECONDS, StopFlag

_LOGGED_WARNING = re.compile(r"^\S+ \S+ WARNING [\w.]+: (.+)$")
MAX_FORWARDED_WARNINGS = 10
_OPT_ML = re.compile(r"(?<![\w./-])/opt/ml(?=/|\b|$)")
_PYTHON = re.compile(r"(.*/)?python(3(\.\d+)?)?")
FAILURE_TAIL_LINES = 10
STOP_GRACE_SECONDS = 5.0
JOB_INTERNAL_ERROR = "SageMaker.JOB_INTERNAL_ERROR"
CAPACITY_ERROR = "SageMaker.CAPACITY_ERROR"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class JobUsage:
    """What a job (or a step's jobs together) used: CPU seconds, and the peak RSS of its
    largest process (the figure an instance's memory must hold). Linux counts a job's copy of
    the runner before exec in its peak, so a peak no higher than the runner's own when it
    started the job says nothing about the job: it is None (unknown, at most the runner's)."""

    cpu_s: float = 0.0
    peak_rss_mib: float | None = None

    def __add__(self, other: JobUsage) -> JobUsage:
        peaks = [p for p in (self.peak_rss_mib, other.peak_rss_mib) if p is not None]
        return JobUsage(self.cpu_s + other.cpu_s, max(peaks) if peaks else None)


@dataclass(frozen=True)
class JobResult:
    exit_code: int
    log_path: Path
    failure_reason: str  # empty when the job succeeded
    error_type: str | None = None  # the SageMaker exception type a retry policy may name
    stopped: bool = False
    usage: JobUsage = JobUsage()  # nothing when the job could not start

    def check(self, step_name: str) -> None:
        """Raise StepStopped / StepFailed unless the job succeeded."""
        if self.stopped:
            raise StepStopped(step_name, "the execution was stopped; the job was terminated",
                              str(self.log_path))
        if self.exit_code:
            raise StepFailed(step_name, self.failure_reason, str(self.log_path), self.error_type)


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
            log_path: Path, stop: StopFlag | None = None,
            on_warning: Callable[[str], None] | None = None) -> JobResult:
    """Run to completion or until `stop`; never raises for a failed job (see JobResult.check).
    `on_warning` gets each logged warning's message (see the module's docstring)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1",
                **{k: paths.map(str(v)) for k, v in env.items()}}
    tail: collections.deque[str] = collections.deque(maxlen=FAILURE_TAIL_LINES)
    stopped = False
    with open(log_path, "ab", buffering=0) as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        try:
            process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                       start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            capacity = exc.errno in (errno.EAGAIN, errno.ENOMEM)
            return JobResult(127, log_path, f"cannot start {command[0]!r}: {exc}",
                             CAPACITY_ERROR if capacity else None)
        reaper = _Reaper(process, _own_peak_rss_mib())
        warnings = _WarningForwarder(on_warning, log_path)
        readers = [threading.Thread(target=_copy_stream, args=(stream, log, keep, warnings),
                                    daemon=True)
                   for stream, keep in ((process.stdout, None), (process.stderr, tail))]
        for reader in readers:
            reader.start()
        while not reaper.done.wait(POLL_SECONDS):
            if stop is not None and not stopped and stop.requested:
                stopped = True
                _terminate(process.pid, reaper.done)
        exit_code, usage = reaper.exit_code, reaper.usage
        _signal_group(process.pid, signal.SIGKILL)  # as a container ends: nothing outlives it
        for reader in readers:
            reader.join()
    if stopped:
        return JobResult(exit_code, log_path, "stopped", stopped=True, usage=usage)
    if exit_code == 0:
        return JobResult(0, log_path, "", usage=usage)
    failure_file = paths.local("/opt/ml/output/failure")
    reason = failure_file.read_text(errors="replace").strip() if failure_file.is_file() else ""
    if not reason:
        reason = " | ".join(line.strip() for line in tail if line.strip())
    if exit_code < 0:
        name = _signal_name(-exit_code)
        hint = " (the kernel's OOM killer sends SIGKILL)" if -exit_code == signal.SIGKILL else ""
        killed = f"the job was killed by {name}{hint}"
        return JobResult(exit_code, log_path, f"{killed}: {reason}" if reason else killed,
                         JOB_INTERNAL_ERROR, usage=usage)
    return JobResult(exit_code, log_path, reason or f"exited with status {exit_code}",
                     usage=usage)


class _Reaper:
    """Waits for the job in a thread with wait4, which returns its resource usage (Popen.wait
    would reap it and lose that); the exit code is Popen's (negative: killed by that signal)."""

    def __init__(self, process: subprocess.Popen, runner_peak_mib: float):
        self.done = threading.Event()
        self.exit_code = 0
        self.usage = JobUsage()
        self.runner_peak_mib = runner_peak_mib
        threading.Thread(target=self._wait, args=(process,), daemon=True).start()

    def _wait(self, process: subprocess.Popen) -> None:
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except ChildProcessError:  # reaped elsewhere: the exit code is Popen's, no usage
            self.exit_code = process.wait()
            self.done.set()
            return
        self.exit_code = process.returncode = os.waitstatus_to_exitcode(status)
        peak = _mib(usage.ru_maxrss)
        self.usage = JobUsage(round(usage.ru_utime + usage.ru_stime, 3),
                              peak if peak > self.runner_peak_mib else None)
        self.done.set()


def _mib(ru_maxrss: int) -> float:
    """getrusage's ru_maxrss in MiB (bytes on macOS, KiB elsewhere)."""
    return round(ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20, 1)


def _own_peak_rss_mib() -> float:
    """This process's peak RSS since its program started (Linux's VmHWM): the most a job can
    have copied of it. getrusage's own figure would count this process's copy of its parent."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)  # kB
    return _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _terminate(pid: int, exited: threading.Event) -> None:
    """SIGTERM the job's process group; SIGKILL whatever of it is left after the grace period."""
    _signal_group(pid, signal.SIGTERM)
    exited.wait(STOP_GRACE_SECONDS)
    _signal_group(pid, signal.SIGKILL)  # also what the job started and left behind


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved before any fork: the child only calls it


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the runner dies (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _WarningForwarder:
    """Hands a job's logged warnings to `on_warning`, at most MAX_FORWARDED_WARNINGS (both
    streams' reader threads share one count)."""

    def __init__(self, on_warning: Callable[[str], None] | None, log_path: Path):
        self._on_warning = on_warning
        self._log_path = log_path
        self._left = MAX_FORWARDED_WARNINGS
        self._lock = threading.Lock()

    def offer(self, line: str) -> None:
        warning = _LOGGED_WARNING.match(line.rstrip("\r\n")) if self._on_warning else None
        if warning is None:
            return
        with self._lock:
            self._left -= 1
            left = self._left
        if left >= 0:
            self._on_warning(warning.group(1).strip()[:500])
        elif left == -1:
            self._on_warning(f"more warnings than the {MAX_FORWARDED_WARNINGS} shown: see "
                             f"{self._log_path}")


def _copy_stream(stream, log, tail: collections.deque | None,
                 warnings: _WarningForwarder) -> None:
    """Copy one of the job's streams into its log, line by line; stderr also feeds `tail`."""
    for line in iter(stream.readline, b""):
        log.write(line)
        text = line.decode(errors="replace")
        if tail is not None:
            tail.append(text)
        warnings.offer(text)
    stream.close()
