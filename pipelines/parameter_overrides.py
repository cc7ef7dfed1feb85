"""Validate per-execution parameter overrides against a definition's declared Parameters.

Used before anything is sent to SageMaker or run locally, so a typo or a wrong type fails
at once with the declared names and types, not minutes later inside a job.
"""
from __future__ import annotations

from typing import Any


class InvalidParameters(ValueError):
    """An override names an undeclared parameter or has the wrong type."""


_PYTHON_TYPES = {"String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}


def declared_parameters(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["Name"]: p for p in definition.get("Parameters", [])}


def validate_overrides(definition: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return the overrides unchanged when valid; raise InvalidParameters naming the problem."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise InvalidParameters(f"parameters must be a JSON object of name -> value, got "
                                f"{type(overrides).__name__}")
    declared = declared_parameters(definition)
    for name, value in overrides.items():
        if name not in declared:
            raise InvalidParameters(
                f"unknown parameter {name!r}; this pipeline declares: {', '.join(declared)}")
        kind = declared[name].get("Type", "String")
        allowed = _PYTHON_TYPES.get(kind, (str,))
        wrong_bool = isinstance(value, bool) and kind != "Boolean"
        if wrong_bool or not isinstance(value, allowed):
            raise InvalidParameters(f"parameter {name!r} is {kind}, got {type(value).__name__} "
                                    f"{value!r}")
        enum = declared[name].get("EnumValues")
        if enum and value not in enum:
            raise InvalidParameters(f"parameter {name!r} must be one of {', '.join(map(str, enum))}, "
                                    f"got {value!r}")
    return overrides


def resolved_parameters(definition: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with validated overrides; a parameter with no value at all is an error."""
    values = {name: p.get("DefaultValue") for name, p in declared_parameters(definition).items()}
    values.update(validate_overrides(definition, overrides))
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise InvalidParameters(f"parameters without a default need a value: {', '.join(missing)}")
    return values
