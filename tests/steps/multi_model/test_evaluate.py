"""Evaluation: one report per segment, read by the definition through a PropertyFile."""
from __future__ import annotations

import json
import shutil
from functools import reduce

import numpy as np
import pandas as pd
import pytest

from steps.common import metrics
from steps.common.gate import GATE_FAILED_JSON_PATH
from steps.common.tabular_gate import GateSettings
from steps.multi_model import contract, evaluate, inference
from tests.steps.multi_model.conftest import IDS, PROGRAM_SEGMENT, run_script

pytestmark = pytest.mark.integration


def json_get(document: dict, path: str):
    """What Std:JsonGet reads for a dotted path."""
    return reduce(lambda node, key: node[key], path.split("."), document)


def report_of(pipeline_run, ident: str) -> dict:
    return json.loads((pipeline_run.evaluation_dir(ident)
                       / contract.EVALUATION_REPORT).read_text())


class TestReport:
    def test_layout_and_json_paths(self, pipeline_run):
        for city, ident in IDS.items():
            report = report_of(pipeline_run, ident)
            assert (report["segment"], report["segment_id"], report["rows"]) == (city, ident, 20)
            assert set(report[contract.METRICS_SECTION]) == set(contract.METRICS)
            for metric in contract.METRICS:
                value = json_get(report, contract.metric_json_path(metric))
                assert isinstance(value, float)
                assert report[contract.METRICS_SECTION][metric]["standard_deviation"] > 0

    def test_values_are_the_models_test_scores(self, pipeline_run):
        model = inference.model_fn(str(pipeline_run.model_dir("chicago")))
        test = pd.read_csv(pipeline_run.segment_dir("chicago") / contract.TEST_FILE)
        expected = metrics.score(False, test["price"].to_numpy(), model.predict(test))
        section = report_of(pipeline_run, "chicago")[contract.METRICS_SECTION]
        assert {m: section[m]["value"] for m in contract.METRICS} == pytest.approx(expected)
        assert expected["r2"] > 0.8

    def test_the_gate_compares_with_the_training_mean(self, pipeline_run):
        report = report_of(pipeline_run, "chicago")
        train = pd.read_csv(pipeline_run.segment_dir("chicago") / contract.TRAIN_FILE)
        test = pd.read_csv(pipeline_run.segment_dir("chicago") / contract.TEST_FILE)
        naive = metrics.rmse(test["price"].to_numpy(), np.full(len(test), train["price"].mean()))
        assert report["baselines"]["naive"]["rmse"]["value"] == pytest.approx(naive)
        ratio = report[contract.METRICS_SECTION]["rmse"]["value"] / naive
        assert report["relative"]["rmse_ratio_to_naive"] == pytest.approx(ratio)
        assert ratio < 0.6
        assert json_get(report, GATE_FAILED_JSON_PATH) == 0
        assert report["gate"]["message"].startswith("passed: rmse")

    def test_a_segment_without_signal_fails_its_gate_quoting_the_baseline(self, tmp_path,
                                                                          pipeline_run):
        segment = tmp_path / "segment"
        shutil.copytree(pipeline_run.segment_dir("chicago"), segment)
        test = pd.read_csv(segment / contract.TEST_FILE)
        test["price"] = np.random.default_rng(5).permutation(test["price"].to_numpy())
        test.to_csv(segment / contract.TEST_FILE, index=False)
        model = inference.model_fn(str(pipeline_run.model_dir("chicago")))
        report = evaluate.evaluate(model, segment, GateSettings(), seed=42)
        assert report["gate"]["failed"] == 1
        naive = report["baselines"]["naive"]["rmse"]["value"]
        assert f"the naive baseline's {naive:.4g} (the training mean)" in \
            report["gate"]["message"]

    def test_an_r2_bar_is_opt_in(self, pipeline_run):
        model = inference.model_fn(str(pipeline_run.model_dir("chicago")))
        report = evaluate.evaluate(model, pipeline_run.segment_dir("chicago"),
                                   GateSettings(absolute_threshold=0.999), seed=42)
        r2 = report[contract.METRICS_SECTION]["r2"]["value"]
        assert report["gate"]["message"] == (f"test r2 {r2:.4g}; QualityThreshold needs at "
                                              "least 0.999")

    def test_the_program_logs_the_test_metrics(self, pipeline_run):
        assert "segment New York: test metrics on 20 rows" in \
            pipeline_run.evaluate[PROGRAM_SEGMENT].stdout

    def test_an_extracted_model_directory_works_too(self, tmp_path, pipeline_run):
        report = evaluate.run(evaluate.build_parser().parse_args([
            "--model-dir", str(pipeline_run.model_dir("chicago")), "--segment-dir",
            str(pipeline_run.segment_dir("chicago")), "--output-dir", str(tmp_path)]))
        assert report == report_of(pipeline_run, "chicago")


class TestBadInput:
    def test_a_model_wired_to_another_segments_data_fails(self, tmp_path, pipeline_run):
        result = run_script("evaluate.py", [
            "--model-dir", str(pipeline_run.model_dir("chicago")), "--segment-dir",
            str(pipeline_run.segment_dir("san-diego")), "--output-dir", str(tmp_path / "out")],
            tmp_path)
        message = ("the model is for segment 'Chicago' but the test data is for 'San Diego'; "
                   "wire each segment's model to its own data")
        assert (result.returncode, result.stderr.strip()) == (1, message)
        assert result.failure.strip() == message
        assert not (tmp_path / "out").exists()

    def test_a_folder_without_a_model(self, tmp_path, pipeline_run):
        with pytest.raises(evaluate.InvalidData, match="holds neither model.tar.gz nor an "
                                                       "extracted model"):
            evaluate.run(evaluate.build_parser().parse_args([
                "--model-dir", str(tmp_path), "--segment-dir",
                str(pipeline_run.segment_dir("chicago")), "--output-dir", str(tmp_path)]))
