"""A finished local execution logged to MLflow: what the store holds afterwards."""
from __future__ import annotations

import argparse
import json
import logging
import socket

import pytest
from mlflow import MlflowClient

from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.tracking import hook
from pipelines.tracking.hook import add_arguments, local_tracking_uri, track_local_execution
from runtime.ports.object_store import LocalObjectStore

BUCKET = "s3://bucket/Pipe/exec1"
EXECUTION_ARN = "arn:aws:sagemaker:local:000000000000:pipeline/pipe/execution/exec1"
PACKAGE_ARN = "arn:aws:sagemaker:local:000000000000:model-package/group/3"
DECLARED = [{"Name": "MaxTuningJobs", "Type": "Integer", "DefaultValue": 4},
            {"Name": "TargetColumn", "Type": "String", "DefaultValue": "target"}]
EVALUATION = {"regression_metrics": {"rmse": {"value": 55.0, "standard_deviation": 2.0}},
              "relative": {"rmse_ratio_to_naive": 0.8}, "gate": {"passed": True}}
MODEL_QUALITY = {"regression_metrics": {"rmse": {"value": 55.0, "standard_deviation": 2.0},
                                        "r2": {"value": 0.4, "standard_deviation": 0.1}}}
PNG = b"\x89PNG\r\n\x1a\n not really an image, only bytes to copy"


def arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def trial(number: int, eta: str, value: float | None) -> dict:
    summary = {"TrainingJobName": f"tune-exec1-{number:03d}", "TrainingJobStatus": "Completed",
               "TunedHyperParameters": {"eta": eta, "max_depth": "3"},
               "TrainingStartTime": f"2026-12-01T10:0{number}:00+00:00",
               "TrainingEndTime": f"2026-12-01T10:0{number}:30+00:00"}
    if value is None:
        return {**summary, "ObjectiveStatus": "Failed", "FailureReason": "no metric"}
    return {**summary, "ObjectiveStatus": "Succeeded",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:rmse",
                                                            "Value": value}}


def processing(step: str, *outputs: str) -> StepRecord:
    return StepRecord(step, "Processing", "Succeeded", properties={"ProcessingOutputConfig": {
        "Outputs": [{"OutputName": o, "S3Output": {"S3Uri": f"{BUCKET}/{step}/{o}"}}
                    for o in outputs]}})


def local_execution(root) -> LocalExecution:
    """An execution as the runner records it, with its outputs in the local store."""
    store = LocalObjectStore(root)
    store.write_bytes(f"{BUCKET}/Prep/report/data_report.json", b"{}")
    evaluation = f"{BUCKET}/Evaluate/evaluation"
    store.write_bytes(f"{evaluation}/evaluation.json", json.dumps(EVALUATION).encode())
    store.write_bytes(f"{evaluation}/model_quality.json", json.dumps(MODEL_QUALITY).encode())
    store.write_bytes(f"{evaluation}/plots/residuals.png", PNG)
    steps = [processing("Prep", "report"),
             StepRecord("Tune", "Tuning", "Succeeded", properties={"TrainingJobSummaries": [
                 trial(2, "0.1", 54.5), trial(1, "0.3", 58.0), trial(3, "0.9", None)]}),
             processing("Evaluate", "evaluation"),
             StepRecord("Check", "Condition", "Succeeded", properties={"Outcome": True}),
             StepRecord("Register", "RegisterModel", "Succeeded",
                        properties={"ModelPackageArn": PACKAGE_ARN}),
             StepRecord("TooLow", "Fail", "Skipped")]
    return LocalExecution("Pipe", "exec1", EXECUTION_ARN, str(root), status="Succeeded",
                          start_time="2026-12-01T10:00:00+00:00",
                          end_time="2026-12-01T10:09:00+00:00", steps={s.name: s for s in steps})


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """(client, runs by name) after logging one execution to the default local store."""
    root = tmp_path_factory.mktemp("local-root")
    track_local_execution(arguments(), local_execution(root), DECLARED, {"MaxTuningJobs": 3})
    client = MlflowClient(tracking_uri=local_tracking_uri(root))
    experiment = client.get_experiment_by_name("Pipe")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    return client, runs, root


