"""Test-wide environment: no network, no real AWS, no model downloads."""
import os

# Before anything imports boto3 or the SageMaker SDK.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

# moto's SageMaker and S3 with registered packages, for deploy-model and the deploy Lambda.
pytest_plugins = ["tests.aws_deploy"]

TIERS = ("unit", "definition", "integration", "e2e")


def pytest_collection_modifyitems(items):
    """A test that names no tier is a unit test, so `-m unit` selects it."""
    import pytest

    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS[1:]):
            item.add_marker(pytest.mark.unit)
