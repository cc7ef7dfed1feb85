"""Follow a SageMaker pipeline execution, printing each step's status as it changes."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class ExecutionOutcome:
    status: str
    failure_reason: str | None
    failed_steps: list[tuple[str, str]]  # (step name, failure reason)


def _list_steps(sm_client: Any, execution_arn: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PipelineExecutionArn": execution_arn, "SortOrder": "Ascending"}
    while True:
        page = sm_client.list_pipeline_execution_steps(**kwargs)
        steps.extend(page.get("PipelineExecutionSteps", []))
        if not page.get("NextToken"):
            return steps
        kwargs["NextToken"] = page["NextToken"]


def wait_for_execution(sm_client: Any, execution_arn: str, *, poll_seconds: float = 30.0,
                       echo: Callable[[str], None] = print,
                       sleep: Callable[[float], None] = time.sleep) -> ExecutionOutcome:
    """Poll until the execution ends; print one line per step status change."""
    seen: dict[str, str] = {}
    while True:
        execution = sm_client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = execution["PipelineExecutionStatus"]
        steps = _list_steps(sm_client, execution_arn)
        for step in steps:
            name, step_status = step["StepName"], step["StepStatus"]
            if seen.get(name) != step_status:
                seen[name] = step_status
                reason = step.get("FailureReason")
                echo(f"  {name}: {step_status}" + (f" ({reason})" if reason else ""))
        if status in TERMINAL_STATUSES:
            failed = [(s["StepName"], s.get("FailureReason", "")) for s in steps
                      if s["StepStatus"] == "Failed"]
            return ExecutionOutcome(status, execution.get("FailureReason"), failed)
        sleep(poll_seconds)
