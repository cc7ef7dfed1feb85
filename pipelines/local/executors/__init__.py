"""Step executors, one per definition `Type`; importing this package fills EXECUTORS."""
from pipelines.local.executors import control, model, processing, training, tuning  # noqa: F401
from pipelines.local.executors.base import EXECUTORS, StepContext, StepExecutor

__all__ = ["EXECUTORS", "StepContext", "StepExecutor"]
