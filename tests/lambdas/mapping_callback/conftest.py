"""Fixtures for the mapping callback: moto S3, a stubbed SageMaker client, seeded inputs."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from runtime.ports.callbacks import SageMakerCallbacks
from runtime.ports.object_store import S3ObjectStore
from tests.lambdas.mapping_callback.mapping_fixtures import (
    ARTIFACT_1,
    BUCKET,
    REGION,
    layer1_summary,
    output_archive,
    summary_uri,
)


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials before any client exists; no real AWS call can succeed."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def store(s3) -> S3ObjectStore:
    return S3ObjectStore(s3)


@pytest.fixture
def layer1_inputs(store):
    store.write_bytes(summary_uri(ARTIFACT_1), output_archive(layer1_summary()))
    return store


@pytest.fixture
def sagemaker(aws_env):
    """A SageMaker client whose step-callback calls are stubbed (moto lacks them)."""
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def callbacks(sagemaker) -> SageMakerCallbacks:
    return SageMakerCallbacks(sagemaker[0])


@pytest.fixture
def stubber(sagemaker) -> Stubber:
    return sagemaker[1]
