"""Local execution records on disk, and the executions whose runner died.

`executions/<id>.json` is written when an execution starts (status Executing), after each step
and when it ends; `executions/<id>.running` names the runner's pid while it runs (stopping.py).
A runner killed with SIGKILL, or by a second Ctrl-C (which exits at once), leaves both behind
with nothing to finish them. Whoever looks next (a new run, `run-pipeline --local --list`)
marks such an execution Failed, "interrupted", and removes its marker. Resuming is unaffected:
the step cache holds only steps that finished, and objects are written whole.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pipelines.local.execution import LocalExecution
from pipelines.local.stopping import EXECUTIONS_DIR, process_alive
from steps.common.atomic import write_bytes_atomic

INTERRUPTED = ("interrupted: its runner (pid {pid}) ended without finishing it (killed, or a "
               "second Ctrl-C); run the pipeline again to resume from the step cache")


def record_path(local_root: Path, execution_id: str) -> Path:
    return local_root / EXECUTIONS_DIR / f"{execution_id}.json"


def save_record(local_root: Path, execution: LocalExecution) -> None:
    """Write the execution's record whole (atomically), whatever its status."""
    write_bytes_atomic(record_path(local_root, execution.execution_id),
                 json.dumps(execution.to_dict(), indent=2, default=str).encode())


def recover_interrupted(local_root: str | os.PathLike[str]) -> list[str]:
    """Mark every execution whose runner is gone Failed ("interrupted"); return their ids."""
    directory = Path(local_root).resolve() / EXECUTIONS_DIR
    recovered = []
    for marker in sorted(directory.glob("*.running")):
        execution_id = marker.name.removesuffix(".running")
        try:
            pid = int(json.loads(marker.read_text()).get("pid", 0))
        except (OSError, ValueError, AttributeError):
            pid = 0  # written atomically, so unreadable means not ours to trust: treat as dead
        if process_alive(pid):
            continue
        _mark_interrupted(record_path(directory.parent, execution_id), execution_id, pid)
        for leftover in (marker, marker.with_suffix(".stop")):
            leftover.unlink(missing_ok=True)
        recovered.append(execution_id)
    return recovered


def _mark_interrupted(path: Path, execution_id: str, pid: int) -> None:
    try:
        record = json.loads(path.read_text())
        last_seen = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat()
    except (OSError, ValueError):
        record, last_seen = {"execution_id": execution_id, "steps": {}}, None
    reason = INTERRUPTED.format(pid=pid)
    record.update(status="Failed", failure_reason=reason,
                  end_time=record.get("end_time") or last_seen)
    for step in record.get("steps", {}).values():
        if step.get("status") == "Executing":
            step.update(status="Failed", failure_reason=reason)
    write_bytes_atomic(path, json.dumps(record, indent=2).encode())


def list_executions(local_root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every execution record under the root, oldest first, interrupted ones marked first."""
    recover_interrupted(local_root)
    records = []
    for path in (Path(local_root).resolve() / EXECUTIONS_DIR).glob("*.json"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a record is written atomically: this is not one of ours
    return sorted(records, key=lambda r: (r.get("start_time") or "", r.get("execution_id", "")))


def format_executions(records: list[dict[str, Any]]) -> str:
    """A table: id, pipeline, status, start time, duration, failure reason."""
    rows = [("EXECUTION", "PIPELINE", "STATUS", "STARTED", "DURATION", "REASON")]
    for r in records:
        rows.append((str(r.get("execution_id", "?")), str(r.get("pipeline_name", "?")),
                     str(r.get("status", "?")), str(r.get("start_time") or "-")[:19],
                     _duration(r.get("start_time"), r.get("end_time")),
                     str(r.get("failure_reason") or "")[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
                     + "  " + row[-1] for row in rows).rstrip()


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "-"
    seconds = (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
    minutes, seconds = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"