class TestTheExecutionRun:
    def test_is_in_an_sqlite_store_under_the_local_root(self, logged):
        client, runs, root = logged
        assert (root / "mlflow" / "mlflow.db").is_file()
        assert set(runs) == {"exec1", "tune-exec1-001", "tune-exec1-002", "tune-exec1-003"}
        assert runs["exec1"].info.status == "FINISHED"
        assert runs["exec1"].info.end_time - runs["exec1"].info.start_time == 9 * 60_000
        assert runs["exec1"].info.artifact_uri.startswith(
            (root / "mlflow" / "artifacts").resolve().as_uri())

    def test_params_are_every_pipeline_parameter_as_run(self, logged):
        assert logged[1]["exec1"].data.params == {"MaxTuningJobs": "3",
                                                  "TargetColumn": "target"}

    def test_tags_name_the_execution_and_the_registered_package(self, logged):
        tags = logged[1]["exec1"].data.tags
        assert {k: v for k, v in tags.items() if k.startswith("sagemaker.")} == {
            "sagemaker.pipeline": "Pipe", "sagemaker.execution_id": "exec1",
            "sagemaker.execution_arn": EXECUTION_ARN, "sagemaker.execution_status": "Succeeded",
            "sagemaker.model_package_arn": PACKAGE_ARN,
            "sagemaker.model_package_arn.Register": PACKAGE_ARN}

    def test_metrics_are_the_evaluation_figures_with_their_deviations(self, logged):
        assert logged[1]["exec1"].data.metrics == {
            "regression_metrics.rmse": 55.0, "regression_metrics.rmse_std": 2.0,
            "regression_metrics.r2": 0.4, "regression_metrics.r2_std": 0.1,
            "relative.rmse_ratio_to_naive": 0.8, "gate.passed": 1.0}

    def test_artifacts_are_the_evaluation_outputs_only(self, logged):
        client, runs, _ = logged
        run_id = runs["exec1"].info.run_id
        assert [a.path for a in client.list_artifacts(run_id)] == ["Evaluate"]
        assert sorted(a.path for a in client.list_artifacts(run_id, "Evaluate")) == [
            "Evaluate/evaluation.json", "Evaluate/model_quality.json", "Evaluate/plots"]
        copy = client.download_artifacts(run_id, "Evaluate/plots/residuals.png")
        assert open(copy, "rb").read() == PNG


class TestTrialRuns:
    def test_each_trial_is_a_child_run_with_its_hyperparameters_and_objective(self, logged):
        runs = logged[1]
        parent = runs["exec1"].info.run_id
        best = runs["tune-exec1-002"]
        assert best.data.tags["mlflow.parentRunId"] == parent
        assert best.data.tags["sagemaker.step"] == "Tune"
        assert best.data.params == {"eta": "0.1", "max_depth": "3"}
        assert best.data.metrics == {"validation:rmse": 54.5}
        assert best.info.status == "FINISHED"
        assert (best.info.end_time - best.info.start_time) == 30_000  # the trial's own times
        assert runs["tune-exec1-001"].data.metrics == {"validation:rmse": 58.0}

    def test_a_failed_trial_is_a_failed_child_run_without_a_metric(self, logged):
        failed = logged[1]["tune-exec1-003"]
        assert failed.data.tags["mlflow.parentRunId"] == logged[1]["exec1"].info.run_id
        assert (failed.info.status, failed.data.metrics) == ("FAILED", {})
        assert failed.data.tags["sagemaker.trial_status"] == "Failed"


