"""The scale bench's arithmetic: nested subsets, the per-step figures, the linear fit."""
from __future__ import annotations

import pandas as pd
import pytest

from bench.topic_pipeline_scale_bench import (
    gate_outcome,
    linear_fit,
    scale_report,
    step_figures,
    subset,
)


def records(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"d{i}" for i in range(n)], "title": "t", "description": "d",
                         "details": "", "coarse": "noun", "fine": "noun.act"})


def test_each_size_holds_the_smaller_ones_with_the_label_column():
    small, large = subset(records(100), 10, 42), subset(records(100), 30, 42)
    assert list(small.columns) == ["id", "title", "description", "details", "label"]
    assert set(small["id"]) < set(large["id"]) and len(large) == 30
    assert small.equals(subset(records(100), 10, 42))  # seeded


def test_a_size_larger_than_the_corpus_is_refused():
    with pytest.raises(SystemExit, match="more than the corpus's 100 documents"):
        subset(records(100), 101, 42)


def test_linear_times_fit_exactly_and_a_flat_step_deviates():
    exact = linear_fit([10_000, 30_000, 100_000], [12.0, 32.0, 102.0])
    assert exact["a_s"] == 2.0 and exact["b_ms_per_doc"] == 1.0
    assert exact["max_abs_deviation_pct"] == 0.0
    # three sizes leave the fit one degree of freedom: only a clear bend shows
    flat_then_rising = linear_fit([10_000, 30_000, 100_000], [100.0, 100.0, 400.0])
    assert flat_then_rising["max_abs_deviation_pct"] > 20


def step(status: str, seconds: float, cpu: float | None, rss: float | None) -> dict:
    return {"status": status, "duration_s": seconds, "cpu_s": cpu, "peak_rss_mib": rss}


def test_the_report_holds_each_job_steps_figures_and_fits_but_no_jobless_step():
    runs = {n: {"total_wall_s": n / 100, "record": {"steps": {
        "Embed": step("Succeeded", n / 1000, n / 500, 900.0),
        "CheckQuality": step("Succeeded", 0.01, None, None)}}} for n in (1000, 2000, 4000)}
    assert step_figures(runs[1000]["record"]) == {
        "Embed": {"wall_s": 1.0, "cpu_s": 2.0, "peak_rss_mib": 900.0}}
    report = scale_report(runs)
    assert list(report["steps"]) == ["Embed"]
    assert report["steps"]["Embed"]["fit_cpu_s"]["b_ms_per_doc"] == 2.0
    assert report["runs"]["4000"] == {"total_wall_s": 40.0}


def test_a_run_refused_by_its_quality_gate_counts_and_any_other_failure_does_not():
    gate = {"type": "Fail", "status": "Failed", "failure_reason": "Not registered: coherence"}
    job = {"type": "Processing", "status": "Failed", "failure_reason": "killed"}
    ran = {"type": "Processing", "status": "Succeeded"}
    assert gate_outcome(0, {"steps": {"Embed": ran}}) == "passed"
    assert gate_outcome(1, {"steps": {"Embed": ran, "TooLow": gate}}) == "Not registered: coherence"
    assert gate_outcome(1, {"steps": {"Embed": job}}) is None
    assert gate_outcome(2, {"steps": {}}) is None and gate_outcome(0, None) is None
