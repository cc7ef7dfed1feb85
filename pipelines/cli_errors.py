"""User errors for the command-line tools: one line on stderr, no traceback, exit status 2."""
from __future__ import annotations

import ast
import json
from typing import Any

from steps.common.structure import MAX_DEPTH, StructureError, bounded, check_structure


class UserError(Exception):
    """Something the person running the command can fix; the message (one line, bounded
    however long the input it quotes) says how."""

    def __init__(self, message: str):
        super().__init__(bounded(message))


def parse_struct(text: str | None, what: str) -> Any:
    """Parse `--kwargs`/`--tags`-style text: JSON first, then a Python literal (template style).

    The value must be JSON-shaped: string keys only, nested at most MAX_DEPTH levels.
    """
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except RecursionError:
        raise UserError(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as json_error:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            raise UserError(f"{what} is neither JSON nor a Python literal: {text!r} "
                            f"(JSON error: {json_error.msg} at column {json_error.colno})") from None
    except ValueError as error:  # valid JSON syntax the parser still refuses (a huge integer)
        raise UserError(f"{what}: {error}") from None
    try:
        check_structure(value)
    except StructureError as exc:
        raise UserError(f"{what}: {exc}; pass a JSON object such as '{{\"key\": 1}}'") from None
    return value


def aws_error_message(exc: Exception) -> str | None:
    """'Code: message' for a botocore ClientError, None for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return None
    error = response["Error"]
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


class Refused(Exception):
    """A valid request that the current state does not allow (exit 1); the message says what
    would allow it."""

    def __init__(self, message: str):
        super().__init__(bounded(message))


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
