"""The deploy function's settings, from its environment variables (set by deploy_template.yaml).

    ROLE_ARN                   execution role the SageMaker models run as (required)
    MEMORY_SIZE, MAX_CONCURRENCY   serverless capacity (default 6144 MB, 1), as deploy-model
    MULTI_MODEL_BASES          comma-separated bases: a group `<base>-<segment>` publishes to
                               the multi-model endpoint `<base>` instead (default: none)
    MULTI_MODEL_INSTANCE_TYPE, MULTI_MODEL_INSTANCE_COUNT   its capacity (ml.m5.large, 1)
    LIVE_PREFIX                multi-model live prefix (default: beside the staging prefix)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runtime.deployment.requests import RealTime, Serverless, choose_capacity
from runtime.errors import UserError


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or malformed: fix the stack's parameters."""


@dataclass(frozen=True)
class Settings:
    role_arn: str
    serverless: Serverless
    multi_model: RealTime
    multi_model_bases: tuple[str, ...] = ()
    live_prefix: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        role_arn = env.get("ROLE_ARN", "")
        if not role_arn.startswith("arn:"):
            raise ConfigurationError(f"ROLE_ARN must be the models' execution role ARN, got "
                                     f"{role_arn!r}")
        try:
            return cls(
                role_arn=role_arn,
                serverless=choose_capacity(False, memory_size=_int(env, "MEMORY_SIZE", None),
                                           max_concurrency=_int(env, "MAX_CONCURRENCY", None)),
                multi_model=choose_capacity(
                    True, instance_type=env.get("MULTI_MODEL_INSTANCE_TYPE") or None,
                    instance_count=_int(env, "MULTI_MODEL_INSTANCE_COUNT", 1)),
                multi_model_bases=tuple(b.strip() for b in env.get("MULTI_MODEL_BASES", "")
                                        .split(",") if b.strip()),
                live_prefix=env.get("LIVE_PREFIX") or None)
        except UserError as exc:
            raise ConfigurationError(f"environment: {exc} (the flag's variable: MEMORY_SIZE, "
                                     "MAX_CONCURRENCY, MULTI_MODEL_INSTANCE_*)") from exc


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    value = env.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}")
    return int(value)
