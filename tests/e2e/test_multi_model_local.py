"""The multi-model pipeline end to end on this machine: one registered version per segment."""
from __future__ import annotations

import json
import tarfile

import pytest

from pipelines.cli import run_pipeline
from runtime.model_versions import evaluation_report_uri
from runtime.ports.model_registry import LocalModelRegistry
from runtime.ports.object_store import LocalObjectStore
from steps.multi_model import contract

pytestmark = pytest.mark.e2e


def test_each_segment_is_trained_staged_and_registered(tmp_path):
    code = run_pipeline.main(["--local", "--local-root", str(tmp_path), "-n",
                              "pipelines.multi_model.pipeline",
                              "--kwargs", json.dumps({"segments": ["New York", "Phoenix"]})])
    assert code == 0
    registry, store = LocalModelRegistry(tmp_path), LocalObjectStore(tmp_path)
    for ident in ("new-york", "phoenix"):
        [package] = registry.list_packages(f"HousePrices-{ident}")
        assert package["ModelApprovalStatus"] == "PendingManualApproval"
        assert package["CustomerMetadataProperties"]["Segment"] == ident
        artifact = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        key = artifact.split("/staging/", 1)[1]
        assert contract.parse_artifact_key(key)[0] == ident
        with tarfile.open(store.path_for(artifact)) as tar:
            names = {n.lstrip("./") for n in tar.getnames()}
        assert {"preprocessor.joblib", "xgboost-model.json", "serving.json"} <= names
        assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(
            "/model_quality.json")  # SageMaker's own format, for Studio's charts
        report = json.loads(store.read_bytes(evaluation_report_uri(package)))
        assert report["segment_id"] == ident
        assert report["regression_metrics"]["r2"]["value"] > 0.8
    live = store.list_uris("s3://sagemaker-us-east-1-000000000000/MultiModelPipeline/live/")
    assert live == []  # nothing is published before approval
