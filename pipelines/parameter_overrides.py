"""Pipeline parameters: declared defaults plus overrides, type-checked before anything runs.

Shared by `run-pipeline` (before anything is sent to SageMaker) and the local runner (before
any step runs), so a typo or a wrong type fails at once, naming the declared parameters.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from runtime.errors import UserError


class InvalidParameters(UserError, ValueError):
    """A parameter override is unknown or has the wrong type (one line, bounded)."""


_PYTHON_TYPES = {"String": (str,), "Integer": (int,), "Float": (float, int), "Boolean": (bool,)}


def resolve_parameters(declared: list[Mapping[str, Any]],
                       overrides: Mapping[str, object] | None) -> dict[str, Any]:
    """Return every parameter's value; raise InvalidParameters naming the culprit."""
    by_name = {p["Name"]: p for p in declared}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(by_name))
    if unknown:
        raise InvalidParameters(
            f"unknown parameter(s) {', '.join(unknown)}; this pipeline declares: "
            f"{', '.join(sorted(by_name)) or 'none'}")
    values: dict[str, Any] = {}
    for name, decl in by_name.items():
        if name in overrides:
            values[name] = _coerce(name, decl.get("Type", "String"), overrides[name])
        elif "DefaultValue" in decl:
            values[name] = decl["DefaultValue"]
        else:
            raise InvalidParameters(f"parameter {name} has no default value; pass one "
                                    f"(type {decl.get('Type', 'String')})")
        allowed = decl.get("EnumValues")
        if allowed and values[name] not in allowed:
            raise InvalidParameters(f"parameter {name}: {values[name]!r} is not one of "
                                    f"{', '.join(map(str, allowed))}")
    return values


def _coerce(name: str, declared_type: str, value: object) -> Any:
    """Accept the declared Python type, or a string spelling of it (as a CLI passes).

    A Float must be finite: "nan", "inf" and numbers beyond a double's range are refused here,
    before anything runs, rather than reaching a comparison that is always false.
    """
    expected = _PYTHON_TYPES.get(declared_type, (str,))
    if isinstance(value, expected) and not (declared_type != "Boolean" and isinstance(value, bool)):
        return _finite(name, value) if declared_type == "Float" else value
    if isinstance(value, str):
        text = value.strip()
        try:
            if declared_type == "Integer":
                return int(text)
            if declared_type == "Float":
                number = float(text)
        except ValueError:
            pass
        else:
            if declared_type == "Float":
                return _finite(name, number)
        if declared_type == "Boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    raise InvalidParameters(f"parameter {name} expects {declared_type}, received "
                            f"{type(value).__name__} {value!r}")


def _finite(name: str, value: float | int) -> float:
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidParameters(f"parameter {name} must be a finite number, received "
                                f"{value!r}; pass a value such as 0.5")
    return number
