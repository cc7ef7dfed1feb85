"""The executor contract and the registry of executors keyed by the definition's step `Type`.

Adding a step type is one class decorated with `@register`. An executor receives the step's
resolved arguments and returns the properties SageMaker exposes for that step (shaped like
the Describe* response), or raises StepFailed.
"""
from __future__ import annotations

import abc
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pipelines.local.definition import StepSpec
from pipelines.local.stopping import StopControl
from runtime.ports.model_registry import ModelRegistry
from runtime.ports.object_store import LocalObjectStore

if TYPE_CHECKING:
    from pipelines.local.callback_queues import CallbackQueues

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


@dataclass
class StepContext:
    """What the runner lends an executor: stores, directories, execution facts."""

    store: LocalObjectStore
    registry: ModelRegistry
    local_root: Path
    execution_id: str
    execution_arn: str
    pipeline_name: str
    max_workers: int
    job_dir: Path  # <local_root>/jobs/<execution-id>/<step>/
    logger: logging.Logger
    stop: StopControl | None = None
    callbacks: CallbackQueues | None = None  # delivers Callback steps' messages
    lambda_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    note: Callable[[str], None] = field(default=lambda text: None)  # live view: what it does now


class StepExecutor(abc.ABC):
    """One class per step Type."""

    step_type: ClassVar[str]
    cacheable: ClassVar[bool] = False  # job steps whose outputs a re-run may reuse
    # Job steps are cached unless CacheConfig disables it (a re-run resumes); steps with side
    # effects outside the store (Callback, Lambda) only when CacheConfig enables it.
    cached_by_default: ClassVar[bool] = True

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

