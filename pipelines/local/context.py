"""What a run lends its steps: one `RunContext` built when the run starts, one `StepContext`
(the run's context plus the step's own folder and live-view note) per step.

An executor reads the stores, the execution's facts, the stop flag, the callback queues and
the Lambda functions from `ctx.run`; only `job_dir` and `note` are the step's own.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.local.execution import LocalExecution
from pipelines.local.jobs import JobUsage
from pipelines.local.stopping import StopControl
from runtime.ports.model_registry import ModelRegistry
from runtime.ports.object_store import LocalObjectStore

if TYPE_CHECKING:
    from pipelines.local.callback_queues import CallbackQueues


@dataclass(frozen=True)
class RunContext:
    """One execution's stores, facts and services; shared by every step of the run."""

    root: Path
    store: LocalObjectStore
    registry: ModelRegistry
    execution: LocalExecution
    stop: StopControl
    callbacks: CallbackQueues
    lambda_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    max_workers: int = 1
    use_cache: bool = True
    retry_interval_scale: float = 1.0
    logger: logging.Logger = logging.getLogger("pipelines.local")

    @property
    def execution_id(self) -> str:
        return self.execution.execution_id

    @property
    def execution_arn(self) -> str:
        return self.execution.execution_arn

    @property
    def pipeline_name(self) -> str:
        return self.execution.pipeline_name

    def for_step(self, step_name: str,
                 note: Callable[[str], None] = lambda text: None) -> StepContext:
        return StepContext(self, self.root / "jobs" / self.execution_id / step_name, note)


@dataclass(frozen=True)
class StepContext:
    """A step's view of the run: the run's context, its job folder, its live-view note."""

    run: RunContext
    job_dir: Path  # <root>/jobs/<execution-id>/<step>/
    note: Callable[[str], None] = field(default=lambda text: None)  # what it does now
    _warned: set[str] = field(default_factory=set, repr=False, compare=False)
    _usage: list[JobUsage] = field(default_factory=list, repr=False, compare=False)
    # guards _warned and _usage: a step's jobs (instances, trials) end on their own threads
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def job_used(self, usage: JobUsage) -> None:
        """A finished job's resource usage; the step records the sum of its jobs' (`usage`)."""
        with self._lock:
            self._usage.append(usage)

    @property
    def usage(self) -> JobUsage | None:
        """CPU seconds of all the step's jobs, the peak RSS of the largest; None: no job ran."""
        with self._lock:
            return sum(self._usage[1:], self._usage[0]) if self._usage else None

    def job_warning(self, job_name: str, message: str) -> None:
        """A warning the step's job logged (a suspected id column, a capped booster...), shown
        on the console once per step however many jobs (tuning trials, instances) log it: a
        user reads the run's output, not each job.log."""
        with self._lock:
            if message in self._warned:
                return
            self._warned.add(message)
        self.run.logger.warning("step %s (%s): %s", self.job_dir.name, job_name, message)
