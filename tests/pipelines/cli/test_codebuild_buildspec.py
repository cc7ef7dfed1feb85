"""codebuild-buildspec.yml, run as CodeBuild would, against a moto server on loopback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from pipelines.project_tags import get_pipeline_custom_tags

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BUILDSPEC = ROOT / "codebuild-buildspec.yml"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-PipelineRole"


@pytest.fixture
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_buildspec_build_phase_upserts_and_starts_with_project_tags(moto_server):
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["phases"]["install"]["commands"][-2:] == [
        "python -m pip install --require-hashes -r requirements/core.txt",
        "python -m pip install --no-deps ."]
    env = {**os.environ, **{k: str(v) for k, v in spec["env"]["variables"].items()},
           "SAGEMAKER_PROJECT_NAME": "demo", "SAGEMAKER_PROJECT_ID": "p-abc123",
           # moto has no SageMaker projects, so no project ARN whose tags could be read.
           "SAGEMAKER_PROJECT_ARN": "", "SAGEMAKER_PIPELINE_ROLE_ARN": ROLE,
           "ARTIFACT_BUCKET": "demo-artifacts", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": moto_server, "RUN_PIPELINE_ARGS": "--no-wait",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    # CodeBuild runs a phase's commands one after another in one shell (exports persist).
    script = "set -euo pipefail\n" + "\n".join(spec["phases"]["build"]["commands"])
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pipelines.stacked_ensemble.pipeline: 4 steps, OK" in result.stdout

    client = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=moto_server)
    pipeline = client.describe_pipeline(PipelineName="demo-p-abc123")
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]}
    assert tags == {"sagemaker:project-name": "demo", "sagemaker:project-id": "p-abc123"}
    executions = client.list_pipeline_executions(PipelineName="demo-p-abc123")
    assert len(executions["PipelineExecutionSummaries"]) == 1
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="demo-artifacts")["Contents"]]
    assert any(k.startswith("demo-p-abc123/code/") and k.endswith("sourcedir.tar.gz") for k in keys)


def test_project_tags_are_read_from_the_project_and_merged():
    client = boto3.client("sagemaker", region_name="us-east-1")
    project = "arn:aws:sagemaker:us-east-1:123456789012:project/demo"
    with Stubber(client) as stub:
        stub.add_response("list_tags", {"Tags": [
            {"Key": "aws:cloudformation:stack-name", "Value": "x"},
            {"Key": "sagemaker:project-name", "Value": "demo"},
            {"Key": "cost-centre", "Value": "42"}]}, {"ResourceArn": project})
        tags = get_pipeline_custom_tags([{"Key": "sagemaker:project-name", "Value": "override"}],
                                        "us-east-1", project, sagemaker_client=client)
    assert tags == [{"Key": "sagemaker:project-name", "Value": "override"},
                    {"Key": "cost-centre", "Value": "42"}]
