"""Run one step: resolve its arguments, consult the cache, call its executor."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.cache import StepCache, cache_key, expire_after
from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.execution import LocalExecution
from pipelines.local.executors import EXECUTORS, StepContext
from pipelines.local.resolver import Resolver
from pipelines.local.staging import hash_objects
from pipelines.ports.model_registry import ModelRegistry
from pipelines.ports.object_store import LocalObjectStore

logger = logging.getLogger("pipelines.local")


class StepRunner:
    def __init__(self, resolver: Resolver, key_resolver: Resolver, store: LocalObjectStore,
                 registry: ModelRegistry, root: Path, execution: LocalExecution,
                 use_cache: bool, max_workers: int):
        self.resolver = resolver
        self.key_resolver = key_resolver
        self.store = store
        self.registry = registry
        self.root = root
        self.execution = execution
        self.use_cache = use_cache
        self.max_workers = max_workers
        self.cache = StepCache(root)

    def run(self, step: StepSpec) -> tuple[Mapping[str, Any], bool, str]:
        """Return (properties, cached, summary); raise StepFailed."""
        executor = EXECUTORS[step.type]()
        raw = executor.arguments(step)
        try:
            arguments = self.resolver.resolve(raw)
        except ResolutionError as exc:
            raise StepFailed(step.name, f"cannot resolve its arguments: {exc}") from exc
        key = None
        cache_config = step.raw.get("CacheConfig") or {}
        if self.use_cache and executor.cacheable and cache_config.get("Enabled", True):
            key = cache_key(step.type, self.key_resolver.resolve(raw),
                            hash_objects(self.store, executor.code_uris(arguments)))
            entry = self.cache.lookup(step.name, key, expire_after(cache_config))
            if entry and executor.outputs_exist(entry["Properties"], self.store):
                properties = entry["Properties"]
                return properties, True, executor.summary(properties)
        ctx = StepContext(store=self.store, registry=self.registry, local_root=self.root,
                          execution_id=self.execution.execution_id,
                          execution_arn=self.execution.execution_arn,
                          pipeline_name=self.execution.pipeline_name,
                          max_workers=self.max_workers,
                          job_dir=self.root / "jobs" / self.execution.execution_id / step.name,
                          logger=logger)
        try:
            properties = executor.run(step, arguments, ctx)
        except OSError as exc:  # disk full, permissions, a vanished file: the step fails
            raise StepFailed(step.name, f"{type(exc).__name__}: {exc}") from exc
        if key is not None:
            self.cache.save(step.name, key, properties, self.execution.execution_arn)
        return properties, False, executor.summary(properties)
