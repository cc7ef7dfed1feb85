"""The sequential topic pipeline end to end on this machine, with the real embedding model:
three layers, two callback mapping updates through the project's Lambda, a registered model
that answers raw text."""
from __future__ import annotations

import json
import tarfile

import pytest

from pipelines.cli import run_pipeline
from pipelines.sequential_topics.sample_data import sample_csv
from runtime.ports.model_registry import LocalModelRegistry
from runtime.ports.object_store import LocalObjectStore

pytestmark = pytest.mark.e2e

INPUT = "s3://sagemaker-us-east-1-000000000000/SequentialTopicsPipeline/sample-data/bbc-news.csv"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("topics-root")
    LocalObjectStore(root).write_bytes(INPUT, sample_csv(300))  # smaller than the bundled 2,225
    code = run_pipeline.main(["--local", "--local-root", str(root), "-n",
                              "pipelines.sequential_topics.pipeline",
                              "--parameters", '{"MaxTuningJobs": 1, "MaxParallelTuningJobs": 1}'])
    return code, root


def test_three_layers_two_mappings_and_a_registered_model(run):
    code, root = run
    assert code == 0
    store = LocalObjectStore(root)
    mappings = [u for u in store.list_uris("s3://sagemaker-us-east-1-000000000000/"
                                           "SequentialTopicsPipeline/") if u.endswith("mapping.json")]
    layers = sorted(json.loads(store.read_bytes(u))["layer"] for u in mappings)
    assert layers == [1, 2]
    [package] = LocalModelRegistry(root).list_packages("SequentialTopicsPackageGroup")
    report = json.loads(store.read_bytes(
        package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]))
    metrics = report["topic_metrics"]
    assert metrics["empty_layers"]["value"] == 0
    assert 15 <= metrics["layer1_topics"]["value"] <= 25
    assert metrics["layer1_nmi"]["value"] > 0.3  # 5 BBC categories
    gate = report["gate"]  # the default gate, with the sample's label column
    assert gate["passed"] is True
    assert [c["name"] for c in gate["checks"]][-2:] == ["nmi_over_shuffled", "layers_not_worse"]
    hierarchy = report["hierarchy"]  # the registered model's report shows what each layer made
    assert {t["parent"] for t in hierarchy["layer2"]} <= {t["id"] for t in hierarchy["layer1"]}


def test_the_registered_model_answers_raw_text(run, tmp_path):
    from steps.sequential_topics import inference

    _, root = run
    [package] = LocalModelRegistry(root).list_packages("SequentialTopicsPackageGroup")
    archive = LocalObjectStore(root).path_for(
        package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    model = inference.model_fn(str(tmp_path))
    body = json.dumps({"instances": [
        {"title": "Arsenal win the cup", "description": "The striker scored twice in the final"},
        {"title": "", "description": ""}]})
    text, content_type = inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "application/json"), model),
        "application/json")
    assert content_type == "application/json"
    result = json.loads(text)
    first, empty = result["predictions"]
    assert first["status"] == "ok" and first["layers"][0]["layer"] == 1
    assert empty["status"] == "empty"