class TestSeveralEvaluations:
    def test_each_evaluation_steps_figures_are_prefixed_with_its_step(self, logged):
        """Multi-model: one Evaluate step (and one registered package) per segment."""
        _, _, root = logged
        store = LocalObjectStore(root)
        steps = []
        for number, segment in enumerate(("EvaluateOldTown", "EvaluateHarbour"), start=1):
            store.write_bytes(f"{BUCKET}/{segment}/evaluation/evaluation.json",
                              json.dumps({"regression_metrics": {"r2": number / 10}}).encode())
            steps.append(processing(segment, "evaluation"))
            steps.append(StepRecord(f"Register{number}", "RegisterModel", "Succeeded",
                                    properties={"ModelPackageArn": f"{PACKAGE_ARN}{number}"}))
        execution = LocalExecution("Segments", "exec2", EXECUTION_ARN[:-1] + "2", str(root),
                                   status="Failed", steps={s.name: s for s in steps})
        track_local_execution(arguments(), execution, [], {})
        client = MlflowClient(tracking_uri=local_tracking_uri(root))
        (run,) = client.search_runs(
            [client.get_experiment_by_name("Segments").experiment_id])
        assert run.data.metrics == {"EvaluateOldTown/regression_metrics.r2": 0.1,
                                    "EvaluateHarbour/regression_metrics.r2": 0.2}
        assert run.data.tags["sagemaker.model_package_arn"] == (
            f"{PACKAGE_ARN}1,{PACKAGE_ARN}2")
        assert run.info.status == "FAILED"
        assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == [
            "EvaluateHarbour", "EvaluateOldTown"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestTrackingNeverFailsARun:
    def test_an_unreachable_server_is_one_warning(self, tmp_path, caplog):
        uri = f"http://127.0.0.1:{closed_port()}"
        with caplog.at_level(logging.WARNING, logger="run-pipeline"):
            track_local_execution(arguments("--tracking-uri", uri), local_execution(tmp_path),
                                  DECLARED, {})
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                    and r.name == "run-pipeline"]
        assert len(warnings) == 1 and "\n" not in warnings[0]
        assert warnings[0].startswith(f"tracking: the execution was not logged to MLflow at "
                                      f"{uri} (")
        assert warnings[0].endswith("the run's outcome is unaffected")
        assert not (tmp_path / "mlflow").exists()

    def test_a_run_that_fails_midway_is_marked_failed_not_left_running(self, logged, caplog):
        _, _, root = logged
        LocalObjectStore(root).write_bytes(f"{BUCKET}/Bad/evaluation/evaluation.json", b"{")
        execution = LocalExecution("Broken", "exec3", EXECUTION_ARN[:-1] + "3", str(root),
                                   status="Succeeded",
                                   steps={"Bad": processing("Bad", "evaluation")})
        with caplog.at_level(logging.WARNING, logger="run-pipeline"):
            track_local_execution(arguments(), execution, [], {})
        assert "(JSONDecodeError: " in caplog.text
        client = MlflowClient(tracking_uri=local_tracking_uri(root))
        (run,) = client.search_runs([client.get_experiment_by_name("Broken").experiment_id])
        assert run.info.status == "FAILED"

    def test_no_tracking_writes_nothing(self, tmp_path):
        track_local_execution(arguments("--no-tracking"), local_execution(tmp_path), DECLARED, {})
        assert not (tmp_path / "mlflow").exists()

    def test_the_environment_names_the_store_when_no_option_does(self, tmp_path, monkeypatch,
                                                                 caplog):
        uri = f"http://127.0.0.1:{closed_port()}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        with caplog.at_level(logging.WARNING, logger="run-pipeline"):
            track_local_execution(arguments(), local_execution(tmp_path), DECLARED, {})
        assert f"not logged to MLflow at {uri} (" in caplog.text
        assert not (tmp_path / "mlflow").exists()


class TestTrackingUriOption:
    @pytest.mark.parametrize("text, message", [
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1",
         "is not a SageMaker MLflow tracking server ARN"),
        ("mlflow.db", "is not a tracking URI: give a SageMaker MLflow tracking server ARN"),
    ])
    def test_a_bad_uri_is_a_usage_error_naming_it(self, capsys, text, message):
        with pytest.raises(SystemExit) as exit_info:
            arguments("--tracking-uri", text)
        assert exit_info.value.code == 2
        assert f"'{text}' {message}" in capsys.readouterr().err

    def test_accepts_arns_urls_and_databases(self):
        for text in ("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team",
                     "https://mlflow.example.com", "sqlite:////tmp/m.db"):
            assert arguments("--tracking-uri", text).tracking_uri == text
        assert hook.SAGEMAKER_MLFLOW_ARN.fullmatch(
            "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-app/app-abc123")
