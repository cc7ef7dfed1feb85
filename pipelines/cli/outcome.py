"""How a command ends on an error: one line on stderr and the exit code of the convention.

0 success; 1 refused or the run failed (a state, an AWS service error); 2 bad usage or input,
including missing AWS set-up (no region, no credentials), which names the way to work
without AWS.
"""
from __future__ import annotations

import sys

from runtime.errors import Refused, UserError, aws_error_message
from runtime.ports.object_store import ObjectNotFound, TransientStoreError
from steps.common.structure import bounded


def aws_setup_message(exc: BaseException, without_aws: str) -> str | None:
    """One line with the fix when `exc` (or its cause) is missing AWS set-up, None otherwise.

    `without_aws` names the command's way to run without AWS, e.g. '--local' or '--offline'.
    """
    from botocore.exceptions import (
        CredentialRetrievalError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, NoRegionError):
            return (f"no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION), "
                    f"or work without AWS: {without_aws}")
        if isinstance(cause, (NoCredentialsError, PartialCredentialsError, ProfileNotFound,
                              CredentialRetrievalError)):
            return (f"no usable AWS credentials ({bounded(str(cause), 120)}): configure them "
                    "(`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                    f"AWS_SECRET_ACCESS_KEY), or work without AWS: {without_aws}")
        cause = cause.__cause__ or cause.__context__
    return None


def exit_code_for(prog: str, exc: Exception, without_aws: str) -> int:
    """Print `exc` as the command's one-line error and return its exit code; an exception
    that is none of ours nor AWS's is a bug, raised again with its traceback."""
    if isinstance(exc, UserError):
        return _say(prog, "error", str(exc), 2)
    if isinstance(exc, Refused):
        return _say(prog, "refused", str(exc), 1)
    if isinstance(exc, ObjectNotFound):  # named by a package or a plan, not by the person
        return _say(prog, "error", str(exc), 1)
    if isinstance(exc, TransientStoreError):
        return _say(prog, "AWS error", f"{exc} (S3 still failing after retries; run again)", 1)
    setup = aws_setup_message(exc, without_aws)
    if setup:
        return _say(prog, "error", setup, 2)
    message = aws_error_message(exc)
    if message is not None or type(exc).__module__.startswith("botocore"):
        return _say(prog, "AWS error", bounded(message or str(exc)), 1)
    raise exc


def _say(prog: str, kind: str, message: str, code: int) -> int:
    print(f"{prog}: {kind}: {message}", file=sys.stderr)
    return code
