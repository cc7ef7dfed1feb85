"""Names of what deploy-model creates: deterministic, versioned, within SageMaker's limits."""
from __future__ import annotations

import pytest

from runtime.deployment.naming import (
    MAX_NAME,
    NAME_PATTERN,
    check_endpoint_name,
    name_stem,
    resource_name,
)
from runtime.deployment.requests import model_request

PACKAGE = {"ModelPackageGroupName": "G", "ModelPackageVersion": 12,
           "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/12",
           "InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/k"}]}}
ROLE = "arn:aws:iam::123456789012:role/r"


def test_the_same_package_and_settings_give_the_same_name():
    first = model_request(PACKAGE, "diabetes", ROLE)
    assert first == model_request(PACKAGE, "diabetes", ROLE)
    assert first["ModelName"].startswith("diabetes-v12-")
    assert model_request(PACKAGE, "diabetes", ROLE + "2")["ModelName"] != first["ModelName"]


@pytest.mark.parametrize("endpoint", ["a", "x" * 63, "ab-" * 21])
@pytest.mark.parametrize("label", ["v1", "v9999999999", "mm"])
def test_names_fit_sagemakers_limit_and_keep_the_endpoint_stem(endpoint, label):
    name = resource_name(endpoint, label, {"spec": endpoint})
    assert len(name) <= MAX_NAME and NAME_PATTERN.fullmatch(name)
    assert name.startswith(name_stem(endpoint))


@pytest.mark.parametrize("name", ["", "-lead", "trail-", "under_score", "x" * 64])
def test_invalid_endpoint_names_are_refused(name):
    with pytest.raises(ValueError, match="is invalid: use 1 to 63 letters, digits"):
        check_endpoint_name(name)
