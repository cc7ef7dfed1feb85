"""The runner on small hand-written definitions: branches, parameters, failures, cache."""
from __future__ import annotations

import datetime as dt
import json
import logging
import tarfile
from pathlib import Path

import pytest

from pipelines.local import InvalidDefinition, InvalidParameters, run_local_pipeline
from pipelines.local.cache import expire_after
from pipelines.local.store import local_store
from runtime.ports.model_registry import LocalModelRegistry

from . import definitions as d

pytestmark = pytest.mark.integration


def _run(definition, local_root, **kwargs):
    return run_local_pipeline(definition, local_root=local_root, **kwargs)


class TestChainBothBranches:
    def test_if_branch_registers_model_with_metrics(self, local_root: Path):
        execution = _run(d.chain_definition(), local_root)

        assert execution.status == "Succeeded", execution.failure_reason
        statuses = {name: record.status for name, record in execution.steps.items()}
        assert statuses == {"Preprocess": "Succeeded", "Train": "Succeeded",
                            "Evaluate": "Succeeded", "CheckRmse": "Succeeded",
                            "Register": "Succeeded", "RmseTooHigh": "Skipped"}
        assert execution.steps["CheckRmse"].properties == {"Outcome": "True"}
        package = LocalModelRegistry(local_root).list_packages("fixture-models")[0]
        assert package["ModelApprovalStatus"] == "PendingManualApproval"
        assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == (
            f"s3://{d.BUCKET}/evaluate/evaluation/evaluation.json")
        assert package["MetadataProperties"]["GeneratedBy"] == execution.execution_arn
        model_uri = execution.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"]
        assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_uri
        assert model_uri.startswith(f"s3://{d.BUCKET}/train/")
        assert model_uri.endswith("/output/model.tar.gz")
        store = local_store(local_root)
        assert store.exists(model_uri.replace("model.tar.gz", "output.tar.gz"))

    def test_else_branch_fails_with_the_fail_step_message(self, local_root: Path):
        execution = _run(d.chain_definition(), local_root, parameters={"RmseThreshold": -1.0})

        assert execution.status == "Failed"
        assert execution.failure_reason == "rmse above -1.0"
        assert execution.steps["RmseTooHigh"].status == "Failed"
        assert execution.steps["Register"].status == "Skipped"
        assert not (local_root / "model-registry" / "fixture-models").exists()


class TestTrainingJobEnvironment:
    def test_hyperparameters_arrive_decoded_and_output_data_is_tarred(self, local_root: Path):
        execution = _run(d.chain_definition(), local_root, parameters={"LearningRate": "0.1"})

        model_uri = execution.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"]
        output = local_store(local_root).path_for(model_uri.replace("model.tar.gz",
                                                                    "output.tar.gz"))
        with tarfile.open(output) as archive:
            summary = json.load(archive.extractfile("summary.json"))
        assert summary["rows"] == 10
        assert summary["hps"] == {"learning_rate": 0.1}  # sagemaker_* kept out of SM_HPS
        metrics = execution.steps["Train"].properties["FinalMetricDataList"]
        assert [(m["MetricName"], m["Value"]) for m in metrics] == [("validation:rmse", 1.0)]


class TestParameterOverride:
    def test_override_reaches_jobs_and_registry(self, local_root: Path):
        execution = _run(d.chain_definition(), local_root,
                         parameters={"ModelApprovalStatus": "Approved", "RmseThreshold": "2.5"})

        assert execution.status == "Succeeded"
        package = LocalModelRegistry(local_root).list_packages("fixture-models")[0]
        assert package["ModelApprovalStatus"] == "Approved"


class TestBadParameters:
    def test_unknown_name_lists_declared_ones_before_anything_runs(self, local_root: Path):
        with pytest.raises(InvalidParameters, match=r"unknown parameter\(s\) Treshold; this "
                           r"pipeline declares: InputDataUrl, LearningRate, ModelApprovalStatus"):
            _run(d.chain_definition(), local_root, parameters={"Treshold": 1})
        assert not (local_root / "jobs").exists()

    def test_wrong_type_says_expected_and_received(self, local_root: Path):
        with pytest.raises(InvalidParameters,
                           match=r"parameter RmseThreshold expects Float, received str 'high'"):
            _run(d.chain_definition(), local_root, parameters={"RmseThreshold": "high"})
        with pytest.raises(InvalidParameters, match=r"TrainingInstanceCount expects Integer, "
                                                     r"received float 1.5"):
            _run(d.chain_definition(), local_root, parameters={"TrainingInstanceCount": 1.5})
        assert not (local_root / "jobs").exists()


