"""What a local run returns: the execution and one record per step, in definition order."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STEP_STATUSES = ("Executing", "Succeeded", "Failed", "Stopped", "Skipped", "NotRun")


@dataclass
class StepRecord:
    """Skipped: its Condition chose the other branch. NotRun: an earlier step failed or the
    execution was stopped first. Stopped: the execution was stopped while the step ran."""

    name: str
    type: str
    status: str = "NotRun"
    start_time: str | None = None
    end_time: str | None = None
    duration_s: float | None = None
    cpu_s: float | None = None  # its jobs' CPU seconds (user + system), all attempts
    peak_rss_mib: float | None = None  # its jobs' largest process; None: no more than the runner
    cached: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    log_path: str | None = None
    summary: str = ""
    attempts: int = 0  # 1 + retries; 0 when it came from the cache or did not run


@dataclass
class LocalExecution:
    pipeline_name: str
    execution_id: str
    execution_arn: str
    local_root: str
    status: str = "Executing"  # then Succeeded | Failed | Stopped
    start_time: str | None = None
    end_time: str | None = None
    failure_reason: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)

    @property
    def not_run(self) -> list[str]:
        return [name for name, record in self.steps.items() if record.status == "NotRun"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
