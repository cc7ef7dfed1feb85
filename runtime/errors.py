"""The two ways a request ends without doing harm, for every command and Lambda alike.

`UserError`: the input is wrong (a name that does not exist, a bad option, a malformed value);
commands exit 2. `Refused`: a valid request the current state does not allow (not approved,
already answered, nothing to stop); commands exit 1. Both messages are one bounded line,
however long the input they quote, and say how to fix it.
"""
from __future__ import annotations

from steps.common.structure import bounded


class UserError(Exception):
    """Something the person running the command can fix; the message says how."""

    def __init__(self, message: str):
        super().__init__(bounded(message))


class Refused(Exception):
    """A valid request that the current state does not allow; the message says what would
    allow it."""

    def __init__(self, message: str):
        super().__init__(bounded(message))


def aws_error_message(exc: BaseException) -> str | None:
    """'Code: message' for a botocore ClientError, None for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return None
    error = response["Error"]
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
