"""Load a pipeline definition, check it before anything runs, and order its steps.

Every step, including those nested in a branching step's branches (a Condition's
IfSteps/ElseSteps: its executor's `branches`), becomes one node of a graph whose edges are
`DependsOn`, `Get: Steps.X...` references and, for a branch step, the step that chooses it.
A cycle, an unknown step type or a dangling reference is an `InvalidDefinition` naming the
step; `refuse_unsupported` adds, for a run, the fields an executor cannot run.

`DependsOn` entries are step names or run conditions (`{"Step": name, "Trigger": Completed |
Failed | Stopped | Any}`, SDK v3's `StepDependency`): a step with run conditions runs when
each such upstream step ended as its trigger says (see runner.py), and is skipped otherwise.
"""
from __future__ import annotations

import graphlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.local.errors import InvalidDefinition
from pipelines.local.resolver import (
    EXECUTION_VARIABLES,
    JOB_NAME_VARIABLES,
    get_expressions,
    step_references,
)

TRIGGERS = ("Completed", "Failed", "Stopped", "Any")


@dataclass(frozen=True)
class StepSpec:
    """One step as the definition states it, plus where it sits and what it waits for."""

    name: str
    type: str
    raw: Mapping[str, Any] = field(repr=False)
    depends_on: frozenset[str] = frozenset()
    branch_of: tuple[str, str] | None = None  # (the choosing step, its branch: "IfSteps"...)
    # Upstream step -> the trigger of its run condition (Failed | Stopped | Any); a plain
    # dependency, or a Completed trigger, is not listed.
    run_conditions: Mapping[str, str] = field(default_factory=dict)

    @property
    def arguments(self) -> Any:
        return self.raw.get("Arguments", {})


@dataclass(frozen=True)
class PipelineGraph:
    parameters: list[Mapping[str, Any]]
    steps: dict[str, StepSpec]  # definition order, branch steps after their condition

    def sorter(self) -> graphlib.TopologicalSorter:
        sorter = graphlib.TopologicalSorter({n: s.depends_on for n, s in self.steps.items()})
        sorter.prepare()
        return sorter


