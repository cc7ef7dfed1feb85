"""The stacked-ensemble pipeline end to end on this machine, exactly as `make run` runs it."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from pipelines.cli import run_pipeline
from runtime.ports.model_registry import LocalModelRegistry
from runtime.ports.object_store import LocalObjectStore

pytestmark = pytest.mark.e2e

MODULE = "pipelines.stacked_ensemble.pipeline"
GROUP = "StackedEnsemblePackageGroup"


@pytest.fixture(scope="module")
def local_root(tmp_path_factory):
    return tmp_path_factory.mktemp("local-root")


@pytest.fixture(scope="module")
def first_run(local_root):
    code = run_pipeline.main(["--local", "--local-root", str(local_root), "-n", MODULE,
                              "--parameters", '{"MaxTuningJobs": 2}'])
    return code


def test_run_succeeds_and_registers_a_pending_version_with_metrics(first_run, local_root):
    assert first_run == 0
    packages = LocalModelRegistry(local_root).list_packages(GROUP)
    assert len(packages) == 1
    package = packages[0]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    store = LocalObjectStore(local_root)
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert statistics.endswith("/model_quality.json")  # SageMaker's own format, for Studio
    report = json.loads(store.read_bytes(package["CustomerMetadataProperties"]["EvaluationReport"]))
    rmse = report["regression_metrics"]["rmse"]["value"]
    assert 30 < rmse < 65  # diabetes: ~53-58 is typical
    assert report["gate"]["passed"] is True
    assert report["relative"]["rmse_ratio_to_naive"] < 0.9
    assert set(report["learners"]) == {"catboost", "xgboost", "linear", "kernel"}
    model_uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    with tarfile.open(store.path_for(model_uri)) as tar:
        names = set(tar.getnames())
    assert {"metadata.json", "folds.json", "combiner.json"} <= {n.lstrip("./") for n in names}


def test_sample_data_was_seeded_into_the_store(first_run, local_root):
    seeded = LocalObjectStore(local_root).list_uris(
        "s3://sagemaker-us-east-1-000000000000/StackedEnsemblePipeline/sample-data/")
    assert [u.rsplit("/", 1)[1] for u in seeded] == ["diabetes.csv"]


def test_rerun_with_an_absolute_threshold_uses_the_cache_and_fails_quoting_the_metric(
        first_run, local_root, capsys):
    capsys.readouterr()
    code = run_pipeline.main(["--local", "--local-root", str(local_root), "-n", MODULE,
                              "--parameters", '{"MaxTuningJobs": 2, "QualityThreshold": 1.0}'])
    assert code == 1
    out, err = capsys.readouterr()
    assert "The model was not registered: test rmse" in err
    summary = out[out.index("\nFailed ("):]
    assert "Quality gate (EvaluateEnsemble): failed\n" in summary
    assert "  FAIL test rmse" in summary and "QualityThreshold" in summary
    (page,) = [line.removeprefix("Execution page: ") for line in summary.splitlines()
               if line.startswith("Execution page: ")]
    assert "Failed" in Path(page).read_text()
    assert "QualityThreshold needs at most 1" in err
    assert "TuneEnsemble (Tuning) Succeeded" in err and "(cached)" in err
    assert len(LocalModelRegistry(local_root).list_packages(GROUP)) == 1


def test_the_first_run_wrote_its_page_with_how_to_approve(first_run, local_root):
    (package,) = LocalModelRegistry(local_root).list_packages(GROUP)
    execution_id = package["CustomerMetadataProperties"]["PipelineExecutionArn"].rsplit("/")[-1]
    text = (local_root / "executions" / f"{execution_id}.html").read_text()
    assert f"model-registry approve {GROUP}/1 --local {local_root}" in text
    assert "Quality gate (EvaluateEnsemble): passed" in text
    assert text.count('class="node"') == 6 and "data:image/png;base64," in text


def _first_package(local_root) -> dict:
    return next(p for p in LocalModelRegistry(local_root).list_packages(GROUP)
                if p["ModelPackageVersion"] == 1)


def test_the_first_run_is_an_mlflow_run_and_each_trial_a_child_run(first_run, local_root):
    from mlflow import MlflowClient

    package = _first_package(local_root)
    metadata = package["CustomerMetadataProperties"]
    execution_id = metadata["PipelineExecutionArn"].rsplit("/")[-1]
    client = MlflowClient(tracking_uri=f"sqlite:///{local_root / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("StackedEnsemblePipeline").experiment_id
    (run,) = client.search_runs([experiment],
                                f"tags.`sagemaker.execution_id` = '{execution_id}'")
    assert run.info.status == "FINISHED"
    assert (run.data.params["MaxTuningJobs"], run.data.params["TargetColumn"]) == ("2", "target")
    assert run.data.tags["sagemaker.model_package_arn"] == package["ModelPackageArn"]
    report = json.loads(LocalObjectStore(local_root).read_bytes(metadata["EvaluationReport"]))
    assert run.data.metrics["regression_metrics.rmse"] == pytest.approx(
        report["regression_metrics"]["rmse"]["value"])
    assert run.data.metrics["gate.passed"] == 1.0
    record = json.loads((local_root / "executions" / f"{execution_id}.json").read_text())
    trials = {t["TrainingJobName"]: t for t in
              record["steps"]["TuneEnsemble"]["properties"]["TrainingJobSummaries"]}
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert {child.info.run_name for child in children} == set(trials) and len(trials) == 2
    for child in children:
        trial = trials[child.info.run_name]
        assert child.data.params == trial["TunedHyperParameters"]
        objective = trial["FinalHyperParameterTuningJobObjectiveMetric"]
        assert child.data.metrics == {objective["MetricName"]: pytest.approx(objective["Value"])}
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "EvaluateEnsemble")]
    assert {"EvaluateEnsemble/evaluation.json", "EvaluateEnsemble/model_quality.json",
            "EvaluateEnsemble/plots"} <= set(artifacts)
    plots = client.list_artifacts(run.info.run_id, "EvaluateEnsemble/plots")
    assert plots and all(p.path.endswith(".png") and p.file_size > 0 for p in plots)


def test_a_tracker_that_cannot_be_reached_is_a_warning_and_the_run_succeeds(
        first_run, local_root, capsys):
    capsys.readouterr()
    uri = "http://127.0.0.1:9"  # the discard port: nothing listens
    code = run_pipeline.main(["--local", "--local-root", str(local_root), "-n", MODULE,
                              "--parameters", '{"MaxTuningJobs": 2}', "--tracking-uri", uri])
    assert code == 0
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("tracking:")]
    assert len(lines) == 1
    assert lines[0].startswith(f"tracking: the execution was not logged to MLflow at {uri} (")
