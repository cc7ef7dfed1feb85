"""The stacked-ensemble pipeline end to end on this machine, exactly as `make run` runs it."""
from __future__ import annotations

import json
import tarfile

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
    report_uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    report = json.loads(store.read_bytes(report_uri))
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
    err = capsys.readouterr().err
    assert "The model was not registered: test rmse" in err
    assert "QualityThreshold needs at most 1" in err
    assert "TuneEnsemble (Tuning) Succeeded" in err and "(cached)" in err
    assert len(LocalModelRegistry(local_root).list_packages(GROUP)) == 1
