"""train.py as a program: metric lines read by the definition's regexes, artifacts, leakage."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from catboost import CatBoostRegressor

from steps.stacked_ensemble import combiners, contract, ensemble
from steps.stacked_ensemble.features import FeatureSpec, coerce
from steps.stacked_ensemble.learners import LearnerSettings, fit_learners
from steps.stacked_ensemble.out_of_fold import refit_rounds
from steps.stacked_ensemble.task import Task
from tests.steps.stacked_ensemble.step_runs import FAST_HYPERPARAMETERS, run_script

pytestmark = pytest.mark.integration


def _metric(stdout: str, split: str, metric: str, subject: str | None = None) -> float:
    """Read one metric the way SageMaker does: with the definition's regex."""
    regex = contract.metric_definition(split, metric, subject)["Regex"]
    found = re.findall(regex, stdout)
    assert len(found) == 1, (regex, found)
    return float(found[0])


def _metadata(trained) -> dict:
    return json.loads((trained.model_dir / contract.MODEL_METADATA).read_text())


def _subjects(problem_type: str) -> list[str]:
    return [*contract.LEARNERS[problem_type], *contract.COMBINERS[problem_type]]


class TestMetricLines:
    @pytest.mark.parametrize("trained_name", ["regression", "classification"])
    def test_every_learner_and_combiner_has_a_line(self, request, trained_name):
        trained = request.getfixturevalue(trained_name)
        objective = contract.OBJECTIVE_METRIC[trained.problem_type]
        metrics = _metadata(trained)["metrics"]
        for subject in _subjects(trained.problem_type):
            assert _metric(trained.train.stdout, "validation", objective, subject) == \
                pytest.approx(metrics["validation"][subject][objective], abs=1e-6)
        for combiner in contract.COMBINERS[trained.problem_type]:
            assert _metric(trained.train.stdout, "oof", objective, combiner) == \
                pytest.approx(metrics["oof"][combiner][objective], abs=1e-6)

    @pytest.mark.parametrize("trained_name", ["regression", "classification"])
    def test_objective_line_is_the_chosen_combiner(self, request, trained_name):
        trained = request.getfixturevalue(trained_name)
        objective = contract.OBJECTIVE_METRIC[trained.problem_type]
        metadata = _metadata(trained)
        chosen = metadata["chosen_combiner"]
        value = _metric(trained.train.stdout, "validation", objective)
        assert value == _metric(trained.train.stdout, "validation", objective, chosen)
        oof = metadata["metrics"]["oof"]
        scores = {c: oof[c][objective] for c in contract.COMBINERS[trained.problem_type]}
        assert chosen == min(scores, key=scores.get)

    def test_classification_prints_accuracy_and_voting(self, classification):
        out = classification.train.stdout
        for subject in ("hard_vote", "soft_vote", "stack", "linear"):
            assert 0.85 < _metric(out, "validation", "accuracy", subject) <= 1.0
        assert 0.85 < _metric(out, "validation", "accuracy") <= 1.0
        assert _metric(out, "validation", "logloss", "soft_vote") < 0.3

    def test_regression_has_a_kernel_line_and_classification_none(self, regression,
                                                                   classification):
        assert 40 < _metric(regression.train.stdout, "validation", "rmse", "kernel") < 80
        assert 40 < _metric(regression.train.stdout, "oof", "rmse", "kernel") < 80
        assert "-kernel:" not in classification.train.stdout

    def test_regression_quality_is_sane(self, regression):
        # Small settings and 3 folds: loose bounds; the benchmark measures the real quality.
        assert 45 < _metric(regression.train.stdout, "oof", "rmse", "mean") < 65
        assert 45 < _metric(regression.train.stdout, "validation", "rmse") < 70


