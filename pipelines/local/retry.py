"""A step's RetryPolicies, honoured as SageMaker does for the failure types they name.

Each policy names exception types, IntervalSeconds (first wait), BackoffRate (each later wait
is multiplied by it) and MaxAttempts (retries, not counting the first try) or ExpireAfterMin
(no retry starts after that many minutes from the first try). A failure is retried by the
first policy that names its type, while that policy has attempts left.

Which local failures carry which type (StepFailed.error_type):
- `SageMaker.JOB_INTERNAL_ERROR`: a job process killed by a signal the runner did not send
  (the OOM killer's SIGKILL, a segfault): on SageMaker an instance failure.
- `SageMaker.CAPACITY_ERROR`: the job process could not be started for lack of memory or
  process slots (EAGAIN / ENOMEM).
- `Step.SERVICE_FAULT`: the runner itself failed around the job (OSError while staging or
  uploading: disk full, permissions).
- `SageMaker.RESOURCE_LIMIT`, `Step.THROTTLING`: nothing local raises them (no account limits).
- No type, never retried: a script exiting non-zero (AlgorithmError, which SageMaker does not
  retry either), bad arguments, missing inputs, a failed callback or Lambda, a stop.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pipelines.local.errors import InvalidDefinition, StepFailed, StepStopped
from pipelines.local.stopping import StopControl

SERVICE_FAULT = "Step.SERVICE_FAULT"
EXCEPTION_TYPES = ("Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR",
                   "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    exception_types: frozenset[str]
    interval_seconds: float = 1.0
    backoff_rate: float = 2.0
    max_attempts: int | None = None
    expire_after_min: float | None = None

    def wait_before(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return self.interval_seconds * self.backoff_rate ** (retry - 1)

    def allows(self, retry: int, elapsed_s: float) -> bool:
        if self.max_attempts is not None:
            return retry <= self.max_attempts
        return elapsed_s < (self.expire_after_min or 0) * 60


def parse_policies(step_name: str, raw: Any) -> list[RetryPolicy]:
    """The step's RetryPolicies; raise InvalidDefinition naming the step and the field."""
    policies = []
    for index, item in enumerate(raw or []):
        where = f"step {step_name!r} RetryPolicies[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidDefinition(f"{where} must be an object, got {item!r}")
        types = item.get("ExceptionType") or []
        unknown = [t for t in types if t not in EXCEPTION_TYPES]
        if not types or unknown:
            raise InvalidDefinition(f"{where}: ExceptionType {types!r} must list some of "
                                    f"{', '.join(EXCEPTION_TYPES)}")
        try:
            policy = RetryPolicy(
                frozenset(types), float(item.get("IntervalSeconds", 1)),
                float(item.get("BackoffRate", 2.0)),
                int(item["MaxAttempts"]) if "MaxAttempts" in item else None,
                float(item["ExpireAfterMin"]) if "ExpireAfterMin" in item else None)
        except (TypeError, ValueError) as exc:
            raise InvalidDefinition(f"{where}: {exc}") from exc
        if (policy.max_attempts is None) == (policy.expire_after_min is None):
            raise InvalidDefinition(f"{where} needs exactly one of MaxAttempts and "
                                    "ExpireAfterMin")
        if policy.interval_seconds < 0 or policy.backoff_rate < 0:
            raise InvalidDefinition(f"{where}: IntervalSeconds and BackoffRate must not be "
                                    "negative")
        policies.append(policy)
    return policies


def with_retries(step_name: str, attempt: Callable[[], T], policies: list[RetryPolicy],
                 stop: StopControl | None, logger: logging.Logger, interval_scale: float = 1.0,
                 on_retry: Callable[[int, StepFailed], None] = lambda n, e: None) -> T:
    """Run `attempt` until it succeeds or its failure is not retryable any more."""
    started = time.monotonic()
    retries: dict[int, int] = {}
    while True:
        try:
            return attempt()
        except StepStopped:
            raise
        except StepFailed as exc:
            index = next((i for i, p in enumerate(policies)
                          if exc.error_type in p.exception_types), None)
            if index is None:
                raise
            policy = policies[index]
            retry = retries.get(index, 0) + 1
            if not policy.allows(retry, time.monotonic() - started):
                logger.warning("step %s: %s failure not retried any more (%d retries done)",
                               step_name, exc.error_type, retry - 1)
                raise
            retries[index] = retry
            wait = policy.wait_before(retry) * interval_scale
            logger.warning("step %s failed with %s (%s); retry %d in %.1fs", step_name,
                           exc.error_type, exc.reason, retry, wait)
            on_retry(sum(retries.values()), exc)
            if stop is not None and stop.wait(wait):
                raise StepStopped(step_name, "the execution was stopped before a retry") from exc
            if stop is None:
                time.sleep(wait)
