"""deploy-model for multi-model groups against moto: publish to the live prefix, one endpoint."""
from __future__ import annotations

import pytest

from runtime.deployment.multi_model import default_live_prefix, group_names
from runtime.errors import UserError
from tests.aws_deploy import (
    BASE,
    BUCKET,
    HANDLER,
    IMAGE,
    LIVE,
    REGION,
    ROLE,
    STAGING,
    live_keys,
    read,
    run_cli,
    stage,
)

AWS = ["--role-arn", ROLE, "--region", REGION]


@pytest.fixture
def segments(aws):
    """new-york: v20261101 approved; chicago: v20261101 approved, v20261102 pending;
    boston: pending only; plus a group outside the base."""
    stage(aws, "new-york", 20261101, "Approved")
    stage(aws, "chicago", 20261101, "Approved")
    stage(aws, "chicago", 20261102, "PendingManualApproval")
    stage(aws, "boston", 20261101, "PendingManualApproval")
    aws.register("HousePricesArchive", "Approved")
    return aws


class TestPublishAndDeploy:
    def test_publishes_each_latest_approved_version_and_creates_the_endpoint(self, segments,
                                                                            capsys):
        aws = segments
        code, out, err = run_cli(capsys, "--multi-model", BASE, *AWS)
        assert code == 0
        assert "HousePrices-boston has no approved version" in err
        assert out["calls"] == ["PublishArtifact", "PublishArtifact", "CreateModel",
                                "CreateEndpointConfig", "CreateEndpoint"]
        assert out["target_models"] == ["chicago/v20261101.tar.gz", "new-york/v20261101.tar.gz"]
        assert live_keys(aws) == out["target_models"]
        assert read(aws, "MultiModelPipeline/live/chicago/v20261101.tar.gz") == read(
            aws, "MultiModelPipeline/staging/chicago/v20261101.tar.gz")
        model = aws.sm.describe_model(ModelName=out["model"])
        assert model["PrimaryContainer"] == {
            "Image": IMAGE, "Mode": "MultiModel", "ModelDataUrl": LIVE,
            "Environment": {**HANDLER, "SAGEMAKER_MULTI_MODEL": "true"}}
        assert out["model"].startswith(f"{BASE}-mm-")
        variant = aws.sm.describe_endpoint_config(
            EndpointConfigName=out["endpoint_config"])["ProductionVariants"][0]
        assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)
        assert aws.sm.describe_endpoint(EndpointName=BASE)["EndpointConfigName"] == (
            out["endpoint_config"])

    def test_publishing_again_is_a_no_op(self, segments, capsys):
        run_cli(capsys, "--multi-model", BASE, *AWS)
        before = {key: read(segments, f"MultiModelPipeline/live/{key}")
                  for key in live_keys(segments)}
        code, out, _ = run_cli(capsys, "--multi-model", BASE, *AWS)
        assert (code, out["calls"]) == (0, [])
        assert {key: read(segments, f"MultiModelPipeline/live/{key}")
                for key in live_keys(segments)} == before

    def test_a_newly_approved_version_is_added_beside_the_served_one(self, segments, capsys):
        run_cli(capsys, "--multi-model", BASE, *AWS)
        served_config = segments.sm.describe_endpoint(EndpointName=BASE)["EndpointConfigName"]
        segments.approve(segments.sm.list_model_packages(
            ModelPackageGroupName=f"{BASE}-chicago",
            ModelApprovalStatus="PendingManualApproval")["ModelPackageSummaryList"][0][
                "ModelPackageArn"])
        code, out, _ = run_cli(capsys, "--multi-model", BASE, *AWS)
        assert (code, out["calls"]) == (0, ["PublishArtifact"])
        assert live_keys(segments) == ["chicago/v20261101.tar.gz", "chicago/v20261102.tar.gz",
                                       "new-york/v20261101.tar.gz"]
        assert segments.sm.describe_endpoint(EndpointName=BASE)["EndpointConfigName"] == (
            served_config)

    def test_a_different_object_under_a_served_name_is_never_overwritten(self, segments,
                                                                         capsys):
        key = "MultiModelPipeline/live/new-york/v20261101.tar.gz"
        segments.s3.put_object(Bucket=BUCKET, Key=key, Body=b"someone else's model")
        code, _, err = run_cli(capsys, "--multi-model", BASE, "--dry-run", *AWS)
        assert code == 1  # found while planning, so a dry run tells too
        code, _, err = run_cli(capsys, "--multi-model", BASE, *AWS)
        assert code == 1
        assert err.endswith(f"refused: s3://{BUCKET}/{key} already holds a different artifact; "
                            "served names are never overwritten: stage and approve a new "
                            "version\n")
        assert read(segments, key) == b"someone else's model"

    def test_a_list_of_groups_and_an_explicit_live_prefix(self, segments, capsys):
        code, out, _ = run_cli(capsys, "--multi-model-groups", f"{BASE}-new-york",
                               "--endpoint", "ny-only", "--live-prefix",
                               f"s3://{BUCKET}/elsewhere/", *AWS)
        assert code == 0 and out["target_models"] == ["new-york/v20261101.tar.gz"]
        assert read(segments, "elsewhere/new-york/v20261101.tar.gz")
        assert live_keys(segments) == []

    def test_dry_run_publishes_nothing(self, segments, capsys):
        code, out, _ = run_cli(capsys, "--multi-model", BASE, "--dry-run", *AWS)
        assert code == 0
        assert out["calls"][0] == {"operation": "PublishArtifact", "request": {
            "Source": f"{STAGING}/chicago/v20261101.tar.gz",
            "Target": f"{LIVE}chicago/v20261101.tar.gz", "IfNoneMatch": "*"}}
        assert live_keys(segments) == [] and segments.names()["endpoints"] == []


