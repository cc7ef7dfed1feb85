"""Step executors, one per definition `Type`; importing this package fills EXECUTORS."""
from pipelines.local.executors import (  # noqa: F401
    callback,
    control,
    lambda_step,
    model,
    processing,
    training,
    transform,
    tuning,
)
from pipelines.local.executors.base import EXECUTORS, StepExecutor

__all__ = ["EXECUTORS", "StepExecutor"]
