"""Training: one artifact (preprocessor + booster), metric lines, hyperparameters, errors."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from steps.common import metrics
from steps.common.errors import InvalidData
from steps.common.failure import failures_reported
from steps.multi_model import contract, inference, train
from tests.steps.multi_model.conftest import IDS, PROGRAM_SEGMENT, run_script, train_env

pytestmark = pytest.mark.integration


def parsed_metrics(stdout: str) -> dict[str, float]:
    """What SageMaker reads from the log with the definition's regexes (last match wins)."""
    found = {}
    for definition in contract.metric_definitions():
        values = re.findall(definition["Regex"], stdout)
        if values:
            found[definition["Name"]] = float(values[-1])
    return found


class TestArtifact:
    def test_model_directory_holds_preprocessor_model_metadata_and_handler(self, pipeline_run):
        for ident in IDS.values():
            model_dir = pipeline_run.model_dir(ident)
            assert sorted(p.name for p in model_dir.iterdir()) == sorted(
                [contract.PREPROCESSOR_FILE, contract.MODEL_FILE, contract.MODEL_METADATA,
                 contract.HANDLER_FILE])
            assert (model_dir / contract.PREPROCESSOR_FILE).read_bytes() == \
                (pipeline_run.segment_dir(ident) / contract.PREPROCESSOR_FILE).read_bytes()
            assert json.loads((model_dir / contract.HANDLER_FILE).read_text()) == {
                "handler": "steps.multi_model.inference"}

    def test_metadata(self, pipeline_run):
        metadata = json.loads((pipeline_run.model_dir("chicago")
                               / contract.MODEL_METADATA).read_text())
        assert (metadata["segment"], metadata["segment_id"]) == ("Chicago", "chicago")
        assert (metadata["segment_column"], metadata["target_column"]) == ("city", "price")
        assert [f["name"] for f in metadata["features"]][-2:] == ["deck", "front_porch"]
        assert metadata["hyperparameters"] == {
            "max_depth": 5, "eta": 0.3, "gamma": 4.0, "min_child_weight": 6.0,
            "subsample": 0.8, "objective": "reg:squarederror", "num_round": 60,
            "early_stopping_rounds": 5, "seed": 42}
        assert metadata["rows"] == {"train": 120, "validation": 60}
        assert set(metadata["versions"]) >= {"xgboost", "scikit-learn", "pandas"}
        assert "categorical__deck_yes" in metadata["transformed_features"]

    def test_booster_is_cut_at_its_best_iteration(self, pipeline_run):
        model = inference.model_fn(str(pipeline_run.model_dir("san-diego")))
        assert model.booster.num_boosted_rounds() == model.metadata["best_iteration"] + 1
        assert model.metadata["best_iteration"] < 60

    def test_the_model_learnt_the_city(self, pipeline_run):
        """Validation RMSE far below predicting the training mean; each city's model is its
        own (another city's model does much worse on this city's validation rows)."""
        def validation_rmse(model_ident, data_ident):
            model = inference.model_fn(str(pipeline_run.model_dir(model_ident)))
            rows = pd.read_csv(pipeline_run.segment_dir(data_ident) / "validation.csv")
            return metrics.rmse(rows["price"].to_numpy(), model.predict(rows))

        for ident in IDS.values():
            rows = pd.read_csv(pipeline_run.segment_dir(ident) / "validation.csv")
            train = pd.read_csv(pipeline_run.segment_dir(ident) / "train.csv")
            baseline = metrics.rmse(rows["price"].to_numpy(), np.full(len(rows),
                                                                     train["price"].mean()))
            assert validation_rmse(ident, ident) < 0.35 * baseline
        assert validation_rmse("chicago", "san-diego") > 3 * validation_rmse("san-diego",
                                                                             "san-diego")


