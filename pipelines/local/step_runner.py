"""Run one step: resolve its arguments, consult the cache, call its executor (with retries)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.local.cache import StepCache, cache_key, expire_after
from pipelines.local.context import RunContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.execution import StepRecord
from pipelines.local.executors import EXECUTORS
from pipelines.local.executors.base import job_name_variables
from pipelines.local.resolver import Resolver
from pipelines.local.retry import SERVICE_FAULT, parse_policies, with_retries
from pipelines.local.staging import hash_objects


@dataclass(frozen=True)
class StepOutcome:
    properties: Mapping[str, Any]
    cached: bool
    summary: str


class StepRunner:
    """Runs one step of the run `run` with the given resolvers (values, and cache keys)."""

    def __init__(self, run: RunContext, resolver: Resolver, key_resolver: Resolver):
        self.run_context = run
        self.resolver = resolver
        self.key_resolver = key_resolver
        self.cache = StepCache(run.root)

    def run(self, step: StepSpec, record: StepRecord,
            note: Callable[[str], None]) -> StepOutcome:
        """Raise StepFailed (StepStopped when the execution was stopped); count attempts."""
        executor = EXECUTORS[step.type]()
        raw = executor.arguments(step)
        run = self.run_context
        own = job_name_variables(step, run.execution_id)
        resolver = self.resolver.with_variables(own)
        key_resolver = self.key_resolver.with_variables({k: f"{{Execution.{k}}}" for k in own})
        try:
            arguments = resolver.resolve(raw)
        except ResolutionError as exc:
            raise StepFailed(step.name, f"cannot resolve its arguments: {exc}") from exc
        refused = executor.unsupported(arguments)
        if refused:
            raise StepFailed(step.name, refused[0])
        key = None
        cache_config = step.raw.get("CacheConfig") or {}
        if run.use_cache and executor.cacheable and cache_config.get(
                "Enabled", executor.cached_by_default):
            key = cache_key(step.type, key_resolver.resolve(raw),
                            hash_objects(run.store, executor.code_uris(arguments)))
            entry = self.cache.lookup(step.name, key, expire_after(cache_config))
            if entry and executor.outputs_exist(entry["Properties"], run.store):
                properties = entry["Properties"]
                return StepOutcome(properties, True, executor.summary(properties))
        ctx = run.for_step(step.name, note)
        def attempt() -> dict[str, Any]:
            record.attempts += 1
            try:
                return executor.run(step, arguments, ctx)
            except OSError as exc:  # disk full, permissions, a vanished file: a service fault
                raise StepFailed(step.name, f"{type(exc).__name__}: {exc}",
                                 error_type=SERVICE_FAULT) from exc

        try:
            properties = with_retries(
                step.name, attempt, parse_policies(step.name, step.raw.get("RetryPolicies")),
                run.stop, run.logger, run.retry_interval_scale,
                on_retry=lambda n, exc: note(f"retry {n} after {exc.error_type}: {exc.reason}"))
        finally:
            if (usage := ctx.usage) is not None:
                record.cpu_s, record.peak_rss_mib = usage.cpu_s, usage.peak_rss_mib
        if key is not None:
            self.cache.save(step.name, key, properties, run.execution_arn)
        return StepOutcome(properties, False, executor.summary(properties))
