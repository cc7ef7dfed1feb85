"""Test-wide environment: no network, no real AWS, no model downloads."""
import logging
import os

import pytest

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


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """A command's logging set-up (basicConfig(force=True) on the root logger) must not
    outlive its test: later tests would see its handler write to their stderr."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and type(handler).__module__ != "_pytest.logging":
            root.removeHandler(handler)
    root.setLevel(level)


def pytest_collection_modifyitems(items):
    """A test that names no tier is a unit test, so `-m unit` selects it."""
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS[1:]):
            item.add_marker(pytest.mark.unit)