class TestInvalidDefinition:
    def test_unknown_step_type_names_step_and_type(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"].append({"Name": "Notify", "Type": "EMR", "Arguments": {}})
        with pytest.raises(InvalidDefinition, match=r"step 'Notify' has type 'EMR', which the "
                           r"local runner does not support \(supported: Callback, Condition, Fail"):
            _run(definition, local_root)

    def test_cycle_names_the_steps(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][0]["DependsOn"] = ["Evaluate"]
        with pytest.raises(InvalidDefinition,
                           match=r"dependency cycle: (\w+) -> (\w+) -> (\w+) -> \1"):
            _run(definition, local_root)

    def test_reference_to_unknown_step(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][1]["DependsOn"] = ["Prepare"]
        with pytest.raises(InvalidDefinition, match=r"step 'Train' depends on unknown step\(s\) "
                                                    r"Prepare; steps: Preprocess, Train"):
            _run(definition, local_root)

    def test_undeclared_parameter(self, local_root: Path):
        definition = d.chain_definition()
        definition["Parameters"] = [p for p in definition["Parameters"]
                                    if p["Name"] != "LearningRate"]
        with pytest.raises(InvalidDefinition, match=r"step 'Train' refers to undeclared "
                                                    r"parameter 'LearningRate'"):
            _run(definition, local_root)


def test_a_jobs_logged_warnings_reach_the_console_once_and_capped(local_root: Path, caplog):
    definition = d.chain_definition()
    definition["Steps"] = [d.processing("Warn", "warn.py", [], {}, [])]
    with caplog.at_level(logging.INFO, logger="pipelines.local"):
        execution = _run(definition, local_root)

    assert execution.status == "Succeeded", execution.failure_reason
    shown = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert shown[0].startswith("step Warn (") and shown[0].endswith(
        "): column(s) ['id'] hold a different value on every row")
    log_path = local_root / "jobs" / execution.execution_id / "Warn" / "job.log"
    assert [m.split("): ", 1)[1] for m in shown[1:]] == [  # 10 forwarded, the repeat shown once
        *(f"warning number {n}" for n in range(8)),
        f"more warnings than the 10 shown: see {log_path}"]
    assert "info line" not in caplog.text and "printed, not logged" not in caplog.text
    log = log_path.read_text()
    assert "warning number 11" in log and "an info line stays in the job log" in log


class TestFailingStep:
    def test_stderr_tail_is_the_reason_and_downstream_does_not_run(self, local_root: Path,
                                                                   caplog):
        definition = d.chain_definition()
        definition["Steps"][0] = d.processing("Preprocess", "fail.py", [], {
            "train": f"s3://{d.BUCKET}/preprocess/train"}, [])
        with caplog.at_level(logging.INFO, logger="pipelines.local"):
            execution = _run(definition, local_root)

        record = execution.steps["Preprocess"]
        assert execution.status == "Failed"
        assert record.status == "Failed"
        assert record.failure_reason == "bad input: column 'y' is missing"
        log = Path(record.log_path)
        assert "about to fail" in log.read_text() and "column 'y'" in log.read_text()
        assert execution.not_run == ["Train", "Evaluate", "CheckRmse", "Register",
                                     "RmseTooHigh"]
        assert execution.failure_reason == (
            "step Preprocess failed: bad input: column 'y' is missing")
        assert f"(log: {log})" in caplog.text
        assert "completed 1 of 6 steps" in caplog.text
        assert "did not run: Train, Evaluate, CheckRmse, Register, RmseTooHigh" in caplog.text

    def test_failure_file_wins_over_stderr(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][1] = d.train_step(fail='"need more rows"')
        execution = _run(definition, local_root)

        assert execution.steps["Train"].failure_reason == "need more rows"
        assert execution.steps["Evaluate"].status == "NotRun"


class TestCache:
    def test_rerun_reuses_finished_steps(self, local_root: Path):
        first = _run(d.chain_definition(), local_root)
        second = _run(d.chain_definition(), local_root)

        cached = {name: record.cached for name, record in second.steps.items()}
        assert cached == {"Preprocess": True, "Train": True, "Evaluate": True,
                          "CheckRmse": False, "Register": False, "RmseTooHigh": False}
        assert second.status == "Succeeded"
        assert (second.steps["Train"].properties["ModelArtifacts"]
                == first.steps["Train"].properties["ModelArtifacts"])
        assert not (local_root / "jobs" / second.execution_id / "Train").exists()
        assert [p["ModelPackageVersion"] for p in
                LocalModelRegistry(local_root).list_packages("fixture-models")] == [2, 1]

    def test_resume_after_failure_runs_only_what_failed(self, local_root: Path):
        broken = d.chain_definition()
        broken["Steps"][1] = d.train_step(fail='"boom"')
        assert _run(broken, local_root).status == "Failed"

        execution = _run(d.chain_definition(), local_root)
        assert execution.steps["Preprocess"].cached is True
        assert execution.steps["Train"].cached is False
        assert execution.status == "Succeeded"

    def test_changed_code_or_no_cache_runs_again(self, local_root: Path):
        _run(d.chain_definition(), local_root)
        store = local_store(local_root)
        script = f"{d.CODE}/evaluate.py"
        store.write_bytes(script, store.read_bytes(script) + b"\n# changed\n")

        changed = _run(d.chain_definition(), local_root)
        uncached = _run(d.chain_definition(), local_root, use_cache=False)

        assert [changed.steps[n].cached for n in ("Preprocess", "Train", "Evaluate")] == [
            True, True, False]
        assert not any(record.cached for record in uncached.steps.values())

    def test_expired_entries_are_not_reused(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][0]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "PT0S"}
        _run(definition, local_root)
        rerun = _run(definition, local_root)
        # Preprocess expired and ran again; its output URIs did not change, so Train's key
        # (and cache entry) still holds.
        assert [rerun.steps[n].cached for n in ("Preprocess", "Train")] == [False, True]
        assert expire_after({"ExpireAfter": "P1DT2H"}) == dt.timedelta(days=1, hours=2)
        assert expire_after({"ExpireAfter": "soon"}) is None

    def test_cache_config_disabled_is_respected(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][0]["CacheConfig"] = {"Enabled": False}
        _run(definition, local_root)
        assert _run(definition, local_root).steps["Preprocess"].cached is False


