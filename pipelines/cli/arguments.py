"""Parsing the structured options of our commands: `--kwargs`, `--tags`, `--parameters`.

The scalar argument types (whole numbers, ports, sizes, lists) are steps.common.arguments',
shared with the serve module.
"""
from __future__ import annotations

import ast
import json
from typing import Any

from runtime.errors import UserError
from steps.common.structure import MAX_DEPTH, StructureError, check_structure


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


def dict_argument(text: str | None, what: str) -> dict[str, Any]:
    """A `--kwargs`-style option that must hold a dict ({} when absent)."""
    value = parse_struct(text, what)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{what} must be a dict, got {type(value).__name__}: {text!r}")
    return value
