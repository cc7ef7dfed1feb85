"""moto fixtures for deploy-model and the deploy-on-approval Lambda: SageMaker + S3, packages

moto 5.2 has no UpdateEndpoint. `MotoSageMaker` forwards every call to moto's client except
that one, which goes to a botocore Stubber (checking the request against the API model and the
params the test expects) and is then applied to moto's endpoint, so later describes see the
new config, as they would on AWS.
"""
from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from pipelines.cli.deploy_model import main

REGION = "us-east-1"
BUCKET = "deploy-test-artifacts"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker-execution"
IMAGE = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/ensemble-model-build:1"
ENVIRONMENT = {"SERVE_HANDLER": "steps.stacked_ensemble.inference"}


class MotoSageMaker:
    """moto's SageMaker client with UpdateEndpoint stubbed (see the module docstring)."""

    def __init__(self, client: Any, stub_client: Any):
        self._client = client
        self._stub_client = stub_client
        self.stubber = Stubber(stub_client)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def expect_update(self, endpoint: str, config: str) -> None:
        arn = f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/{endpoint.lower()}"
        self.stubber.add_response("update_endpoint", {"EndpointArn": arn},
                                  {"EndpointName": endpoint, "EndpointConfigName": config})

    def update_endpoint(self, **request: Any) -> dict[str, Any]:
        response = self._stub_client.update_endpoint(**request)
        endpoint = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[request["EndpointName"]]
        endpoint.endpoint_config_name = request["EndpointConfigName"]
        return response


@dataclass
class Aws:
    sm: MotoSageMaker
    s3: Any

    def register(self, group: str, status: str, model_data: str | None = None,
                 environment: dict[str, str] | None = None) -> str:
        """Create a package version with an explicit approval status; return its ARN."""
        groups = self.sm.list_model_package_groups(NameContains=group)
        if group not in [g["ModelPackageGroupName"]
                         for g in groups["ModelPackageGroupSummaryList"]]:
            self.sm.create_model_package_group(ModelPackageGroupName=group)
        version = 1 + len(self.sm.list_model_packages(
            ModelPackageGroupName=group)["ModelPackageSummaryList"])
        return self.sm.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "Environment": environment or ENVIRONMENT,
                                "ModelDataUrl": model_data or
                                f"s3://{BUCKET}/{group}/{version}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]

    def approve(self, arn: str) -> None:
        self.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    def names(self) -> dict[str, list[str]]:
        """Every model, endpoint config and endpoint in the account, by kind."""
        return {
            "models": sorted(m["ModelName"] for m in self.sm.list_models()["Models"]),
            "configs": sorted(c["EndpointConfigName"] for c in
                              self.sm.list_endpoint_configs()["EndpointConfigs"]),
            "endpoints": sorted(e["EndpointName"] for e in self.sm.list_endpoints()["Endpoints"]),
        }

    def tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for tag in self.sm.list_tags(ResourceArn=arn)["Tags"]:
            tags[tag["Key"]] = tag["Value"]
        return tags


@pytest.fixture(scope="session")
def clients() -> tuple[Any, Any, Any]:
    """(sagemaker, sagemaker for the stub, s3): made once, they reach whichever moto mock is
    active (each test gets a fresh one)."""
    return (boto3.client("sagemaker", region_name=REGION),
            boto3.client("sagemaker", region_name=REGION), boto3.client("s3", region_name=REGION))


@pytest.fixture
def aws(clients, monkeypatch):
    """moto SageMaker and S3 with the artifact bucket; the CLI gets the same clients."""
    sm, stub_client, s3 = clients
    with mock_aws():
        s3.create_bucket(Bucket=BUCKET)
        fake = Aws(MotoSageMaker(sm, stub_client), s3)
        monkeypatch.setattr("pipelines.cli.deploy_model._aws_clients", lambda region: (fake.sm, s3))
        with fake.sm.stubber:
            yield fake
            fake.sm.stubber.assert_no_pending_responses()


def model_archive(files: dict[str, Any]) -> bytes:
    """A model.tar.gz holding JSON files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- multi-model segments ----------------------------------------------------------------
BASE = "HousePrices"
STAGING = f"s3://{BUCKET}/MultiModelPipeline/staging"
LIVE = f"s3://{BUCKET}/MultiModelPipeline/live/"
HANDLER = {"SERVE_HANDLER": "steps.multi_model.inference"}


def stage(aws: Aws, segment: str, version: int, status: str) -> str:
    """Put a staged artifact and register it in `<BASE>-<segment>`; return the package ARN."""
    uri = f"{STAGING}/{segment}/v{version}.tar.gz"
    aws.s3.put_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"),
                      Body=model_archive({"model.json": {"segment": segment, "v": version}}))
    return aws.register(f"{BASE}-{segment}", status, model_data=uri, environment=HANDLER)


def live_keys(aws: Aws) -> list[str]:
    listing = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="MultiModelPipeline/live/")
    return sorted(o["Key"].removeprefix("MultiModelPipeline/live/")
                  for o in listing.get("Contents", []))


def read(aws: Aws, key: str) -> bytes:
    return aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def run_cli(capsys, *argv: str) -> tuple[int, Any, str]:
    """(exit status, stdout parsed as JSON or None, stderr) of deploy-model."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err
