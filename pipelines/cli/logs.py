"""Logging for our commands: our messages plainly, the SDK's only when they are errors.

The SDK sets DEBUG/INFO levels on its own loggers (config look-ups, popped fields, instance
type detection) on every build; a filter on our handler keeps that out of CodeBuild logs.
"""
from __future__ import annotations

import logging
import warnings

from steps.common.cli import CurrentStreamHandler

_QUIET_PREFIXES = ("sagemaker", "botocore", "boto3", "urllib3", "s3transfer")


def _keep(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR or not record.name.startswith(_QUIET_PREFIXES)


def configure_cli_logging(level: int = logging.INFO) -> None:
    handler = CurrentStreamHandler("stderr")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_keep)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
