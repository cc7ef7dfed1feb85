"""Structural checks of a pipeline definition that need neither AWS nor its JSON schema.

Every `Get` must name a declared parameter, an execution variable or an existing step; step
names must be unique; `DependsOn` must name steps; a non-String parameter must not stand bare
where the API takes a string (container arguments, environment, hyperparameters): SageMaker's
CreatePipeline refuses that ("Cannot assign property reference ... to argument of type
String"), so pass `parameter.to_string()`. CodeBuild runs these (via
`validate-pipelines`) for every pipeline before upserting one, so a broken reference fails
the build instead of the execution.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

EXECUTION_VARIABLES = {"ExecutionId", "PipelineExecutionId", "PipelineExecutionArn",
                       "PipelineName", "PipelineArn", "StartDateTime", "CurrentDateTime",
                       "PipelineExecutionDisplayName"}


def _steps(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = list(definition.get("Steps", []))
    while stack:
        step = stack.pop(0)
        yield step
        arguments = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            stack.extend(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def _gets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
        for child in value.values():
            yield from _gets(child)
    elif isinstance(value, list):
        for child in value:
            yield from _gets(child)


# Request fields whose values SageMaker types as strings, by where they sit in a step's Arguments.
_STRING_FIELDS = (("AppSpecification", "ContainerArguments"), ("Environment",),
                  ("HyperParameters",), ("TrainingJobDefinition", "StaticHyperParameters"),
                  ("TrainingJobDefinition", "Environment"))


def _field(arguments: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        arguments = arguments.get(key) if isinstance(arguments, dict) else None
    return arguments


def _bare_non_strings(step: dict[str, Any], types: dict[str, str]) -> Iterator[str]:
    """Non-String parameters placed directly in a string-typed request field."""
    for path in _STRING_FIELDS:
        value = _field(step.get("Arguments", {}), path)
        values = value.values() if isinstance(value, dict) else value or []
        for item in values:
            if isinstance(item, dict) and set(item) == {"Get"}:
                kind, _, name = str(item["Get"]).partition(".")
                if kind == "Parameters" and types.get(name, "String") != "String":
                    yield (f"{step['Name']}: {'.'.join(path)} holds the {types[name]} parameter "
                           f"{name} bare; SageMaker takes only strings there: pass "
                           f"{name}.to_string()")


def check_definition(definition: dict[str, Any]) -> list[str]:
    """Problems found, one line each; an empty list means the definition is consistent."""
    problems: list[str] = []
    types = {p["Name"]: p.get("Type", "String") for p in definition.get("Parameters", [])}
    parameters = set(types)
    steps = list(_steps(definition))
    names = [s["Name"] for s in steps]
    problems += [f"step name {n!r} is used more than once" for n in sorted(set(names))
                 if names.count(n) > 1]
    known = set(names)
    for step in steps:
        for dependency in step.get("DependsOn", []):
            if dependency not in known:
                problems.append(f"{step['Name']}: DependsOn names unknown step {dependency!r}")
        for reference in _gets(step):
            kind, _, rest = reference.partition(".")
            target = rest.split(".")[0].split("[")[0]
            if kind == "Parameters" and target not in parameters:
                problems.append(f"{step['Name']}: {reference} is not a declared parameter")
            elif kind == "Steps" and target not in known:
                problems.append(f"{step['Name']}: {reference} names an unknown step")
            elif kind == "Execution" and target not in EXECUTION_VARIABLES:
                problems.append(f"{step['Name']}: {reference} is not an execution variable")
        problems.extend(_bare_non_strings(step, types))
    return problems
