"""Checks of a pipeline definition that need neither AWS nor its JSON schema.

Every `Get` must name a declared parameter, an execution variable or an existing step; step
names must be unique; `DependsOn` must name steps (plain names, or run conditions
`{"Step": name, "Trigger": Completed|Failed|Stopped|Any}`); and every job step's Arguments
must be a valid request of the API SageMaker calls for it (api_shape_checks.py: required
members, types, lengths, patterns, enums, ranges, with pipeline expressions typed where they
stand; for instance a non-String parameter placed bare where the API takes a string, which
CreatePipeline refuses: "Cannot assign property reference ... to argument of type String").
CodeBuild runs these (via `validate-pipelines`) for every pipeline, and `run-pipeline` before
it upserts one, so a broken definition fails the build instead of the execution.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pipelines.api_shape_checks import check_request_shapes
from pipelines.local.definition import TRIGGERS
from runtime.errors import UserError

log = logging.getLogger(__name__)

# What `ExecutionVariables` (SDK v3) offers; TrainingJobName and ProcessingJobName are the name
# of the job of the step that uses them.
EXECUTION_VARIABLES = ("StartDateTime", "CurrentDateTime", "PipelineName", "PipelineArn",
                       "PipelineExecutionId", "PipelineExecutionArn", "TrainingJobName",
                       "ProcessingJobName")


def _steps(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = list(definition.get("Steps", []))
    while stack:
        step = stack.pop(0)
        yield step
        arguments = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            stack.extend(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def step_names_of(definition: dict[str, Any]) -> list[str]:
    """Every step's name, those in Condition branches included, in definition order."""
    return [step["Name"] for step in _steps(definition)]


def _gets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
        for child in value.values():
            yield from _gets(child)
    elif isinstance(value, list):
        for child in value:
            yield from _gets(child)


def dependency_name(entry: Any) -> Any:
    """A DependsOn entry's step name: the entry itself, or a run condition's `Step`."""
    return entry.get("Step") if isinstance(entry, dict) else entry


def check_definition(definition: dict[str, Any]) -> list[str]:
    """Problems found, one line each; an empty list means the definition is consistent."""
    problems: list[str] = []
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    steps = list(_steps(definition))
    names = [s["Name"] for s in steps]
    problems += [f"step name {n!r} is used more than once" for n in sorted(set(names))
                 if names.count(n) > 1]
    known = set(names)
    for step in steps:
        for entry in step.get("DependsOn", []):
            dependency = dependency_name(entry)
            if not isinstance(dependency, str) or dependency not in known:
                problems.append(f"{step['Name']}: DependsOn names unknown step {dependency!r}")
            if isinstance(entry, dict) and entry.get("Trigger") not in TRIGGERS:
                problems.append(f"{step['Name']}: DependsOn {entry}: Trigger must be one of "
                                f"{', '.join(TRIGGERS)}")
        for reference in _gets(step):
            kind, _, rest = reference.partition(".")
            target = rest.split(".")[0].split("[")[0]
            if kind == "Parameters" and target not in parameters:
                problems.append(f"{step['Name']}: {reference} is not a declared parameter")
            elif kind == "Steps" and target not in known:
                problems.append(f"{step['Name']}: {reference} names an unknown step")
            elif kind == "Execution" and target not in EXECUTION_VARIABLES:
                problems.append(f"{step['Name']}: {reference} is not an execution variable")
    return problems + check_request_shapes(definition)


def require_consistent(definition: dict[str, Any], module_name: str) -> None:
    """Log every problem and raise UserError (exit 2) naming the first, before an upsert."""
    problems = check_definition(definition)
    if not problems:
        return
    for problem in problems:
        log.error("%s: %s", module_name, problem)
    raise UserError(f"the definition of {module_name} has {len(problems)} problem(s) SageMaker "
                    f"would refuse, the first: {problems[0]}; fix them (validate-pipelines "
                    f"{module_name} lists them all) and run again")
