"""Callback and Lambda steps' OutputParameters: declared names and types, values as received.

A step's properties are `{"OutputParameters": {name: value}}`, so `Get:
Steps.S.OutputParameters['name']` resolves to the value, typed as the definition declares
(String, Integer, Float, Boolean).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.errors import StepFailed


def declared_outputs(raw_step: Mapping[str, Any]) -> dict[str, str]:
    """{OutputName: OutputType} from the step's definition."""
    return {o["OutputName"]: o.get("OutputType", "String")
            for o in raw_step.get("OutputParameters") or []}


def typed_outputs(step_name: str, declared: Mapping[str, str],
                  received: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The declared outputs from what `source` returned; raise StepFailed when one is missing."""
    missing = [name for name in declared if name not in received]
    if missing:
        raise StepFailed(step_name, f"{source} returned no {', '.join(missing)} (declared "
                         f"OutputParameters: {', '.join(declared)}; received: "
                         f"{', '.join(sorted(received)) or 'none'})")
    typed = {}
    for name, kind in declared.items():
        try:
            typed[name] = _convert(received[name], kind)
        except (TypeError, ValueError) as exc:
            raise StepFailed(step_name, f"{source} returned {name}={received[name]!r}, which is "
                             f"not a valid {kind}: {exc}") from exc
    return typed


def _convert(value: Any, kind: str) -> Any:
    if kind == "String":
        return value if isinstance(value, str) else str(value)
    if kind == "Integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected a whole number")
        return int(value)
    if kind == "Float":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError("expected true or false")
    raise ValueError(f"unknown OutputType {kind!r} (String, Integer, Float, Boolean)")
