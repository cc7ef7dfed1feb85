"""The executor contract and the registry of executors keyed by the definition's step `Type`.

Adding a step type is one class decorated with `@register`. An executor receives the step's
resolved arguments and returns the properties SageMaker exposes for that step (shaped like
the Describe* response), or raises StepFailed.
"""
from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from runtime.ports.object_store import LocalObjectStore

LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "local"

EXECUTORS: dict[str, type[StepExecutor]] = {}


def register(cls: type[StepExecutor]) -> type[StepExecutor]:
    EXECUTORS[cls.step_type] = cls
    return cls


def local_arn(resource: str, name: str) -> str:
    return f"arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{resource}/{name.lower()}"


def job_name(prefix: str, step_name: str, execution_id: str, limit: int = 63) -> str:
    """A SageMaker-valid job name that is unique per execution and step."""
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", f"{prefix}-{step_name}").strip("-")
    suffix = f"-{execution_id[:12]}"
    return base[: limit - len(suffix)].rstrip("-") + suffix


# Step type -> (the Arguments member holding a custom job prefix, default prefix, name limit).
_JOB_NAMES = {"Processing": ("ProcessingJobName", "pipelines", 63),
              "Training": ("TrainingJobName", "pipelines", 63),
              "Tuning": ("HyperParameterTuningJobName", "tune", 32)}


def step_job_name(step: StepSpec, execution_id: str) -> str:
    """The name of a job step's job in this execution. A definition built with
    `PipelineDefinitionConfig(use_custom_job_prefix=True)` keeps the job's base name in its
    Arguments, and the job is named after it (as on SageMaker); otherwise after the step."""
    member, prefix, limit = _JOB_NAMES[step.type]
    custom = step.arguments.get(member)
    if isinstance(custom, str) and custom:
        return job_name(custom, "", execution_id, limit)
    return job_name(prefix, step.name, execution_id, limit)


def literal_is_not(value: Any, allowed: tuple[str | None, ...]) -> bool:
    """A literal (string) value outside `allowed`; None when absent, expressions pass."""
    return isinstance(value, str) and value not in allowed


def job_name_variables(step: StepSpec, execution_id: str) -> dict[str, str]:
    """Execution.TrainingJobName / ProcessingJobName as the step reading them sees them."""
    if step.type not in ("Training", "Processing"):
        return {}
    return {f"{step.type}JobName": step_job_name(step, execution_id)}


class StepExecutor(abc.ABC):
    """One class per step Type."""

    step_type: ClassVar[str]
    cacheable: ClassVar[bool] = False  # job steps whose outputs a re-run may reuse
    # Job steps are cached unless CacheConfig disables it (a re-run resumes); steps with side
    # effects outside the store (Callback, Lambda) only when CacheConfig enables it.
    cached_by_default: ClassVar[bool] = True
    # A step that waits for someone else (a Callback's answer) holds no job slot meanwhile.
    waits: ClassVar[bool] = False
    # The argument lists holding steps that run only when this step chooses them (a
    # Condition's IfSteps/ElseSteps); each becomes a step of the graph (definition.py).
    branches: ClassVar[tuple[str, ...]] = ()
    # The step's failure reason is the execution's own (a Fail step's ErrorMessage), rather
    # than "step X failed: ...".
    failure_is_execution_reason: ClassVar[bool] = False

    @classmethod
    def unsupported(cls, arguments: Any) -> list[str]:
        """The fields of these Arguments this runner cannot run, each named with its value
        and what does run. Called on the definition's own Arguments when it is loaded (values
        that are expressions are not known yet and pass) and on the resolved ones before
        `run`, so a field is refused before anything runs whenever it can be."""
        return []

    def arguments(self, step: StepSpec) -> Any:
        """The part of the step the resolver resolves before `run`."""
        return step.arguments

    @abc.abstractmethod
    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        """Do the step; return its properties; raise StepFailed on failure."""

    def code_uris(self, arguments: Any) -> list[str]:
        """S3 prefixes holding the code the step runs (part of the cache key)."""
        return []

    def summary(self, properties: Mapping[str, Any]) -> str:
        """The key outputs for the final table, one short line."""
        return ""

    def outputs_exist(self, properties: Mapping[str, Any], store: LocalObjectStore) -> bool:
        """Whether a cached result's artifacts are still in the store."""
        return True

    def chosen_branch(self, properties: Mapping[str, Any]) -> str | None:
        """Which of `branches` the finished step chose (None: it has none)."""
        return None

