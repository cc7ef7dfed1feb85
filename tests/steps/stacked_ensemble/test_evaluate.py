"""evaluate.py as a program: the report's shape, its JSON path for the condition, bad input."""
from __future__ import annotations

import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from steps.common.gate import GATE_FAILED_JSON_PATH
from steps.common.tabular_gate import GateSettings
from steps.stacked_ensemble import contract, inference
from steps.stacked_ensemble.evaluate import evaluate
from tests.steps.stacked_ensemble.step_runs import run_script

pytestmark = pytest.mark.integration


def _report(trained) -> dict:
    return json.loads((trained.evaluation_dir / contract.EVALUATION_REPORT).read_text())


def _json_path(document: dict, path: str):
    for key in path.split("."):
        document = document[key]
    return document


@pytest.mark.parametrize("trained_name", ["regression", "classification"])
def test_report_shape(request, trained_name):
    trained = request.getfixturevalue(trained_name)
    report = _report(trained)
    problem_type = trained.problem_type
    metrics = {"regression": {"rmse", "mae", "r2"},
               "classification": {"logloss", "accuracy", "f1_macro"}}[problem_type]
    assert report["problem_type"] == problem_type
    assert report["rows"] == {"regression": 66, "classification": 86}[problem_type]
    assert set(report["learners"]) == set(contract.LEARNERS[problem_type])
    assert set(report["combiners"]) == set(contract.COMBINERS[problem_type])
    section = report[contract.METRICS_SECTION[problem_type]]
    assert section == report["combiners"][report["chosen_combiner"]]
    assert set(section) == metrics
    for entry in section.values():
        assert set(entry) == {"value", "standard_deviation"} and entry["standard_deviation"] > 0
    assert isinstance(_json_path(report, contract.quality_json_path(problem_type)), float)
    assert set(report["baselines"]) == {"naive", "best_learner"}
    assert set(report["baselines"]["naive"]) == {"predicts", *metrics}
    assert report["baselines"]["best_learner"]["name"] in contract.LEARNERS[problem_type]
    assert _json_path(report, GATE_FAILED_JSON_PATH) == 0
    assert report["gate"]["passed"] is True
    assert [c["name"] for c in report["gate"]["checks"]] == [
        "beats_naive_baseline", "not_worse_than_best_learner", "absolute_threshold"]


def test_regression_is_judged_against_the_training_mean(regression):
    report = _report(regression)
    train = pd.read_csv(regression.splits / "train" / contract.DATA_FILE)
    test = pd.read_csv(regression.splits / "test" / contract.DATA_FILE)
    naive_rmse = float(np.sqrt(np.mean((test["progression"] - train["progression"].mean()) ** 2)))
    naive = report["baselines"]["naive"]
    assert naive["predicts"] == "the training mean"
    assert naive["rmse"]["value"] == pytest.approx(naive_rmse)
    ratio = report["regression_metrics"]["rmse"]["value"] / naive_rmse
    assert report["relative"]["rmse_ratio_to_naive"] == pytest.approx(ratio)
    assert ratio < 0.9
    assert report["relative"]["r2"] == report["regression_metrics"]["r2"]["value"]


def test_classification_is_judged_against_the_class_shares(classification):
    report = _report(classification)
    train = pd.read_csv(classification.splits / "train" / contract.DATA_FILE)
    test = pd.read_csv(classification.splits / "test" / contract.DATA_FILE)
    share = train["diagnosis"].mean()
    expected = -np.mean(np.where(test["diagnosis"] == 1, np.log(share), np.log(1 - share)))
    assert report["baselines"]["naive"]["logloss"]["value"] == pytest.approx(expected)
    relative = report["relative"]
    assert relative["naive_accuracy"] == pytest.approx((test["diagnosis"] == 1).mean())
    assert relative["accuracy"] > relative["naive_accuracy"]
    assert relative["auc"] > 0.95 and relative["naive_auc"] == 0.5
    assert relative["logloss_ratio_to_naive"] < 0.5


