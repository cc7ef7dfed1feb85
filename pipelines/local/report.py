"""What a person sees at the end of a local run: the steps, then what came of it and what to
do next.

Three endings: Succeeded (the gate's figures, the registered version, the commands that
approve and deploy it), a Fail step (the gate's figures that stopped it), a failed step (its
reason and log). Every ending names the execution page. Paths and commands are never
wrapped into fragments: without a terminal the console is as wide as its longest line.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipelines.local.execution import LocalExecution
from pipelines.local.execution_digest import ExecutionDigest, GateVerdict
from runtime.ports.object_store import LocalObjectStore

STATUS_STYLE = {"Executing": "cyan", "Succeeded": "green", "Failed": "red",
                "Stopped": "magenta", "Skipped": "dim", "NotRun": "yellow"}
UNWRAPPED_WIDTH = 10_000  # a console that is not a terminal: lines as long as they are
APPROVED = "Approved"
DETAILED = 2  # more gates or versions than this (one per segment): one line each


def summary_console(file: IO[str] | None = None) -> Console:
    """A console on `file` (stdout) that wraps only on a terminal."""
    console = Console(file=file, soft_wrap=True, highlight=False)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
    return console


def print_summary(execution: LocalExecution, digest: ExecutionDigest, page: Path | None,
                  console: Console | None = None) -> None:
    console = console or summary_console()
    console.print(steps_table(execution))
    console.print(summary_text(execution, digest, page))


def steps_table(execution: LocalExecution) -> Table:
    table = Table(title=f"{execution.pipeline_name} {execution.execution_id}: "
                        f"{execution.status}", title_justify="left")
    for column in ("Step", "Type", "Status", "Time", "Key outputs"):
        table.add_column(column, overflow="fold")
    for record in execution.steps.values():
        status = record.status + (" (cached)" if record.cached else "") + (
            f" ({record.attempts} attempts)" if record.attempts > 1 else "")
        seconds = f"{record.duration_s:.1f}s" if record.duration_s is not None else ""
        if record.cpu_s is not None:  # what its jobs used: CPU, and the largest process's RSS
            peak = f", {record.peak_rss_mib:.0f} MiB" if record.peak_rss_mib is not None else ""
            seconds += f" (CPU {record.cpu_s:.1f}s{peak})"
        table.add_row(record.name, record.type,
                      Text(status, style=STATUS_STYLE.get(record.status, "")), seconds,
                      record.failure_reason or record.summary)
    return table


def summary_text(execution: LocalExecution, digest: ExecutionDigest, page: Path | None) -> str:
    """The outcome, the gates' figures, where things are and the next commands, as plain
    lines (the page and the tests read the same text)."""
    store = LocalObjectStore(execution.local_root)
    lines = [_outcome(execution)]
    if len(digest.gates) > DETAILED:
        lines += _gates_in_brief(digest.gates)
    else:
        for gate in digest.gates:
            lines += _gate_lines(gate, store)
    if len(digest.registered) > DETAILED:
        lines.append(f"Registered {len(digest.registered)} versions: " + ", ".join(
            f"{v.reference} ({v.status})" for v in digest.registered))
    else:
        for version in digest.registered:
            lines.append(f"Registered {version.reference} ({version.status})")
            if version.model_uri:
                lines.append(f"  model:  {_local(store, version.model_uri)}")
    if page is not None:
        lines.append(f"Execution page: {page}")
    lines += ["Next:"] + [f"  {step}" for step in next_steps(execution, digest)]
    return "\n".join(lines)


def next_steps(execution: LocalExecution, digest: ExecutionDigest) -> list[str]:
    """Commands (or the one thing to do) that follow from how the execution ended."""
    root = shlex.quote(execution.local_root)
    if execution.status == "Succeeded":
        if not digest.registered:
            return ["nothing was registered: the page shows each step's outputs"]
        description = shlex.quote(f"reviewed execution {execution.execution_id}")
        steps = [f"model-registry approve {shlex.quote(v.reference)} --local {root} "
                 f"--description {description}"
                 for v in digest.registered if v.status != APPROVED]
        base = _multi_model_base([v.group for v in digest.registered])
        if base:
            return steps + [f"deploy-model --multi-model {shlex.quote(base)} --local "
                            f"--local-root {root}"]
        return steps + [f"deploy-model {shlex.quote(v.reference)} --local --local-root {root}"
                        for v in digest.registered]
    if execution.status == "Stopped":
        return ["run the same command again: steps that finished come from the cache"]
    if _failed_fail_step(execution):
        return ["the model was not registered: read the report, then change the data or the "
                "gate's parameters (--parameters) and run again; finished steps come from the "
                "cache"]
    return ["fix what the failed step's log says, then run the same command again: steps "
            "that finished come from the cache"]


def _outcome(execution: LocalExecution) -> str:
    ran = sum(r.status in ("Succeeded", "Failed", "Stopped") for r in execution.steps.values())
    cached = sum(r.cached for r in execution.steps.values())
    counts = f"{ran} of {len(execution.steps)} steps ran" + (
        f", {cached} from the cache" if cached else "")
    line = f"{execution.status} ({counts})"
    if execution.status == "Succeeded":
        return line
    failed = [r for r in execution.steps.values() if r.status == "Failed"]
    reason = execution.failure_reason or "stopped on request"
    lines = [f"{line}: {reason}"]
    lines += [f"  log of {r.name}: {r.log_path}" for r in failed if r.log_path]
    return "\n".join(lines)


def _gate_lines(gate: GateVerdict, store: LocalObjectStore) -> list[str]:
    lines = [f"Quality gate ({gate.step}): {'passed' if gate.passed else 'failed'}"]
    lines += [f"  {'PASS' if passed else 'FAIL'} {text or name}"
              for name, passed, text in gate.checks]
    lines.append(f"  report: {_local(store, gate.report_uri)}")
    return lines


def _gates_in_brief(gates: list[GateVerdict]) -> list[str]:
    """One line per gate: a passed one's headline check, a failed one's failed checks."""
    failed = sum(not gate.passed for gate in gates)
    lines = [f"Quality gates: {len(gates) - failed} passed, {failed} failed (the page links "
             "each report)"]
    for gate in gates:
        shown = ([text for _, _, text in gate.checks[:1]] if gate.passed
                 else [text for _, passed, text in gate.checks if not passed])
        lines.append(f"  {'PASS' if gate.passed else 'FAIL'} {gate.step}: {'; '.join(shown)}")
    return lines


def _multi_model_base(groups: list[str]) -> str | None:
    """BASE when several groups are named BASE-<segment>, deploy-model --multi-model's form."""
    if len(groups) < 2:
        return None
    prefix = os.path.commonprefix(groups)
    return prefix[:-1] if prefix.endswith("-") and len(prefix) > 1 else None


def _failed_fail_step(execution: LocalExecution) -> bool:
    return any(r.type == "Fail" and r.status == "Failed" for r in execution.steps.values())


def _local(store: LocalObjectStore, uri: str) -> str:
    try:
        return str(store.path_for(uri))
    except ValueError:
        return uri