class TestArtifacts:
    @pytest.mark.parametrize("trained_name", ["regression", "classification"])
    def test_model_directory(self, request, trained_name):
        trained = request.getfixturevalue(trained_name)
        names = {p.name for p in trained.model_dir.iterdir()}
        kernel = {"kernel.joblib"} if trained.problem_type == "regression" else set()
        assert names == {"catboost.cbm", "xgboost.json", "linear.joblib", "encoder.joblib",
                         "learners.json", contract.COMBINER_FILE, contract.FOLDS_FILE,
                         contract.MODEL_METADATA, "serving.json", *kernel}
        assert json.loads((trained.model_dir / "serving.json").read_text()) == {
            "handler": "steps.stacked_ensemble.inference"}
        assert json.loads((trained.model_dir / "xgboost.json").read_text())["learner"]
        combiner = json.loads((trained.model_dir / contract.COMBINER_FILE).read_text())
        assert set(combiner["combiners"]) == set(contract.COMBINERS[trained.problem_type])
        assert combiner["chosen"] in combiner["combiners"]

    def test_metadata(self, regression):
        metadata = _metadata(regression)
        assert metadata["target"] == "progression"
        assert metadata["problem_type"] == "regression"
        kinds = {f["name"]: f["kind"] for f in metadata["features"]}
        assert kinds["site"] == "categorical" and kinds["bmi"] == "numeric"
        assert "progression" not in kinds and "notes" not in kinds
        assert metadata["learners"] == ["catboost", "xgboost", "linear", "kernel"]
        assert metadata["files"]["kernel"] == "kernel.joblib"
        assert metadata["hyperparameters"]["num_round"] == 40
        assert metadata["hyperparameters"]["eta"] == 0.1
        assert metadata["hyperparameters"]["target_transform"] == "none"
        assert metadata["seed"] == 42 and metadata["k_fold"] == 3
        assert {"xgboost", "catboost", "scikit-learn"} <= set(metadata["versions"])
        assert metadata["rows"] == {"train": 310, "validation": 66}
        assert metadata["model_format"] == contract.MODEL_FORMAT

    def test_classification_metadata_and_weights(self, classification):
        metadata = _metadata(classification)
        assert metadata["classes"] == [0, 1]
        assert metadata["learners"] == ["catboost", "xgboost", "linear"]
        weights = json.loads((classification.model_dir / contract.COMBINER_FILE).read_text())[
            "combiners"]["weighted"]["weights"]
        assert min(weights) >= 0 and sum(weights) == pytest.approx(1.0)

    def test_regression_stack_is_non_negative(self, regression):
        stack = json.loads((regression.model_dir / contract.COMBINER_FILE).read_text())[
            "combiners"]["stack"]
        assert min(stack["coefficients"]) >= 0

    def test_output_data_metrics(self, regression):
        summary = json.loads((regression.output_data_dir / "metrics.json").read_text())
        assert summary["objective"] == "rmse"
        assert summary["validation"]["ensemble"] == summary["validation"][
            summary["chosen_combiner"]]

    def test_same_seed_same_model(self, regression, tmp_path):
        env = {"SM_MODEL_DIR": str(tmp_path / "model"),
               "SM_OUTPUT_DATA_DIR": str(tmp_path / "out")}
        again = run_script("train.py", ["--train", str(regression.splits / "train"),
                                        "--validation", str(regression.splits / "validation"),
                                        "--problem_type", "regression", "--target_column",
                                        "progression", *FAST_HYPERPARAMETERS], tmp_path, env)
        assert again.returncode == 0, again.stderr
        lines = [ln for ln in again.stdout.splitlines() if ln.endswith(";")]
        assert lines == [ln for ln in regression.train.stdout.splitlines() if ln.endswith(";")]
        for name in (contract.FOLDS_FILE, contract.COMBINER_FILE):
            assert (tmp_path / "model" / name).read_bytes() == \
                (regression.model_dir / name).read_bytes()


