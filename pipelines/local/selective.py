"""Selective execution, locally as on SageMaker (`SelectiveExecutionConfig`): run only the
selected steps; the steps they depend on are not run but taken, with their outputs, from a
source execution of the same pipeline; every other step is skipped ("not selected").

What SageMaker refuses is refused here before anything runs:
- a selected step that is not in the definition, or more than 50 of them;
- a selection with a gap: every step on a path between two selected steps must be selected;
- a source execution that is not of this pipeline or has not ended Succeeded or Failed
  (CompletedWithFailures counts as failed);
- a step the selection depends on that did not succeed in the source execution.
Without a named source, the latest execution of the pipeline that ended is used (SageMaker's
`reference_latest_execution`); none is needed when nothing outside the selection is.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.definition import PipelineGraph
from pipelines.local.executions import list_executions
from runtime.errors import Refused, UserError

MAX_SELECTED = 50
SOURCE_STATUSES = ("Succeeded", "Failed", "CompletedWithFailures")


class SelectionRefused(UserError):
    """A selection SageMaker would refuse; the message names the steps and the fix."""


@dataclass(frozen=True)
class Selection:
    steps: frozenset[str]
    source_execution_id: str | None = None
    # A step the selection depends on -> its properties in the source execution.
    reused: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def plan_selection(graph: PipelineGraph, selected: Iterable[str], local_root: Path,
                   pipeline_name: str, source_execution_id: str | None = None) -> Selection:
    """Check a selection against the graph and the source execution; raise SelectionRefused
    (bad input) or Refused (no execution to take outputs from)."""
    chosen = check_selected(graph, selected)
    ancestors = {name: _ancestors(graph, name) for name in graph.steps}
    needed = sorted(set().union(*(ancestors[name] for name in chosen)) - chosen)
    if not needed:
        return Selection(chosen)
    source = _source(local_root, pipeline_name, source_execution_id, needed)
    reused: dict[str, Mapping[str, Any]] = {}
    for name in needed:
        record = source.get("steps", {}).get(name) or {}
        if record.get("status") != "Succeeded":
            raise SelectionRefused(
                f"step {name}, which the selection depends on, did not succeed in source "
                f"execution {source['execution_id']} ({record.get('status', 'absent')}); "
                f"select it too, or name a source execution where it succeeded")
        reused[name] = record.get("properties") or {}
    return Selection(chosen, source["execution_id"], reused)


def check_selected(graph: PipelineGraph, selected: Iterable[str]) -> frozenset[str]:
    """The selected steps, checked against the graph alone (also before a selective
    execution on AWS): known steps, at most 50, no gap between two selected steps."""
    steps = list(dict.fromkeys(selected))
    unknown = [name for name in steps if name not in graph.steps]
    if not steps or unknown:
        raise SelectionRefused(f"--steps {','.join(unknown) or '(none)'}: not step(s) of this "
                               f"pipeline; its steps: {', '.join(graph.steps)}")
    if len(steps) > MAX_SELECTED:
        raise SelectionRefused(f"--steps names {len(steps)} steps; SageMaker runs at most "
                               f"{MAX_SELECTED} in a selective execution")
    chosen = frozenset(steps)
    ancestors = {name: _ancestors(graph, name) for name in graph.steps}
    gaps = sorted(name for name in graph.steps if name not in chosen
                  and any(a in ancestors[name] for a in chosen)
                  and any(name in ancestors[b] for b in chosen))
    if gaps:
        raise SelectionRefused(f"--steps leaves out {', '.join(gaps)}, on the path between "
                               "selected steps; select every step between two selected ones")
    return chosen


def _ancestors(graph: PipelineGraph, name: str) -> set[str]:
    found: set[str] = set()
    pending = list(graph.steps[name].depends_on)
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(graph.steps[current].depends_on)
    return found


def _source(local_root: Path, pipeline_name: str, execution_id: str | None,
            needed: list[str]) -> dict[str, Any]:
    records = [r for r in list_executions(local_root) if r.get("pipeline_name") == pipeline_name]
    if execution_id is not None:
        found = [r for r in records if r.get("execution_id") == execution_id]
        if not found:
            raise SelectionRefused(f"--source-execution {execution_id}: no execution of "
                                   f"{pipeline_name} under {local_root} (run-pipeline --local "
                                   "--list shows them)")
        source = found[0]
        if source.get("status") not in SOURCE_STATUSES:
            raise SelectionRefused(f"--source-execution {execution_id} is {source.get('status')}"
                                   f"; a source execution must have ended "
                                   f"{' or '.join(SOURCE_STATUSES[:2])}")
        return source
    ended = [r for r in records if r.get("status") in SOURCE_STATUSES]
    if not ended:
        raise Refused(f"the selected steps need the outputs of {', '.join(needed)}, and no "
                      f"execution of {pipeline_name} has ended under {local_root}: run the "
                      "whole pipeline once, or select those steps too")
    return ended[-1]
