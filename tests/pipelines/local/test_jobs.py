"""A job's resource usage: reaped with wait4, recorded on its step's record."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.jobs import JobUsage
from pipelines.local.report import steps_table, summary_console

from . import definitions as d


@pytest.mark.integration
def test_a_steps_record_holds_its_jobs_cpu_seconds_and_the_largest_process_peak_rss(
        local_root: Path):
    definition = d.chain_definition()
    definition["Steps"] = [d.processing("Allocate", "allocate.py", [], {}, [])]

    execution = run_local_pipeline(definition, local_root=local_root)

    assert execution.status == "Succeeded", execution.failure_reason
    record = execution.steps["Allocate"]
    # the child's 250 MB, not the parent's 120 MB nor their sum; and both processes' CPU
    assert 250 < record.peak_rss_mib < 370
    assert 0.6 <= record.cpu_s <= record.duration_s * (os.cpu_count() or 1)
    saved = json.loads(next((local_root / "executions").rglob("*.json")).read_text())
    assert saved["steps"]["Allocate"]["peak_rss_mib"] == record.peak_rss_mib


def test_a_steps_jobs_add_their_cpu_and_keep_the_largest_peak():
    assert JobUsage(1.5, 300.0) + JobUsage(2.0, 200.0) == JobUsage(3.5, 300.0)


def test_the_summary_table_shows_a_steps_cpu_seconds_and_peak_rss():
    execution = LocalExecution("Demo", "abc", "arn", "/root", steps={
        "Embed": StepRecord("Embed", "Processing", "Succeeded", duration_s=12.34, cpu_s=20.06,
                            peak_rss_mib=870.6),
        "Check": StepRecord("Check", "Condition", "Succeeded", duration_s=0.01)})
    output = io.StringIO()
    summary_console(output).print(steps_table(execution))
    rows = {line.split()[1]: line for line in output.getvalue().splitlines()
            if line.startswith("│ ")}
    assert "12.3s (CPU 20.1s, 871 MiB)" in rows["Embed"]
    assert "0.0s " in rows["Check"] and "CPU" not in rows["Check"]