class TestRefusals:
    def test_serverless_options_are_refused(self, segments, capsys):
        code, _, err = run_cli(capsys, "--multi-model", BASE, "--memory-size", "2048", *AWS)
        assert code == 2 and "multi-model endpoints run on instances" in err

    def test_no_groups_under_the_base(self, aws, capsys):
        code, _, err = run_cli(capsys, "--multi-model", "NoSuchBase", *AWS)
        assert (code, err) == (2, "deploy-model: error: no model package groups named "
                                  "NoSuchBase-<segment id>; check the base name (the "
                                  "multi-model pipeline's model_package_group_name)\n")

    def test_no_approved_version_in_any_group(self, aws, capsys):
        stage(aws, "boston", 20261101, "PendingManualApproval")
        code, _, err = run_cli(capsys, "--multi-model", BASE, *AWS)
        assert code == 1 and "none of the groups HousePrices-boston has an approved" in err

    def test_an_aws_error_names_its_code(self, segments, capsys):
        code, _, err = run_cli(capsys, "--multi-model", BASE, "--live-prefix",
                               "s3://no-such-bucket-here/live/", *AWS)
        assert code == 1
        assert err.splitlines()[-1] == ("deploy-model: AWS error: NoSuchBucket: The specified "
                                        "bucket does not exist")
        assert "Traceback" not in err


class TestHelpers:
    def test_group_names_keep_only_base_dash_segment_ids(self):
        assert group_names(["HousePrices-new-york", "HousePricesArchive", "HousePrices-",
                            "HousePrices-Chicago", "Other-x", "HousePrices-la"],
                           "HousePrices") == ["HousePrices-la", "HousePrices-new-york"]

    def test_the_live_prefix_must_be_derivable(self):
        package = {"ModelPackageGroupName": "G", "ModelPackageVersion": 1,
                   "InferenceSpecification": {"Containers": [
                       {"ModelDataUrl": "s3://b/pipeline/other/x/v1.tar.gz"}]}}
        with pytest.raises(UserError, match="does not end in /staging/; pass --live-prefix"):
            default_live_prefix([package])
