"""End to end: a template-style module written with plain SDK v3 calls, captured and run.

The module uploads its code while building (ScriptProcessor code, ModelTrainer source_dir
and sm_drivers); `capture_definition` keeps those uploads in the local store.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.input_data import InputDataTarget, prepare_input_data
from pipelines.local import capture_definition, run_local_pipeline
from pipelines.local.store import local_store
from runtime.ports.model_registry import LocalModelRegistry

from . import definitions as d

pytestmark = pytest.mark.integration


def _seeded_parameters(definition: str, root: Path) -> dict:
    """As run-pipeline does: the module's default InputDataUrl seeded with sample rows."""
    target = InputDataTarget(local_store(root), "template-pipeline",
                             sample_data=lambda uri: d.sample_rows(12))
    return prepare_input_data(json.loads(definition)["Parameters"], {}, target)


@pytest.fixture(scope="module")
def template_run(tmp_path_factory):
    from . import template_pipeline

    root = tmp_path_factory.mktemp("template") / "local"
    definition = capture_definition(
        lambda: template_pipeline.get_pipeline("us-east-1").definition(), root)
    execution = run_local_pipeline(
        definition, _seeded_parameters(definition, root), local_root=root,
        pipeline_name="template-pipeline")
    return root, json.loads(definition), execution


class TestTemplateModule:
    def test_definition_uploads_land_in_the_store(self, template_run):
        root, definition, _ = template_run
        train = next(s for s in definition["Steps"] if s["Name"] == "Train")
        channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                    for c in train["Arguments"]["InputDataConfig"]}
        store = local_store(root)
        assert f"{channels['code']}/train.py" in store.list_uris(channels["code"])
        assert f"{channels['sm_drivers']}/sourcecode.json" in store.list_uris(
            channels["sm_drivers"])

    def test_chain_succeeds_and_registers_the_model(self, template_run):
        root, _, execution = template_run
        assert execution.status == "Succeeded", execution.failure_reason
        assert [r.status for r in execution.steps.values()] == [
            "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Skipped"]
        package = LocalModelRegistry(root).list_packages("template-models")[0]
        model_uri = execution.steps["Train"].properties["ModelArtifacts"]["S3ModelArtifacts"]
        assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_uri
        assert package["ModelApprovalStatus"] == "PendingManualApproval"
        assert package["CustomerMetadataProperties"]["PipelineExecutionArn"] == (
            execution.execution_arn)
        assert local_store(root).exists(model_uri)

    def test_model_trainer_driver_passes_hyperparameters(self, template_run):
        root, _, execution = template_run
        log = Path(root, "jobs", execution.execution_id, "Train", "job.log").read_text()
        assert "train.py --learning_rate 0.01 --kind good" in log
        assert "metric validation:rmse=0.000000;" in log


class TestTemplateTuningModule:
    def test_sdk_tuner_runs_trials_and_registers_the_top_model(self, tmp_path: Path):
        from . import template_pipeline

        root = tmp_path / "local"
        definition = capture_definition(
            lambda: template_pipeline.get_tuning_pipeline("us-east-1", "Random").definition(),
            root)
        hyperparameters = json.loads(definition)["Steps"][1]["Arguments"][
            "TrainingJobDefinition"]["StaticHyperParameters"]
        assert {"sagemaker_program", "sagemaker_submit_directory"} <= set(hyperparameters)

        execution = run_local_pipeline(definition, _seeded_parameters(definition, root),
                                       local_root=root)

        assert execution.status == "Succeeded", execution.failure_reason
        best = execution.steps["Tune"].properties["BestTrainingJob"]["TrainingJobName"]
        top_model = f"s3://template-bucket/tuning/{best}/output/model.tar.gz"
        package = LocalModelRegistry(root).list_packages("tuned-models")[0]
        assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == top_model
        assert local_store(root).exists(top_model)
