"""The view while a run goes: a live table on a terminal, plain log lines otherwise."""
from __future__ import annotations

import io
import logging

from rich.console import Console

from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.live_view import RunView


def _execution() -> LocalExecution:
    return LocalExecution(pipeline_name="topics", execution_id="abc123", execution_arn="arn",
                          local_root="/tmp/root", steps={
                              "Layer1": StepRecord("Layer1", "Training", status="Succeeded",
                                                   duration_s=1.5, summary="s3://b/model"),
                              "Tune": StepRecord("Tune", "Tuning", status="Executing"),
                              "MapLayer1": StepRecord("MapLayer1", "Callback",
                                                      status="Executing")})


class TestLiveTable:
    def test_terminal_shows_steps_trials_and_waiting_callbacks(self):
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=200, color_system=None)
        execution = _execution()
        with RunView(execution, "stop it with Ctrl-C", console=console) as view:
            view.started("Tune")
            view.started("MapLayer1")
            view.note("Tune", "trials 3/8 done (1 failed), 2 running, best 0.42")
            view.note("MapLayer1", "waiting for an answer to token AbC123xYz9: run "
                                   "`mapping-review accept s3://b/p/proposal.json`")
        text = out.getvalue()
        assert "topics abc123: Executing" in text
        assert "trials 3/8 done (1 failed), 2 running, best 0.42" in text
        assert "waiting for an answer to token AbC123xYz9" in text
        assert "s3://b/model" in text and "stop it with Ctrl-C" in text


class TestPlainLines:
    def test_not_a_terminal_logs_each_change_once(self, caplog):
        console = Console(file=io.StringIO(), force_terminal=False)
        with caplog.at_level(logging.INFO, logger="pipelines.local"):
            with RunView(_execution(), "stop", console=console) as view:
                view.note("Tune", "trials 1/8 done, 2 running")
                view.note("Tune", "trials 1/8 done, 2 running")
                view.note("Tune", "trials 2/8 done, 2 running")
        assert [r.getMessage() for r in caplog.records] == [
            "step Tune: trials 1/8 done, 2 running", "step Tune: trials 2/8 done, 2 running"]
        assert console.file.getvalue() == ""
