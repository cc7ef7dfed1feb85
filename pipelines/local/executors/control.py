"""Condition and Fail steps: decide a branch, or end the execution with a message."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import StepFailed
from pipelines.local.executors.base import StepExecutor, register

_COMPARISONS = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


def evaluate(condition: Mapping[str, Any]) -> bool:
    """One resolved condition (Type plus operands), recursively for Not/Or/And."""
    kind = condition["Type"]
    if kind in _COMPARISONS:
        left, right = _comparable(condition["LeftValue"], condition["RightValue"])
        try:
            return bool(_COMPARISONS[kind](left, right))
        except TypeError as exc:
            raise ValueError(f"{kind}: cannot compare {left!r} with {right!r}") from exc
    if kind == "In":
        query = condition["QueryValue"]
        return any(_comparable(query, v)[0] == _comparable(query, v)[1]
                   for v in condition["Values"])
    if kind == "Not":
        return not evaluate(condition["Condition"])
    if kind == "Or":
        return any(evaluate(c) for c in condition["Conditions"])
    if kind == "And":
        return all(evaluate(c) for c in condition["Conditions"])
    raise ValueError(f"condition type {kind!r} is not supported "
                     f"(supported: {', '.join([*_COMPARISONS, 'In', 'Not', 'Or', 'And'])})")


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers compare as numbers even when one side arrives as a numeric string."""
    if isinstance(left, (int, float)) and isinstance(right, str):
        return left, _number(right, right)
    if isinstance(right, (int, float)) and isinstance(left, str):
        return _number(left, left), right
    return left, right


def _number(text: str, fallback: Any) -> Any:
    try:
        return float(text)
    except ValueError:
        return fallback


@register
class ConditionExecutor(StepExecutor):
    step_type = "Condition"
    branches = ("IfSteps", "ElseSteps")

    def arguments(self, step: StepSpec) -> Any:
        return step.arguments.get("Conditions", [])

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        try:
            outcome = all(evaluate(c) for c in arguments)
        except (KeyError, ValueError) as exc:
            raise StepFailed(step.name, f"cannot evaluate the conditions: {exc}") from exc
        return {"Outcome": "True" if outcome else "False"}

    def summary(self, properties: Mapping[str, Any]) -> str:
        return f"outcome {properties['Outcome']}"

    def chosen_branch(self, properties: Mapping[str, Any]) -> str:
        return "IfSteps" if properties["Outcome"] == "True" else "ElseSteps"


@register
class FailExecutor(StepExecutor):
    step_type = "Fail"
    failure_is_execution_reason = True

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        raise StepFailed(step.name, str(arguments.get("ErrorMessage") or "Fail step reached"))
