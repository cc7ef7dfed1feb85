"""One factory for the PipelineSession every pipeline builds its definition with.

Three modes:
- ``aws``: a real session (CodeBuild, Studio, a laptop with credentials); code is staged to S3.
- ``offline``: no network at all: dummy credentials, no metadata probes, no role validation,
  a seeded default bucket, telemetry opted out; code staging computes its S3 keys but uploads
  nothing. Used by `get-pipeline-definition --offline`, CI validation and tests.
- ``local``: like offline, but staged code is written to the local runner's object store, so
  `run-pipeline --local` can execute the definition.

The mode comes from `session_mode(...)` (a context manager the CLIs enter around
`get_pipeline`), so template-style `get_pipeline(region, role, default_bucket, ...)` signatures
stay unchanged.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from runtime.ports.object_store import LocalObjectStore, ObjectStore, S3ObjectStore

MODES = ("aws", "offline", "local")
OFFLINE_ACCOUNT = "000000000000"

_OPT_OUT_CONFIG = {"SchemaVersion": "1.0",
                   "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


@dataclass(frozen=True)
class _ModeSetting:
    mode: str
    local_root: Path | None = None


_AWS = _ModeSetting("aws")
_current: contextvars.ContextVar[_ModeSetting | None] = contextvars.ContextVar(
    "pipelines_session_mode", default=None)


@contextlib.contextmanager
def session_mode(mode: str, local_root: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Build definitions in `mode` ('aws' | 'offline' | 'local') inside this block."""
    if mode not in MODES:
        raise ValueError(f"session mode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "local" and local_root is None:
        raise ValueError("session mode 'local' needs local_root (the local runner's store)")
    token = _current.set(_ModeSetting(mode, Path(local_root).resolve() if local_root else None))
    try:
        yield
    finally:
        _current.reset(token)


def current_mode() -> str:
    return (_current.get() or _AWS).mode


@dataclass(frozen=True)
class SessionContext:
    """A PipelineSession plus where the builder stages code for it."""

    session: object  # sagemaker.core.workflow.pipeline_context.PipelineSession
    region: str
    default_bucket: str
    mode: str
    code_store: ObjectStore | None  # None in offline mode: keys are computed, nothing is written

    @property
    def offline(self) -> bool:
        return self.mode != "aws"


def _prepare_offline_environment(region: str) -> None:
    """Environment the SDK reads at call time: no role validation, no IMDS probes."""
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)


def get_session_context(region: str | None, default_bucket: str | None = None) -> SessionContext:
    """The session for the current mode. On AWS the default bucket follows the SDK's rule."""
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    setting = _current.get() or _AWS
    region = region or os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
    if setting.mode == "aws":
        boto_session = boto3.Session(region_name=region)
        session = PipelineSession(boto_session=boto_session, default_bucket=default_bucket)
        bucket = session.default_bucket()
        return SessionContext(session, region, bucket, "aws",
                              S3ObjectStore(boto_session.client("s3")))

    _prepare_offline_environment(region)
    boto_session = boto3.Session(aws_access_key_id="offline", aws_secret_access_key="offline",
                                 aws_session_token="offline", region_name=region)
    bucket = default_bucket or f"sagemaker-{region}-{OFFLINE_ACCOUNT}"
    session = PipelineSession(boto_session=boto_session, default_bucket=bucket,
                              sagemaker_config=_OPT_OUT_CONFIG)
    session._default_bucket = bucket  # skip default_bucket()'s HeadBucket/CreateBucket probe
    store = LocalObjectStore(setting.local_root) if setting.mode == "local" else None
    return SessionContext(session, region, bucket, setting.mode, store)


def offline_role() -> str:
    """A syntactically valid role ARN for definitions built without AWS."""
    return f"arn:aws:iam::{OFFLINE_ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-offline"
