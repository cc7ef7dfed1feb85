"""What a person sees at the end of a local run: the steps, then what came of it and what to
do next.

Three endings: Succeeded (the gate's figures, the registered version, the commands that
approve and deploy it), a Fail step (the gate's figures that stopped it), a failed step (its
reason and log). Every ending names the execution page. Paths and commands are never
wrapped into fragments: without a terminal the console is as wide as its longest line.
"""
from __future__ import annotations

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
        table.add_row(record.name, record.type,
                      Text(status, style=STATUS_STYLE.get(record.status, "")), seconds,
                      record.failure_reason or record.summary)
    return table


def summary_text(execution: LocalExecution, digest: ExecutionDigest, page: Path | None) -> str:
    """The outcome, the gates' figures, where things are and the next commands, as plain
    lines (the page and the tests read the same text)."""
    store = LocalObjectStore(execution.local_root)
    lines = [_outcome(execution)]
    for gate in digest.gates:
        lines += _gate_lines(gate, store)
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
        steps = []
        for version in digest.registered:
            reference = shlex.quote(version.reference)
            if version.status != APPROVED:
                description = shlex.quote(f"reviewed execution {execution.execution_id}")
                steps.append(f"model-registry approve {reference} --local {root} "
                             f"--description {description}")
            steps.append(f"deploy-model {reference} --local --local-root {root}")
        return steps or ["nothing was registered: the page shows each step's outputs"]
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


def _failed_fail_step(execution: LocalExecution) -> bool:
    return any(r.type == "Fail" and r.status == "Failed" for r in execution.steps.values())


def _local(store: LocalObjectStore, uri: str) -> str:
    try:
        return str(store.path_for(uri))
    except ValueError:
        return uri
