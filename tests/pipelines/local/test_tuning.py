"""Tuning steps: real trials with the definition's strategy, ranges, objective and limits."""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.store import local_store
from runtime.ports.model_registry import LocalModelRegistry

from . import definitions as d

pytestmark = pytest.mark.integration


def _max_overlap(summaries: list[dict]) -> int:
    events = []
    for s in summaries:
        events += [(dt.datetime.fromisoformat(s["TrainingStartTime"]), 1),
                   (dt.datetime.fromisoformat(s["TrainingEndTime"]), -1)]
    running = peak = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("strategy", ["Bayesian", "Random"])
class TestTuningRegistersTheBestModel:
    def test_trials_objective_and_top_model(self, local_root: Path, strategy: str):
        execution = run_local_pipeline(d.tuning_definition(strategy, max_jobs=6),
                                       local_root=local_root)

        assert execution.status == "Succeeded", execution.failure_reason
        tune = execution.steps["Tune"].properties
        summaries = tune["TrainingJobSummaries"]
        assert len(summaries) == 6
        values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
        assert values == sorted(values)  # Minimize: best first
        assert tune["BestTrainingJob"] == summaries[0]
        assert _max_overlap(summaries) <= 2
        for summary in summaries:
            tuned = summary["TunedHyperParameters"]
            assert tuned["kind"] in ("good", "bad")
            assert 1e-4 <= float(tuned["learning_rate"]) <= 1.0
        top_model = (f"s3://{d.BUCKET}/tuning/{summaries[0]['TrainingJobName']}"
                     "/output/model.tar.gz")
        assert local_store(local_root).exists(top_model)
        package = LocalModelRegistry(local_root).list_packages("fixture-models")[0]
        assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == top_model

    def test_same_seed_same_trials(self, local_root: Path, strategy: str):
        runs = [run_local_pipeline(d.tuning_definition(strategy, max_jobs=3),
                                   local_root=local_root, use_cache=False) for _ in range(2)]
        tried = [sorted(tuple(sorted(s["TunedHyperParameters"].items())) for s in
                        run.steps["Tune"].properties["TrainingJobSummaries"]) for run in runs]
        assert tried[0] == tried[1]


class TestLogarithmicRange:
    def test_random_samples_spread_over_decades(self, local_root: Path):
        execution = run_local_pipeline(d.tuning_definition("Random", max_jobs=8),
                                       local_root=local_root)
        rates = [float(s["TunedHyperParameters"]["learning_rate"]) for s in
                 execution.steps["Tune"].properties["TrainingJobSummaries"]]
        decades = {math.floor(math.log10(rate)) for rate in rates}
        # Linear sampling of [1e-4, 1] puts 99% of draws in the top decade.
        assert len(decades) >= 3


class TestGridAndFailures:
    def test_grid_tries_each_point_once(self, local_root: Path):
        definition = d.tuning_definition("Grid", max_jobs=10)
        ranges = definition["Steps"][1]["Arguments"]["HyperParameterTuningJobConfig"][
            "ParameterRanges"]
        ranges["ContinuousParameterRanges"] = []
        ranges["IntegerParameterRanges"] = [{"Name": "depth", "MinValue": "2", "MaxValue": "4",
                                             "ScalingType": "Auto"}]
        execution = run_local_pipeline(definition, local_root=local_root)

        tried = sorted((s["TunedHyperParameters"]["kind"], s["TunedHyperParameters"]["depth"])
                       for s in execution.steps["Tune"].properties["TrainingJobSummaries"])
        assert tried == [(k, str(n)) for k in ("bad", "good") for n in (2, 3, 4)]
        best = execution.steps["Tune"].properties["BestTrainingJob"]
        assert best["TunedHyperParameters"] == {"kind": "good", "depth": "3"}

    def test_all_trials_failing_fails_the_step(self, local_root: Path):
        definition = d.tuning_definition("Random", max_jobs=2)
        job = definition["Steps"][1]["Arguments"]["TrainingJobDefinition"]
        job["StaticHyperParameters"]["fail"] = "out of data"
        execution = run_local_pipeline(definition, local_root=local_root)

        assert execution.steps["Tune"].status == "Failed"
        assert execution.steps["Tune"].failure_reason == (
            "all 2 training jobs failed: out of data")  # each distinct reason once
        assert execution.steps["Register"].status == "NotRun"

    def test_objective_without_metric_regex_is_a_clear_failure(self, local_root: Path):
        definition = d.tuning_definition("Random", max_jobs=2)
        job = definition["Steps"][1]["Arguments"]["TrainingJobDefinition"]
        job["AlgorithmSpecification"]["MetricDefinitions"] = []
        execution = run_local_pipeline(definition, local_root=local_root)

        assert "objective metric 'validation:rmse' has no MetricDefinitions regex" in (
            execution.steps["Tune"].failure_reason)
