"""What a person sees at the end of a run: a table of steps with their key outputs."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pipelines.local.execution import LocalExecution

STATUS_STYLE = {"Executing": "cyan", "Succeeded": "green", "Failed": "red",
                "Stopped": "magenta", "Skipped": "dim", "NotRun": "yellow"}


def print_summary(execution: LocalExecution, console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    table = Table(title=f"{execution.pipeline_name} {execution.execution_id}: "
                        f"{execution.status}")
    for column in ("Step", "Type", "Status", "Time", "Key outputs"):
        table.add_column(column, overflow="fold")
    for record in execution.steps.values():
        status = record.status + (" (cached)" if record.cached else "") + (
            f" ({record.attempts} attempts)" if record.attempts > 1 else "")
        seconds = f"{record.duration_s:.1f}s" if record.duration_s is not None else ""
        detail = record.summary
        if record.failure_reason:
            detail = record.failure_reason + (f"\nlog: {record.log_path}" if record.log_path
                                              else "")
        table.add_row(record.name, record.type,
                      f"[{STATUS_STYLE.get(record.status, '')}]{status}[/]", seconds, detail)
    console.print(table)