def parse_definition(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(definition, Mapping):
        return json.loads(json.dumps(definition))  # a private copy: never mutate the caller's
    try:
        parsed = json.loads(definition)
    except ValueError as exc:
        raise InvalidDefinition(f"the pipeline definition is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidDefinition("the pipeline definition must be a JSON object with 'Steps'")
    return parsed


def load_graph(definition: Mapping[str, Any], executors: Mapping[str, Any]) -> PipelineGraph:
    """Check the definition and build the step graph; raise InvalidDefinition on any problem.

    `executors`: the executor class of each supported step type (its `branches` name the
    argument lists that hold branch steps)."""
    supported_types = executors.keys()
    steps_raw = definition.get("Steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise InvalidDefinition("the pipeline definition has no 'Steps' list")
    flat: list[tuple[Mapping[str, Any], tuple[str, str] | None]] = []
    _flatten(steps_raw, None, flat, executors)
    names = [raw.get("Name") for raw, _ in flat]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidDefinition(f"step names must be unique; repeated: {', '.join(duplicates)}")
    parameters = definition.get("Parameters") or []
    declared = {p.get("Name") for p in parameters}
    property_files = {raw["Name"]: {p.get("PropertyFileName") for p in
                                    raw.get("PropertyFiles") or []} for raw, _ in flat}
    steps: dict[str, StepSpec] = {}
    for raw, branch_of in flat:
        name, step_type = raw["Name"], raw["Type"]
        if step_type not in supported_types:
            raise InvalidDefinition(
                f"step {name!r} has type {step_type!r}, which the local runner does not support "
                f"(supported: {', '.join(sorted(supported_types))})")
        scanned = _scanned_part(raw, _branches(raw, executors))
        _check_gets(name, step_type, scanned, property_files, declared)
        run_conditions = _run_conditions(name, raw.get("DependsOn"))
        deps = set(run_conditions) | step_references(scanned)
        if branch_of:
            deps.add(branch_of[0])
        unknown = sorted(deps - set(names))
        if unknown:
            raise InvalidDefinition(f"step {name!r} depends on unknown step(s) "
                                    f"{', '.join(unknown)}; steps: {', '.join(names)}")
        steps[name] = StepSpec(name, step_type, raw, frozenset(deps - {name}), branch_of,
                               {d: t for d, t in run_conditions.items() if t != "Completed"})
        if name in deps:
            raise InvalidDefinition(f"dependency cycle: {name} -> {name}")
    graph = PipelineGraph(parameters, steps)
    try:
        graph.sorter()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        raise InvalidDefinition(f"dependency cycle: {' -> '.join(cycle)}") from exc
    return graph


def refuse_unsupported(graph: PipelineGraph, executors: Mapping[str, Any]) -> None:
    """InvalidDefinition naming the first step field its executor cannot run (the executors'
    `unsupported`); a graph drawn rather than run needs no such check."""
    for name, step in graph.steps.items():
        refused = executors[step.type].unsupported(step.arguments)
        if refused:
            raise InvalidDefinition(f"step {name!r} ({step.type}): {refused[0]}")


def _branches(raw: Mapping[str, Any], executors: Mapping[str, Any]) -> tuple[str, ...]:
    return getattr(executors.get(raw["Type"]), "branches", ())


def _flatten(steps: list[Any], branch_of: tuple[str, str] | None,
             out: list[tuple[Mapping[str, Any], tuple[str, str] | None]],
             executors: Mapping[str, Any]) -> None:
    for position, raw in enumerate(steps):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("Name"), str) \
                or not isinstance(raw.get("Type"), str):
            raise InvalidDefinition(f"step #{position + 1} needs a string 'Name' and 'Type', "
                                    f"got {json.dumps(raw)[:120]}")
        out.append((raw, branch_of))
        for branch in _branches(raw, executors):
            _flatten(raw.get("Arguments", {}).get(branch) or [], (raw["Name"], branch), out,
                     executors)


def _scanned_part(raw: Mapping[str, Any], branches: tuple[str, ...]) -> Any:
    """What of a step can hold data references: its branches are separate steps."""
    if branches:
        return {k: v for k, v in raw.get("Arguments", {}).items() if k not in branches}
    return {k: v for k, v in raw.items() if k not in ("Name", "Type", "DependsOn")}


def _run_conditions(step: str, depends_on: Any) -> dict[str, str]:
    """DependsOn as {upstream step: trigger}; a plain name is a Completed trigger."""
    if depends_on is None:
        return {}
    if not isinstance(depends_on, list):
        raise InvalidDefinition(f"step {step!r}: DependsOn must be a list of step names or "
                                f"run conditions, got {json.dumps(depends_on)[:120]}")
    found: dict[str, str] = {}
    for entry in depends_on:
        if isinstance(entry, str):
            found[entry] = "Completed"
            continue
        if (not isinstance(entry, Mapping) or set(entry) != {"Step", "Trigger"}
                or not isinstance(entry["Step"], str) or entry["Trigger"] not in TRIGGERS):
            raise InvalidDefinition(
                f"step {step!r}: DependsOn entry {json.dumps(entry)[:120]} is neither a step "
                f"name nor a run condition {{\"Step\": name, \"Trigger\": "
                f"{' | '.join(TRIGGERS)}}}")
        found[entry["Step"]] = entry["Trigger"]
    return found


def _check_gets(step: str, step_type: str, value: Any, property_files: Mapping[str, set[str]],
                declared: set[str]) -> None:
    for expression in get_expressions(value):
        head, _, rest = expression.partition(".")
        owner, _, file_name = rest.partition(".PropertyFiles.")
        known = property_files.get(owner, {file_name})
        if head == "Steps" and file_name and file_name not in known:
            raise InvalidDefinition(
                f"step {step!r} reads PropertyFile {file_name!r} of step {owner!r}, which "
                f"declares: {', '.join(sorted(property_files[owner])) or 'none'}")
        if head == "Parameters" and rest not in declared:
            raise InvalidDefinition(
                f"step {step!r} refers to undeclared parameter {rest!r} "
                f"(declared: {', '.join(sorted(declared)) or 'none'})")
        if head == "Execution" and rest not in EXECUTION_VARIABLES:
            raise InvalidDefinition(f"step {step!r} refers to unknown execution variable "
                                    f"{rest!r} (known: {', '.join(EXECUTION_VARIABLES)})")
        if head == "Execution" and JOB_NAME_VARIABLES.get(rest, step_type) != step_type:
            raise InvalidDefinition(
                f"step {step!r} ({step_type}) reads Execution.{rest}, the name of a "
                f"{JOB_NAME_VARIABLES[rest]} step's own job: SageMaker resolves it only in "
                f"{JOB_NAME_VARIABLES[rest]} steps; pass the job's name from its step's "
                "properties instead")
        if head not in ("Parameters", "Execution", "Steps"):
            raise InvalidDefinition(f"step {step!r} has an unsupported reference "
                                    f"{{'Get': {expression!r}}}")