class TestMetricLines:
    def test_lines_match_the_definitions_and_the_metadata(self, pipeline_run):
        for ident in IDS.values():
            found = parsed_metrics(pipeline_run.train[ident].stdout)
            metadata = json.loads((pipeline_run.model_dir(ident)
                                   / contract.MODEL_METADATA).read_text())
            expected = {f"{split}:{m}": metadata["metrics"][split][m]
                        for split in ("train", "validation") for m in contract.METRICS}
            expected["best_iteration"] = metadata["best_iteration"]
            assert found == pytest.approx(expected, abs=1e-6)
            assert found["validation:rmse"] > found["train:rmse"] > 0

    def test_the_program_prints_only_metric_lines_on_stdout_beside_the_log(self, pipeline_run):
        stdout = pipeline_run.train[PROGRAM_SEGMENT].stdout
        lines = [line for line in stdout.splitlines() if line.endswith(";")]
        assert [line.split(":")[0] for line in lines] == [
            "validation-rmse", "validation-mae", "validation-r2", "train-rmse", "train-mae",
            "train-r2", "best-iteration"]
        assert "ignoring SageMaker's own arguments ['--sagemaker_program']" in stdout
        assert pipeline_run.train[PROGRAM_SEGMENT].stderr == ""

    def test_metrics_file_in_the_output_data_dir(self, pipeline_run):
        summary = json.loads((pipeline_run.output_data_dir("chicago")
                              / contract.METRICS_FILE).read_text())
        assert summary["segment_id"] == "chicago"
        assert set(summary["metrics"]) == {"train", "validation"}


def run_in_process(segment_dir, tmp_path, argv=()) -> dict:
    return train.run(train.parse_args([
        *argv, "--segment-dir", str(segment_dir), "--model-dir", str(tmp_path / "model"),
        "--output-data-dir", str(tmp_path / "out")]))


class TestReproducibility:
    def test_same_data_and_seed_same_model(self, tmp_path, pipeline_run):
        run_in_process(pipeline_run.segment_dir(PROGRAM_SEGMENT), tmp_path,
                       ["--num_round", "60", "--eta", "0.3"])
        assert (tmp_path / "model" / contract.MODEL_FILE).read_bytes() == \
            (pipeline_run.model_dir(PROGRAM_SEGMENT) / contract.MODEL_FILE).read_bytes()


class TestBadInput:
    def test_an_unknown_hyperparameter_ends_the_program_with_a_reason(self, tmp_path,
                                                                      pipeline_run):
        result = run_script("train.py", ["--max_depht", "3"], tmp_path,
                            train_env(pipeline_run.segment_dir("chicago"), tmp_path / "model",
                                      tmp_path / "out"))
        message = ("train.py: unknown hyperparameter(s) ['--max_depht']; known: max_depth, "
                   "eta, gamma, min_child_weight, subsample, objective, num_round, "
                   "early_stopping_rounds, seed (see --help)")
        assert (result.returncode, result.stderr.strip()) == (1, message)
        assert result.failure.strip() == message
        assert not (tmp_path / "model").exists()

    @pytest.mark.parametrize("argv, message", [
        (["--num_round", "2.5"], "train.py: argument --num_round: expected an integer, got "
                                 "'2.5' (see --help)"),
        (["--eta", "0"], "bad hyperparameters: eta=0.0 (in (0, 1])"),
        (["--subsample", "1.5", "--max_depth", "0"],
         "bad hyperparameters: max_depth=0 (at least 1); subsample=1.5 (in (0, 1])"),
        (["--objective", "reg:nonsense"], "XGBoost refused the settings: "),
    ])
    def test_bad_hyperparameters_fail_with_a_reason(self, tmp_path, monkeypatch, capsys,
                                                    pipeline_run, argv, message):
        monkeypatch.setenv("SM_FAILURE_FILE", str(tmp_path / "failure"))
        argv = [*argv, "--segment-dir", str(pipeline_run.segment_dir("chicago")),
                "--model-dir", str(tmp_path / "model"), "--output-data-dir",
                str(tmp_path / "out")]
        with pytest.raises(SystemExit) as exit_info, failures_reported():
            train.run(train.parse_args(argv))
        assert exit_info.value.code == 1
        assert capsys.readouterr().err.startswith(message)
        assert (tmp_path / "failure").read_text().startswith(message)
        assert not (tmp_path / "model").exists()

    def test_the_channel_must_be_one_segment_folder(self, tmp_path, pipeline_run):
        with pytest.raises(InvalidData, match="holds no segment.json: the segment channel "
                                              "must be one segment folder"):
            run_in_process(pipeline_run.segments, tmp_path)

    def test_a_bad_value_in_the_training_split_is_named(self, tmp_path, pipeline_run):
        folder = tmp_path / "segment"
        shutil.copytree(pipeline_run.segment_dir("chicago"), folder)
        rows = pd.read_csv(folder / "train.csv", dtype={"square_feet": object})
        rows.loc[4, "square_feet"] = "big"
        rows.to_csv(folder / "train.csv", index=False)
        with pytest.raises(InvalidData) as info:
            run_in_process(folder, tmp_path)
        assert str(info.value) == ("train split: feature 'square_feet' is numeric but row 5 "
                                   "has 'big'; send a finite number (or nothing, for missing)")
