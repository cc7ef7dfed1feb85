"""Run one step: resolve its arguments, consult the cache, call its executor (with retries)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.cache import StepCache, cache_key, expire_after
from pipelines.local.callback_queues import CallbackQueues
from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.executors import EXECUTORS, StepContext
from pipelines.local.resolver import Resolver
from pipelines.local.retry import SERVICE_FAULT, parse_policies, with_retries
from pipelines.local.staging import hash_objects
from pipelines.local.stopping import StopControl
from runtime.ports.model_registry import ModelRegistry
from runtime.ports.object_store import LocalObjectStore

logger = logging.getLogger("pipelines.local")


@dataclass(frozen=True)
class StepOutcome:
    properties: Mapping[str, Any]
    cached: bool
    summary: str


@dataclass
class RunServices:
    """What a run lends its steps besides the stores: stop flag, callbacks, Lambda functions."""

    stop: StopControl
    callbacks: CallbackQueues
    lambda_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    retry_interval_scale: float = 1.0


class StepRunner:
    def __init__(self, resolver: Resolver, key_resolver: Resolver, store: LocalObjectStore,
                 registry: ModelRegistry, root: Path, execution: LocalExecution,
                 use_cache: bool, max_workers: int, services: RunServices):
        self.resolver = resolver
        self.key_resolver = key_resolver
        self.store = store
        self.registry = registry
        self.root = root
        self.execution = execution
        self.use_cache = use_cache
        self.max_workers = max_workers
        self.services = services
        self.cache = StepCache(root)

    def run(self, step: StepSpec, record: StepRecord,
            note: Callable[[str], None]) -> StepOutcome:
        """Raise StepFailed (StepStopped when the execution was stopped); count attempts."""
        executor = EXECUTORS[step.type]()
        raw = executor.arguments(step)
        try:
            arguments = self.resolver.resolve(raw)
        except ResolutionError as exc:
            raise StepFailed(step.name, f"cannot resolve its arguments: {exc}") from exc
        key = None
        cache_config = step.raw.get("CacheConfig") or {}
        if self.use_cache and executor.cacheable and cache_config.get(
                "Enabled", executor.cached_by_default):
            key = cache_key(step.type, self.key_resolver.resolve(raw),
                            hash_objects(self.store, executor.code_uris(arguments)))
            entry = self.cache.lookup(step.name, key, expire_after(cache_config))
            if entry and executor.outputs_exist(entry["Properties"], self.store):
                properties = entry["Properties"]
                return StepOutcome(properties, True, executor.summary(properties))
        services = self.services
        ctx = StepContext(store=self.store, registry=self.registry, local_root=self.root,
                          execution_id=self.execution.execution_id,
                          execution_arn=self.execution.execution_arn,
                          pipeline_name=self.execution.pipeline_name,
                          max_workers=self.max_workers,
                          job_dir=self.root / "jobs" / self.execution.execution_id / step.name,
                          logger=logger, stop=services.stop, callbacks=services.callbacks,
                          lambda_functions=services.lambda_functions, note=note)
        def attempt() -> dict[str, Any]:
            record.attempts += 1
            try:
                return executor.run(step, arguments, ctx)
            except OSError as exc:  # disk full, permissions, a vanished file: a service fault
                raise StepFailed(step.name, f"{type(exc).__name__}: {exc}",
                                 error_type=SERVICE_FAULT) from exc

        properties = with_retries(
            step.name, attempt, parse_policies(step.name, step.raw.get("RetryPolicies")),
            services.stop, logger, services.retry_interval_scale,
            on_retry=lambda n, exc: note(f"retry {n} after {exc.error_type}: {exc.reason}"))
        if key is not None:
            self.cache.save(step.name, key, properties, self.execution.execution_arn)
        return StepOutcome(properties, False, executor.summary(properties))