class TestBoosterRounds:
    """Early stopping inside each fold; the refit's rounds follow from the folds' choices."""

    def test_rounds_per_fold_and_refit_are_in_the_metadata(self, regression):
        metadata = _metadata(regression)
        rounds = metadata["boosting_rounds"]
        settings = LearnerSettings(**metadata["hyperparameters"])
        fold_rounds = [{name: rounds[name]["folds"][i] for name in rounds} for i in range(3)]
        assert refit_rounds(fold_rounds, settings, k_fold=3) == {
            name: rounds[name]["refit"] for name in ("catboost", "xgboost")}
        for name, cap in (("catboost", 40), ("xgboost", 40)):
            assert len(rounds[name]["folds"]) == 3
            assert all(1 <= r <= cap for r in rounds[name]["folds"])
        booster = xgb.Booster()
        booster.load_model(str(regression.model_dir / "xgboost.json"))
        assert booster.num_boosted_rounds() == rounds["xgboost"]["refit"]
        catboost = CatBoostRegressor()
        catboost.load_model(str(regression.model_dir / "catboost.cbm"))
        assert catboost.tree_count_ == rounds["catboost"]["refit"]

    def test_refit_rounds_is_the_grown_median_under_the_cap(self):
        settings = LearnerSettings(num_round=300, catboost_iterations=1000,
                                   early_stopping_fraction=0.2)
        folds = [{"xgboost": x, "catboost": c} for x, c in ((100, 10), (400, 30), (160, 20),
                                                              (120, 900))]
        # A fold's booster fitted 3/4 * 0.8 = 0.6 of the rows: growth sqrt(1 / 0.6) = 1.29.
        assert refit_rounds(folds, settings, k_fold=4) == {"xgboost": 181, "catboost": 32}
        assert refit_rounds([{"xgboost": 290, "catboost": 1}] * 3, settings, 4)["xgboost"] == 300


def test_log_transform_reports_and_serves_the_target_scale(regression, tmp_path):
    """Diabetes progression (25-346) trained on its log: the printed metrics and the saved
    model's predictions are on the progression scale, and agree."""
    run = run_script("train.py", ["--train", str(regression.splits / "train"), "--validation",
                                  str(regression.splits / "validation"), "--model-dir",
                                  str(tmp_path / "model"), "--output-data-dir",
                                  str(tmp_path / "out"), "--problem_type", "regression",
                                  "--target_column", "progression", "--target_transform", "log",
                                  *FAST_HYPERPARAMETERS], tmp_path)
    assert run.returncode == 0, run.stderr
    model = ensemble.load(tmp_path / "model")
    assert model.metadata["hyperparameters"]["target_transform"] == "log"
    valid = pd.read_csv(regression.splits / "validation" / contract.DATA_FILE,
                        dtype=model.spec.csv_dtypes())
    x = coerce(valid.drop(columns=["progression"]), model.spec, "validation")
    y = valid["progression"].to_numpy(dtype=float)
    learner_preds, combined = model.predict_all(x)
    printed = _metric(run.stdout, "validation", "rmse")
    assert printed == pytest.approx(np.sqrt(np.mean((combined[model.chosen] - y) ** 2)),
                                    abs=1e-5)
    assert 40 < printed < 80
    for name in contract.LEARNERS["regression"]:
        assert _metric(run.stdout, "validation", "rmse", name) == pytest.approx(
            np.sqrt(np.mean((learner_preds[name] - y) ** 2)), abs=1e-5)


class TestLeakageGuard:
    """The meta-models must see only predictions from learners that never saw the row."""

    @pytest.mark.parametrize("trained_name", ["regression", "classification"])
    def test_folds_partition_rows(self, request, trained_name):
        trained = request.getfixturevalue(trained_name)
        folds = json.loads((trained.model_dir / contract.FOLDS_FILE).read_text())
        rows = folds["rows"]
        seen = np.concatenate([f["oof"] for f in folds["folds"]])
        assert sorted(seen.tolist()) == list(range(rows))  # each row in exactly one OOF fold
        for fold in folds["folds"]:
            assert not set(fold["train"]) & set(fold["oof"])
            assert sorted(fold["train"] + fold["oof"]) == list(range(rows))
        table = pd.read_csv(trained.output_data_dir / "oof_predictions.csv")
        for number, fold in enumerate(folds["folds"]):
            assert sorted(table.index[table["fold"] == number].tolist()) == sorted(fold["oof"])

    def test_oof_predictions_come_from_models_fitted_without_the_row(self, regression):
        """Refit the learners on one fold's training rows only: they reproduce the saved OOF
        predictions for that fold's rows, so those rows were not in their training data."""
        metadata = _metadata(regression)
        spec = FeatureSpec.from_json(metadata["features"])
        train = pd.read_csv(regression.splits / "train" / contract.DATA_FILE,
                            dtype=spec.csv_dtypes())
        x = coerce(train.drop(columns=["progression"]), spec, "train")
        y = train["progression"].to_numpy(dtype=float)
        folds = json.loads((regression.model_dir / contract.FOLDS_FILE).read_text())["folds"]
        table = pd.read_csv(regression.output_data_dir / "oof_predictions.csv")
        settings = LearnerSettings(**metadata["hyperparameters"])
        task = Task("regression")
        fold = folds[1]
        fitted = fit_learners(x.iloc[fold["train"]], y[fold["train"]], spec, task, settings)
        refit = fitted.predict(x.iloc[fold["oof"]])
        for name in contract.LEARNERS["regression"]:
            np.testing.assert_allclose(table.loc[fold["oof"], name], refit[name], rtol=1e-6)
        # A model that saw the rows predicts them differently: the check can fail.
        leaky = fit_learners(x, y, spec, task, settings).predict(x.iloc[fold["oof"]])
        assert not np.allclose(leaky["linear"], refit["linear"], rtol=1e-6)

    def test_meta_model_is_fitted_on_the_oof_predictions(self, regression):
        table = pd.read_csv(regression.output_data_dir / "oof_predictions.csv")
        saved = json.loads((regression.model_dir / contract.COMBINER_FILE).read_text())
        preds = {name: table[name].to_numpy() for name in contract.LEARNERS["regression"]}
        y = table["target"].to_numpy()
        for name in ("stack", "weighted"):
            params = combiners.fit(name, preds, y, Task("regression"), seed=42)
            for key, value in params.items():
                np.testing.assert_allclose(value, saved["combiners"][name][key], rtol=1e-6,
                                           atol=1e-9)


