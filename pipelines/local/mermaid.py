"""A pipeline's step graph as a Mermaid flowchart: GitHub, Studio notebooks and most Markdown
viewers draw it without any tool of ours.

Edges are the runner's own (definition.py): `DependsOn`, data references and, for a
Condition's branches, the step that chooses them, labelled with the branch taken.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.definition import PipelineGraph, load_graph
from pipelines.local.executors import EXECUTORS

BRANCH_LABELS = {"IfSteps": "if true", "ElseSteps": "else"}
# Fill and stroke per step status: the same colours as the execution page.
STATUS_COLOURS = {"Succeeded": ("#d8f3dc", "#2d6a4f"), "Failed": ("#ffd6d6", "#c1121f"),
                  "Executing": ("#d7ecff", "#1d4e89"), "Stopped": ("#f1dcff", "#7b2cbf"),
                  "Skipped": ("#eeeeee", "#888888"), "NotRun": ("#fff3cd", "#b08900")}


def definition_graph(definition: Mapping[str, Any]) -> PipelineGraph:
    """The step graph of any definition, also one with step types the runner cannot run
    (EMR, Transform, ...): those are drawn like any other step."""
    types = {s.get("Type") for s in definition.get("Steps") or [] if isinstance(s, Mapping)}
    return load_graph(definition, {**dict.fromkeys(types), **EXECUTORS})


def mermaid_flowchart(graph: PipelineGraph, statuses: Mapping[str, str] | None = None) -> str:
    """`flowchart LR` text: one node per step (its name and type), one edge per dependency;
    with `statuses` (step -> status) each node is coloured by its status."""
    ids = {name: f"s{position}" for position, name in enumerate(graph.steps)}
    lines = ["flowchart LR"]
    for name, step in graph.steps.items():
        lines.append(f'    {ids[name]}["{_escape(name)}<br/>{_escape(step.type)}"]')
    for name, step in graph.steps.items():
        chooser, branch = step.branch_of or (None, None)
        for dependency in sorted(step.depends_on, key=list(graph.steps).index):
            label = BRANCH_LABELS.get(branch or "", branch) if dependency == chooser else None
            arrow = f"-->|{_escape(label)}|" if label else "-->"
            lines.append(f"    {ids[dependency]} {arrow} {ids[name]}")
    if statuses:
        for status, (fill, stroke) in STATUS_COLOURS.items():
            members = [ids[n] for n in graph.steps if statuses.get(n) == status]
            if members:
                lines.append(f"    classDef {status} fill:{fill},stroke:{stroke}")
                lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """Mermaid labels are quoted strings: quotes and angle brackets become entity codes."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;").replace("|", "#124;"))
