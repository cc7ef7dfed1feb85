"""Tracking a SageMaker execution: its facts from Describe/List calls (botocore's Stubber:
moto lacks ListPipelineExecutionSteps) and a managed MLflow server's ARN through the
sagemaker-mlflow plugin, offline."""
from __future__ import annotations

import argparse
import datetime as dt
import http.server
import logging
import os
import threading

import boto3
import mlflow
import pytest
from botocore.stub import Stubber
from mlflow import MlflowClient
from sagemaker_mlflow.host_creds import get_host_creds
from sagemaker_mlflow.mlflow_sagemaker_store import MlflowSageMakerStore

from pipelines.tracking.facts import ExecutionFacts, Trial, aws_facts
from pipelines.tracking.hook import add_arguments, track, track_aws_execution
from runtime.ports.object_store import LocalObjectStore

REGION = "us-east-1"
ACCOUNT = "123456789012"
EXECUTION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/stackedensemblepipeline/execution/e1"
SERVER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/team-server"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/group/7"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def job_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def step(name: str, kind: str | None = None, job: str | None = None) -> dict:
    metadata = {kind: {"Arn": job}} if kind else {}
    return {"StepName": name, "StepStatus": "Succeeded", "Metadata": metadata}


def processing_job(name: str, output: str) -> dict:
    return {"ProcessingJobName": name, "ProcessingJobArn": job_arn("processing-job", name),
            "ProcessingJobStatus": "Completed", "CreationTime": NOW,
            "AppSpecification": {"ImageUri": "img"},
            "ProcessingResources": {"ClusterConfig": {
                "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "evaluation", "S3Output": {
                "S3Uri": output, "LocalPath": "/opt/ml/processing/evaluation",
                "S3UploadMode": "EndOfJob"}}]}}


def trial_summary(name: str, value: float) -> dict:
    return {"TrainingJobName": name, "TrainingJobArn": job_arn("training-job", name),
            "CreationTime": NOW, "TrainingStartTime": NOW,
            "TrainingEndTime": NOW + dt.timedelta(minutes=2),
            "TrainingJobStatus": "Completed", "ObjectiveStatus": "Succeeded",
            "TunedHyperParameters": {"eta": "0.2"},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:rmse",
                                                            "Value": value}}


@pytest.fixture
def stubbed():
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_facts_come_from_the_steps_jobs_across_pages(stubbed):
    client, stubber = stubbed
    arn = {"PipelineExecutionArn": EXECUTION}
    stubber.add_response("describe_pipeline_execution", {
        "PipelineExecutionStatus": "Succeeded", "CreationTime": NOW,
        "LastModifiedTime": NOW + dt.timedelta(minutes=30)}, arn)
    stubber.add_response("list_pipeline_parameters_for_execution", {"PipelineParameters": [
        {"Name": "MaxTuningJobs", "Value": "8"}]}, arn)
    stubber.add_response("list_pipeline_execution_steps", {"PipelineExecutionSteps": [
        step("Tune", "TuningJob", job_arn("hyper-parameter-tuning-job", "tune-e1")),
        step("Evaluate", "ProcessingJob", job_arn("processing-job", "eval-e1"))],
        "NextToken": "page2"}, {**arn, "SortOrder": "Ascending"})
    stubber.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {
        "TrainingJobSummaries": [trial_summary("tune-e1-001", 57.0)], "NextToken": "t2"},
        {"HyperParameterTuningJobName": "tune-e1"})
    stubber.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {
        "TrainingJobSummaries": [trial_summary("tune-e1-002", 55.5)]},
        {"HyperParameterTuningJobName": "tune-e1", "NextToken": "t2"})
    stubber.add_response("describe_processing_job",
                         processing_job("eval-e1", "s3://b/p/e1/Evaluate/evaluation"),
                         {"ProcessingJobName": "eval-e1"})
    stubber.add_response("list_pipeline_execution_steps", {"PipelineExecutionSteps": [
        step("Check"), step("Register", "RegisterModel", PACKAGE)]},
        {**arn, "SortOrder": "Ascending", "NextToken": "page2"})
    facts = aws_facts(client, EXECUTION, "StackedEnsemblePipeline")
    start = int(NOW.timestamp() * 1000)
    trial = {"started": start, "ended": start + 120_000}
    assert facts == ExecutionFacts(
        pipeline_name="StackedEnsemblePipeline", execution_id="e1", execution_arn=EXECUTION,
        status="Succeeded", parameters={"MaxTuningJobs": "8"},
        trials=[Trial("Tune", "tune-e1-001", "Succeeded", {"eta": "0.2"}, "validation:rmse",
                      57.0, **trial),
                Trial("Tune", "tune-e1-002", "Succeeded", {"eta": "0.2"}, "validation:rmse",
                      55.5, **trial)],
        outputs=[("Evaluate", "s3://b/p/e1/Evaluate/evaluation")],
        model_packages=[("Register", PACKAGE)], started=start, ended=start + 30 * 60_000)


def arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_on_aws_nothing_is_tracked_without_a_tracking_uri(stubbed, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client, _ = stubbed  # no response queued: any call would raise
    track_aws_execution(arguments(), client, LocalObjectStore(tmp_path), EXECUTION, "P")


class TestManagedMlflowArn:
    def test_the_plugin_resolves_the_arn_to_its_signed_regional_endpoint(self):
        store = MlflowClient(tracking_uri=SERVER)._tracking_client.store
        assert isinstance(store, MlflowSageMakerStore)
        creds = get_host_creds(SERVER)
        assert (creds.host, creds.auth) == (f"https://{REGION}.experiments.sagemaker.aws", "arn")

    def test_requests_are_signed_for_the_server_and_a_failing_one_is_a_warning(
            self, monkeypatch, tmp_path, caplog):
        """The plugin's own endpoint override sends the signed requests to a local server
        that records them and answers 500: no request leaves the machine."""
        seen: list[dict[str, str]] = []

        class Failing(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the handler's API)
                seen.append(dict(self.headers))
                self.send_error(500)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT",
                               f"http://127.0.0.1:{server.server_port}")
            facts = ExecutionFacts("P", "e1", EXECUTION, "Succeeded", {})
            with caplog.at_level(logging.WARNING, logger="run-pipeline"):
                assert track(lambda: facts, SERVER, LocalObjectStore(tmp_path)) is None
        finally:
            server.shutdown()
            server.server_close()
        assert seen, "no request reached the endpoint"
        assert seen[0]["x-mlflow-sm-tracking-server-arn"] == SERVER
        assert seen[0]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        assert f"/{REGION}/sagemaker-mlflow/aws4_request" in seen[0]["Authorization"]
        assert f"tracking: the execution was not logged to MLflow at {SERVER} (" in caplog.text
        assert mlflow.get_tracking_uri() != SERVER  # the global URI is put back, unset
        assert "MLFLOW_TRACKING_URI" not in os.environ