class TestCreateModel:
    def test_model_step_records_the_model(self, local_root: Path):
        definition = d.chain_definition()
        model_step = {"Name": "CreateModel", "Type": "Model", "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/Role",
            "PrimaryContainer": {"Image": "local/sklearn:latest", "ModelDataUrl": {
                "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}}}
        definition["Steps"][3]["Arguments"]["IfSteps"].append(model_step)
        execution = _run(definition, local_root)

        properties = execution.steps["CreateModel"].properties
        assert execution.steps["CreateModel"].status == "Succeeded"
        assert properties["ModelArn"].startswith("arn:aws:sagemaker:local:000000000000:model/")
        recorded = json.loads((local_root / "models" / f"{properties['ModelName']}.json")
                              .read_text())
        assert recorded["PrimaryContainer"]["ModelDataUrl"] == (
            execution.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"])
        assert recorded["PipelineExecutionArn"] == execution.execution_arn


class TestIndependentSteps:
    def test_parallel_branches_both_run_and_join(self, local_root: Path):
        definition = d.chain_definition()
        second = d.preprocess_step()
        second["Name"] = "PreprocessAgain"
        for output in second["Arguments"]["ProcessingOutputConfig"]["Outputs"]:
            output["S3Output"]["S3Uri"] += "-again"
        definition["Steps"].insert(1, second)
        definition["Steps"][2]["DependsOn"] = ["PreprocessAgain"]
        execution = _run(definition, local_root, max_workers=2)

        assert execution.status == "Succeeded"
        assert local_store(local_root).list_uris(f"s3://{d.BUCKET}/preprocess/train-again") == [
            f"s3://{d.BUCKET}/preprocess/train-again/train.csv"]


class TestPropertyFileReference:
    def test_undeclared_property_file_is_rejected_at_load(self, local_root: Path):
        definition = d.chain_definition()
        definition["Steps"][2].pop("PropertyFiles")
        with pytest.raises(InvalidDefinition, match=r"step 'CheckRmse' reads PropertyFile "
                           r"'EvaluationReport' of step 'Evaluate', which declares: none"):
            _run(definition, local_root)
