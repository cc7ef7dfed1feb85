"""What a person sees while a run goes: step states, tuning trials, waiting callbacks.

On a terminal a rich Live table redraws in place (log lines print above it); when stderr is
not a terminal (CI logs, files) every change of what a step is doing is one plain log line.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipelines.local.execution import LocalExecution
from pipelines.local.report import STATUS_STYLE

logger = logging.getLogger("pipelines.local")


class RunView:
    def __init__(self, execution: LocalExecution, stop_hint: str,
                 console: Console | None = None, live: bool | None = None):
        self.execution = execution
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal if live is None else live
        self._stop_hint = stop_hint
        self._notes: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._swapped: list[tuple[logging.StreamHandler, object]] = []

    def __enter__(self) -> RunView:
        if self.live:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                              transient=True, redirect_stderr=True, redirect_stdout=True,
                              get_renderable=self._render)
            original = sys.stderr
            self._live.start()
            self._route_logging(original, sys.stderr)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._live is not None:
            self._restore_logging()
            self._live.stop()
            self._live = None

    def started(self, step_name: str) -> None:
        with self._lock:
            self._started[step_name] = time.monotonic()
            self._notes.pop(step_name, None)

    def note(self, step_name: str, text: str) -> None:
        """What the step does now; logged once per change when there is no live table."""
        with self._lock:
            if self._notes.get(step_name) == text:
                return
            self._notes[step_name] = text
        if self._live is not None:
            self._live.refresh()
        elif not self.live:
            logger.info("step %s: %s", step_name, text)

    def _render(self) -> Group:
        execution = self.execution
        table = Table(title=f"{execution.pipeline_name} {execution.execution_id}: "
                            f"{execution.status}", title_justify="left")
        for column in ("Step", "Type", "Status", "Time", "Now"):
            table.add_column(column, overflow="fold")
        now = time.monotonic()
        with self._lock:
            for record in execution.steps.values():
                if record.status == "Executing":
                    seconds = f"{now - self._started.get(record.name, now):.0f}s"
                    detail = self._notes.get(record.name, "")
                else:
                    seconds = (f"{record.duration_s:.1f}s" if record.duration_s is not None
                               else "")
                    detail = record.failure_reason or record.summary
                status = record.status + (" (cached)" if record.cached else "")
                table.add_row(record.name, record.type,
                              Text(status, style=STATUS_STYLE.get(record.status, "")),
                              seconds, detail)
        return Group(table, Text(self._stop_hint, style="dim"))

    def _route_logging(self, original: object, redirected: object) -> None:
        """Log lines go through Live's redirected stderr, so they print above the table."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(
                    handler, "stream", None) in (original, sys.__stderr__):
                self._swapped.append((handler, handler.setStream(redirected)))

    def _restore_logging(self) -> None:
        for handler, previous in self._swapped:
            handler.setStream(previous)
        self._swapped.clear()
