"""A job's resource usage: reaped with wait4, recorded on its step's record."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.jobs import JobUsage
from pipelines.local.report import steps_table, summary_console

from . import definitions as d

# Runs the local runner in a fresh process, which first holds `ballast` MB of its own: the
# runner's size must be known, since a job's peak counts its copy of the runner before exec.
RUNNER = """
import json, sys
from pipelines.local import run_local_pipeline
definition, root, ballast = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
held = b"x" * (ballast * 2**20)
execution = run_local_pipeline(definition, local_root=root)
assert execution.status == "Succeeded", execution.failure_reason
record = execution.steps["Allocate"]
print(json.dumps({"cpu_s": record.cpu_s, "peak_rss_mib": record.peak_rss_mib,
                  "duration_s": record.duration_s}))
"""


def _allocate_step_record(local_root: Path, ballast_mb: int) -> dict:
    definition = d.chain_definition()
    definition["Steps"] = [d.processing("Allocate", "allocate.py", [], {}, [])]
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(definition),
                           str(local_root), str(ballast_mb)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[3])
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.integration
def test_a_steps_record_holds_its_jobs_cpu_seconds_and_the_largest_process_peak_rss(
        local_root: Path):
    record = _allocate_step_record(local_root, ballast_mb=0)
    # the child's 250 MB, not the parent's 120 MB nor their sum; and both processes' CPU
    assert 250 < record["peak_rss_mib"] < 370
    assert 0.6 <= record["cpu_s"] <= record["duration_s"] * (os.cpu_count() or 1)
    saved = json.loads(next((local_root / "executions").rglob("*.json")).read_text())
    assert saved["steps"]["Allocate"]["peak_rss_mib"] == record["peak_rss_mib"]


@pytest.mark.integration
def test_a_peak_no_higher_than_the_runners_own_is_unknown_not_the_runners(local_root: Path):
    record = _allocate_step_record(local_root, ballast_mb=600)  # the runner > the job's 250
    assert record["peak_rss_mib"] is None
    assert record["cpu_s"] >= 0.6


def test_a_steps_jobs_add_their_cpu_and_keep_the_largest_known_peak():
    assert JobUsage(1.5, 300.0) + JobUsage(2.0, 200.0) == JobUsage(3.5, 300.0)
    assert JobUsage(1.5, None) + JobUsage(2.0, 200.0) == JobUsage(3.5, 200.0)
    assert JobUsage(1.0, None) + JobUsage(2.0, None) == JobUsage(3.0, None)


def test_the_summary_table_shows_a_steps_cpu_seconds_and_peak_rss():
    execution = LocalExecution("Demo", "abc", "arn", "/root", steps={
        "Embed": StepRecord("Embed", "Processing", "Succeeded", duration_s=12.34, cpu_s=20.06,
                            peak_rss_mib=870.6),
        "Small": StepRecord("Small", "Processing", "Succeeded", duration_s=0.71, cpu_s=0.6),
        "Check": StepRecord("Check", "Condition", "Succeeded", duration_s=0.01)})
    output = io.StringIO()
    summary_console(output).print(steps_table(execution))
    rows = {line.split()[1]: line for line in output.getvalue().splitlines()
            if line.startswith("│ ")}
    assert "12.3s (CPU 20.1s, 871 MiB)" in rows["Embed"]
    assert "0.7s (CPU 0.6s)" in rows["Small"]  # its peak no higher than the runner's: unknown
    assert "0.0s " in rows["Check"] and "CPU" not in rows["Check"]