@pytest.fixture
def channels(tmp_path):
    rows = "".join(f"{i % 7},{'ab'[i % 2]},{i * 1.5}\n" for i in range(40))
    for split in ("train", "validation"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "data.csv").write_text("a,b,y\n" + rows)
    return tmp_path


def _train_fails(channels, *args: str) -> str:
    run = run_script("train.py", ["--train", str(channels / "train"), "--validation",
                                  str(channels / "validation"), "--model-dir",
                                  str(channels / "model"), "--output-data-dir",
                                  str(channels / "out"), *args], channels)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert run.failure == lines[0] + "\n"
    assert not (channels / "model").exists()
    return lines[0]


class TestBadInput:
    def test_missing_target(self, channels):
        assert _train_fails(channels, "--problem_type", "regression", "--target_column",
                            "z") == "train channel has no target column 'z'; columns found: a, b, y"

    def test_unknown_hyperparameter(self, channels):
        message = _train_fails(channels, "--problem_type", "regression", "--target_column", "y",
                               "--max_dept", "3")
        assert message.startswith("train.py: unknown hyperparameter(s) ['--max_dept']; known: ")
        assert "max_depth" in message

    def test_bad_hyperparameter_value(self, channels):
        assert _train_fails(channels, "--problem_type", "regression", "--target_column", "y",
                            "--k_fold", "2.5") == (
            "train.py: argument --k_fold: expected an integer, got '2.5' (see --help)")

    def test_classification_objective(self, channels):
        assert _train_fails(channels, "--problem_type", "classification", "--target_column",
                            "b", "--objective", "reg:squarederror", "--k_fold", "2") == (
            "objective 'reg:squarederror' does not give class probabilities for 2 classes; "
            "use binary:logistic or leave it unset")

    def test_log_transform_of_a_non_positive_target(self, channels):
        assert _train_fails(channels, "--problem_type", "regression", "--target_column", "y",
                            "--target_transform", "log") == (
            "target_transform=log needs a positive target, but 1 training value(s) are <= 0 "
            "(smallest 0); use target_transform=none")

    def test_unknown_target_transform(self, channels):
        assert _train_fails(channels, "--problem_type", "regression", "--target_column", "y",
                            "--target_transform", "sqrt") == (
            "target_transform 'sqrt' is not one of none, log")


def test_a_model_of_another_format_is_refused_by_name(regression, tmp_path):
    import shutil

    from steps.common.errors import InvalidData
    from steps.stacked_ensemble import ensemble

    old = tmp_path / "old-model"
    shutil.copytree(regression.model_dir, old)
    metadata = json.loads((old / contract.MODEL_METADATA).read_text())
    del metadata["model_format"]  # as the training job wrote it before format 2
    (old / contract.MODEL_METADATA).write_text(json.dumps(metadata))
    with pytest.raises(InvalidData, match=r"holds a model in format 1, written by another "
                                          r"version of the training job; this code reads "
                                          r"format 2: retrain it"):
        ensemble.load(old)
