"""The definition's MlflowConfig and PipelineExperimentConfig name the tracker's experiment,
run and (on AWS) server."""
from __future__ import annotations

import argparse
import logging

import pytest
from mlflow import MlflowClient

from pipelines.tracking.facts import ExecutionFacts
from pipelines.tracking.hook import (
    add_arguments,
    local_tracking_uri,
    track_aws_execution,
    track_local_execution,
)
from pipelines.tracking.naming import mlflow_server, named
from runtime.ports.object_store import LocalObjectStore
from tests.pipelines.tracking.test_local_tracking import DECLARED, local_execution

SERVER = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team"
FACTS = ExecutionFacts("Pipe", "exec1", "arn:...:execution/exec1", "Succeeded",
                       {"TargetColumn": "price"})
SDK_DEFAULT = {"PipelineExperimentConfig": {
    "ExperimentName": {"Get": "Execution.PipelineName"},
    "TrialName": {"Get": "Execution.PipelineExecutionId"}}, "MlflowConfig": None}


def arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


class TestNames:
    def test_the_sdk_default_is_the_pipeline_and_the_execution(self):
        facts = named(FACTS, SDK_DEFAULT)
        assert (facts.experiment, facts.run_name) == ("Pipe", "exec1")

    def test_no_config_is_the_pipeline_and_the_execution(self):
        facts = named(FACTS, None)
        assert (facts.experiment, facts.run_name) == ("Pipe", "exec1")

    def test_experiment_config_with_text_parameters_and_joins(self):
        facts = named(FACTS, {"PipelineExperimentConfig": {
            "ExperimentName": "house-prices",
            "TrialName": {"Std:Join": {"On": "-", "Values": [
                {"Get": "Parameters.TargetColumn"}, {"Get": "Execution.PipelineExecutionId"}]}}}})
        assert (facts.experiment, facts.run_name) == ("house-prices", "price-exec1")

    def test_mlflow_config_names_the_experiment_over_the_experiment_config(self):
        facts = named(FACTS, {**SDK_DEFAULT, "MlflowConfig": {
            "MlflowResourceArn": SERVER, "MlflowExperimentName": "team-prices"}})
        assert (facts.experiment, facts.run_name) == ("team-prices", "exec1")

    def test_an_expression_the_tracker_cannot_resolve_is_named(self):
        with pytest.raises(ValueError, match="PipelineExperimentConfig.TrialName .* is not a "
                                             "name the tracker can resolve"):
            named(FACTS, {"PipelineExperimentConfig": {"TrialName": {"Get": "Steps.A.B"}}})

    def test_the_server_is_mlflow_configs_arn(self):
        assert mlflow_server({"MlflowConfig": {"MlflowResourceArn": SERVER}}) == SERVER
        assert mlflow_server(SDK_DEFAULT) is None
        assert mlflow_server(None) is None


class TestLocalRuns:
    def test_are_logged_under_the_definitions_experiment_and_trial(self, tmp_path):
        definition = {"PipelineExperimentConfig": {"ExperimentName": "prices",
                                                   "TrialName": "first-try"},
                      "MlflowConfig": {"MlflowResourceArn": SERVER}}
        track_local_execution(arguments(), local_execution(tmp_path), DECLARED, {}, definition)
        client = MlflowClient(tracking_uri=local_tracking_uri(tmp_path))  # not the ARN
        experiment = client.get_experiment_by_name("prices")
        (run,) = [r for r in client.search_runs([experiment.experiment_id])
                  if "mlflow.parentRunId" not in r.data.tags]
        assert run.info.run_name == "first-try"
        assert run.data.tags["sagemaker.execution_id"] == "exec1"

    def test_an_unresolvable_name_is_one_warning(self, tmp_path, caplog):
        definition = {"PipelineExperimentConfig": {"ExperimentName": {"Get": "Steps.A.B"}}}
        with caplog.at_level(logging.WARNING, logger="run-pipeline"):
            track_local_execution(arguments(), local_execution(tmp_path), DECLARED, {},
                                  definition)
        assert "tracking: the execution was not logged" in caplog.text
        assert "PipelineExperimentConfig.ExperimentName" in caplog.text


def test_on_aws_mlflow_configs_server_is_the_default_uri(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    used: list[str] = []
    monkeypatch.setattr("pipelines.tracking.hook.track",
                        lambda facts, uri, store, artifact_root=None: used.append(uri))
    definition = {"MlflowConfig": {"MlflowResourceArn": SERVER}}
    store = LocalObjectStore(tmp_path)
    track_aws_execution(arguments(), None, store, "arn:e", "P", definition)
    track_aws_execution(arguments("--tracking-uri", "https://mlflow.example.com"), None, store,
                        "arn:e", "P", definition)
    track_aws_execution(arguments("--no-tracking"), None, store, "arn:e", "P", definition)
    track_aws_execution(arguments(), None, store, "arn:e", "P", SDK_DEFAULT)
    assert used == [SERVER, "https://mlflow.example.com"]
