"""Ending a step with a reason SageMaker shows: one line on stderr and in the failure file.

SageMaker reads `/opt/ml/output/failure` for training and processing jobs alike and shows its
content as the job's FailureReason. A runner that executes the scripts elsewhere (the local
runner, tests) points it at another path with the environment variable `SM_FAILURE_FILE`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from steps.common.atomic import write_text_atomic
from steps.common.errors import InvalidData

FAILURE_FILE_ENV = "SM_FAILURE_FILE"
DEFAULT_FAILURE_FILE = "/opt/ml/output/failure"
# SageMaker keeps the first 1024 characters of a FailureReason.
_MAX_REASON = 1024

logger = logging.getLogger(__name__)


def failure_file() -> Path:
    """Where this job's failure reason goes: $SM_FAILURE_FILE, else SageMaker's path."""
    return Path(os.environ.get(FAILURE_FILE_ENV) or DEFAULT_FAILURE_FILE)


def write_failure(reason: str) -> None:
    """Record the reason in the failure file; a path we cannot write is logged, not fatal."""
    path = failure_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, reason[:_MAX_REASON] + "\n")
    except OSError as error:
        logger.warning("could not write the failure file %s: %s", path, error)


def fail(reason: str) -> NoReturn:
    """Report `reason` (made one line) on stderr and in the failure file, then exit with 1."""
    line = " ".join(str(reason).split())
    write_failure(line)
    print(line, file=sys.stderr, flush=True)
    raise SystemExit(1)


@contextlib.contextmanager
def failures_reported() -> Iterator[None]:
    """Turn InvalidData into `fail`; record any other error in the failure file and re-raise."""
    try:
        yield
    except InvalidData as error:
        fail(str(error))
    except Exception as error:
        write_failure(f"internal error: {type(error).__name__}: {error}")
        raise
