"""The runner's errors: two raised before anything runs, one per failed step."""
from __future__ import annotations

from pipelines.parameter_overrides import InvalidParameters

__all__ = ["InvalidDefinition", "InvalidParameters", "ResolutionError", "StepFailed",
           "StepStopped"]


class InvalidDefinition(ValueError):
    """The definition cannot run: unknown step type, cycle, bad reference (one line)."""


class ResolutionError(ValueError):
    """A value could not be resolved at run time (missing property, JSON path, object)."""


class StepFailed(RuntimeError):
    """A step failed; only the runner's top-level loop catches this and records it.

    `error_type` is the SageMaker exception type the failure maps to (see retry.py), e.g.
    "SageMaker.JOB_INTERNAL_ERROR"; None for failures no retry policy can name (a script
    that exits non-zero is an AlgorithmError, which SageMaker never retries).
    """

    status = "Failed"

    def __init__(self, step_name: str, reason: str, log_path: str | None = None,
                 error_type: str | None = None):
        super().__init__(f"step {step_name} failed: {reason}")
        self.step_name = step_name
        self.reason = reason
        self.log_path = log_path
        self.error_type = error_type


class StepStopped(StepFailed):
    """The execution was stopped while this step ran; the step ends Stopped, never retried."""

    status = "Stopped"

    def __init__(self, step_name: str, reason: str = "the execution was stopped",
                 log_path: str | None = None):
        super().__init__(step_name, reason, log_path)