def test_a_model_without_signal_fails_the_gate_quoting_the_baseline(regression, tmp_path):
    shuffled = pd.read_csv(regression.splits / "test" / contract.DATA_FILE)
    shuffled["progression"] = shuffled["progression"].sample(frac=1, random_state=3).to_numpy()
    (tmp_path / "test").mkdir()
    shuffled.to_csv(tmp_path / "test" / contract.DATA_FILE, index=False)
    model = inference.model_fn(str(regression.model_dir))
    report = evaluate(model, tmp_path / "test", regression.splits / "train", GateSettings(), 42)
    gate = report["gate"]
    assert gate["passed"] is False and gate["failed"] >= 1
    naive = report["baselines"]["naive"]["rmse"]["value"]
    assert f"the naive baseline's {naive:.4g} (the training mean)" in gate["message"]
    assert "MinImprovementOverBaseline 0.1" in gate["message"]


def test_an_absolute_threshold_is_opt_in(regression):
    model = inference.model_fn(str(regression.model_dir))
    strict = evaluate(model, regression.splits / "test", regression.splits / "train",
                      GateSettings(absolute_threshold=1.0), 42)
    assert strict["gate"]["failed"] == 1
    rmse = strict["regression_metrics"]["rmse"]["value"]
    assert strict["gate"]["message"] == (f"test rmse {rmse:.4g}; QualityThreshold needs at "
                                         "most 1")


def test_regression_quality(regression):
    report = _report(regression)
    assert 40 < report["regression_metrics"]["rmse"]["value"] < 75
    assert 0.1 < report["regression_metrics"]["r2"]["value"] < 0.8


def test_classification_voting_scores(classification):
    report = _report(classification)
    for name in ("hard_vote", "soft_vote", "weighted", "stack"):
        assert report["combiners"][name]["accuracy"]["value"] > 0.9
    assert report["classification_metrics"]["accuracy"]["value"] > 0.9


def test_hard_vote_is_the_majority_of_learner_labels(classification):
    model = inference.model_fn(str(classification.model_dir))
    body = "\n".join((classification.splits / "test" / contract.DATA_FILE).read_text()
                     .splitlines()[1:])
    body = "\n".join(line.split(",", 1)[1] for line in body.splitlines())  # drop the target
    x = inference.features_frame(inference.input_fn(body, "text/csv"), model)
    learners, combined = model.predict_all(x)
    votes = np.stack([p.argmax(axis=1) for p in learners.values()])
    majority = (votes.sum(axis=0) >= 2).astype(int)  # 3 learners, 2 classes: no ties
    np.testing.assert_array_equal(combined["hard_vote"].argmax(axis=1), majority)
    soft = np.mean(list(learners.values()), axis=0)
    np.testing.assert_allclose(combined["soft_vote"], soft)


def test_reads_model_tar_gz_like_the_extracted_directory(regression, tmp_path):
    (tmp_path / "artifact").mkdir()
    with tarfile.open(tmp_path / "artifact" / "model.tar.gz", "w:gz") as tar:
        for path in regression.model_dir.iterdir():
            tar.add(path, arcname=path.name)
    run = run_script("evaluate.py", ["--model-dir", str(tmp_path / "artifact"), "--test-dir",
                                     str(regression.splits / "test"), "--train-dir",
                                     str(regression.splits / "train"), "--output-dir",
                                     str(tmp_path / "eval")], tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "eval" / contract.EVALUATION_REPORT).read_text()) == \
        _report(regression)


def test_evaluate_function_matches_program(regression):
    model = inference.model_fn(str(regression.model_dir))
    assert evaluate(model, regression.splits / "test", regression.splits / "train",
                    GateSettings(), seed=42) == _report(regression)


def test_no_model_fails_with_reason(tmp_path, regression):
    run = run_script("evaluate.py", ["--model-dir", str(tmp_path), "--test-dir",
                                     str(regression.splits / "test"), "--output-dir",
                                     str(tmp_path / "eval")], tmp_path)
    assert run.returncode == 1
    reason = (f"{tmp_path} holds neither model.tar.gz nor an extracted model (metadata.json); "
              "pass the training job's model artifact")
    assert run.stderr.strip() == reason
    assert run.failure == reason + "\n"


def test_test_split_without_target_fails(tmp_path, regression):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "data.csv").write_text("age,bmi\n1,2\n")
    run = run_script("evaluate.py", ["--model-dir", str(regression.model_dir), "--test-dir",
                                     str(tmp_path / "test"), "--output-dir",
                                     str(tmp_path / "eval")], tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip() == "test split has no target column 'progression'; columns " \
                                 "found: age, bmi"
