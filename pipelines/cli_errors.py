"""User errors for the command-line tools: one line on stderr, no traceback, exit status 2."""
from __future__ import annotations

import ast
import json
from typing import Any


class UserError(Exception):
    """Something the person running the command can fix; the message says how."""


def parse_struct(text: str | None, what: str) -> Any:
    """Parse `--kwargs`/`--tags`-style text: JSON first, then a Python literal (template style)."""
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise UserError(f"{what} is neither JSON nor a Python literal: {text!r} "
                            f"(JSON error: {json_error.msg} at column {json_error.colno})") from None


def aws_error_message(exc: Exception) -> str | None:
    """'Code: message' for a botocore ClientError, None for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return None
    error = response["Error"]
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
