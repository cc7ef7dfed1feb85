"""deploy-model against moto: create, update in place, roll back, dry-run, delete, refusals."""
from __future__ import annotations

import re

import pytest

from runtime.deployment.naming import PREVIOUS_CONFIG_TAG
from tests.aws_deploy import BUCKET, ENVIRONMENT, IMAGE, REGION, ROLE, run_cli

GROUP = "StackedEnsemblePackageGroup"
AWS = ["--role-arn", ROLE, "--region", REGION]


def endpoint_config(aws, endpoint: str = GROUP) -> str:
    return aws.sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]


class TestCreate:
    def test_an_approved_package_becomes_model_config_and_serverless_endpoint(self, aws, capsys):
        arn = aws.register(GROUP, "Approved")
        code, out, _ = run_cli(capsys, arn, *AWS)
        assert code == 0
        assert out["calls"] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
        assert re.fullmatch(rf"{GROUP}-v1-[0-9a-f]{{8}}", out["model"])
        assert aws.names() == {"models": [out["model"]], "configs": [out["endpoint_config"]],
                               "endpoints": [GROUP]}
        endpoint = aws.sm.describe_endpoint(EndpointName=GROUP)
        assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
            "InService", out["endpoint_config"])
        config = aws.sm.describe_endpoint_config(EndpointConfigName=out["endpoint_config"])
        assert config["ProductionVariants"][0]["ServerlessConfig"] == {
            "MemorySizeInMB": 6144, "MaxConcurrency": 1}
        model = aws.sm.describe_model(ModelName=out["model"])
        assert model["PrimaryContainer"]["ModelPackageName"] == arn
        assert model["ExecutionRoleArn"] == ROLE
        for resource in (endpoint["EndpointArn"], config["EndpointConfigArn"], model["ModelArn"]):
            tags = aws.tags(resource)
            assert (tags["deployed-by"], tags["deploy-model:endpoint"]) == ("deploy-model", GROUP)

    def test_real_time_capacity_and_a_copied_container(self, aws, capsys):
        aws.register(GROUP, "Approved")
        code, out, _ = run_cli(capsys, f"{GROUP}/1", "--endpoint", "diabetes-rt",
                               "--instance-type", "ml.m5.xlarge", "--instance-count", "2",
                               "--copy-container", *AWS)
        assert code == 0 and out["endpoint"] == "diabetes-rt"
        variant = aws.sm.describe_endpoint_config(
            EndpointConfigName=out["endpoint_config"])["ProductionVariants"][0]
        assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.xlarge", 2)
        assert "ServerlessConfig" not in variant
        assert aws.sm.describe_model(ModelName=out["model"])["PrimaryContainer"] == {
            "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{GROUP}/1/model.tar.gz",
            "Environment": ENVIRONMENT}

    def test_latest_approved_skips_newer_pending_and_rejected_versions(self, aws, capsys):
        aws.register(GROUP, "Approved")
        newest_approved = aws.register(GROUP, "Approved")
        aws.register(GROUP, "Rejected")
        aws.register(GROUP, "PendingManualApproval")
        code, out, _ = run_cli(capsys, "--group", GROUP, "--latest-approved", *AWS)
        assert (code, out["packages"]) == (0, [newest_approved])
        assert out["model"].startswith(f"{GROUP}-v2-")

    def test_deploying_what_is_served_again_sends_nothing(self, aws, capsys):
        arn = aws.register(GROUP, "Approved")
        run_cli(capsys, arn, *AWS)
        before = aws.names()
        code, out, _ = run_cli(capsys, arn, *AWS)
        assert (code, out["calls"], aws.names()) == (0, [], before)

    def test_other_capacity_gives_new_names(self, aws, capsys):
        arn = aws.register(GROUP, "Approved")
        _, first, _ = run_cli(capsys, arn, "--dry-run", *AWS)
        _, second, _ = run_cli(capsys, arn, "--dry-run", "--memory-size", "2048", *AWS)
        assert first["model"] == second["model"]
        assert first["endpoint_config"] != second["endpoint_config"]


class TestApprovalGuard:
    @pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
    def test_a_package_that_is_not_approved_is_refused_with_one_line(self, aws, capsys, status):
        arn = aws.register(GROUP, status)
        code, out, err = run_cli(capsys, arn, *AWS)
        assert (code, out) == (1, None)
        assert err == (f"deploy-model: refused: {GROUP}/1 is {status}, not Approved; approve "
                       f"it first (model-registry approve {GROUP}/1 --description ...)\n")
        assert aws.names() == {"models": [], "configs": [], "endpoints": []}

    def test_a_group_without_an_approved_version(self, aws, capsys):
        aws.register(GROUP, "PendingManualApproval")
        code, _, err = run_cli(capsys, "--group", GROUP, "--latest-approved", *AWS)
        assert code == 1
        assert err == (f"deploy-model: refused: group {GROUP!r} has no approved version; "
                       f"approve one with `model-registry approve {GROUP}/VERSION "
                       "--description ...`\n")

    @pytest.mark.parametrize("argv, message", [
        (["--group", "NoSuchGroup", "--latest-approved"], "unknown model package group 'NoSuchGroup'"),
        (["arn:aws:sagemaker:us-east-1:123456789012:model-package/nope/7"],
         "unknown model package 'arn:aws:sagemaker:us-east-1:123456789012:model-package/nope/7'"),
        ([f"{GROUP}/9"], f"group {GROUP!r} has no version 9; its versions: 1"),
    ])
    def test_unknown_packages_and_groups_are_user_errors(self, aws, capsys, argv, message):
        aws.register(GROUP, "Approved")
        code, _, err = run_cli(capsys, *argv, *AWS)
        assert code == 2
        assert err.startswith(f"deploy-model: error: {message}") and err.count("\n") == 1


class TestArguments:
    @pytest.mark.parametrize("argv, message", [
        ([], "name exactly one of a package"),
        (["G/1", "--rollback", "E"], "got ARN|GROUP/VERSION, --rollback"),
        (["--group", GROUP], "--group and --latest-approved go together"),
        (["G/1", "--memory-size", "3000"], "--memory-size must be one of 1024, 2048"),
        (["G/1", "--max-concurrency", "201"], "--max-concurrency must be 1 to 200"),
        (["G/1", "--instance-type", "m5.large"], "--instance-type must look like ml.m5.large"),
        (["G/1", "--instance-type", "ml.m5.large", "--memory-size", "2048"],
         "--memory-size/--max-concurrency are serverless options"),
        (["--multi-model-groups", "A-x,A-y"], "--multi-model-groups needs --endpoint NAME"),
    ])
    def test_bad_options_exit_2_with_one_line(self, aws, capsys, argv, message):
        aws.register("G", "Approved")
        code, _, err = run_cli(capsys, *argv, *AWS)
        assert code == 2
        assert err.startswith("deploy-model: error: ") and message in err
        assert err.count("\n") == 1

    def test_a_role_is_required(self, aws, capsys, monkeypatch):
        monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
        aws.register(GROUP, "Approved")
        code, _, err = run_cli(capsys, f"{GROUP}/1", "--region", REGION)
        assert code == 2 and "pass --role-arn" in err


class TestDryRun:
    def test_prints_the_requests_and_creates_nothing(self, aws, capsys):
        arn = aws.register(GROUP, "Approved")
        code, out, _ = run_cli(capsys, arn, "--dry-run", *AWS)
        assert code == 0 and out["dry_run"] is True
        assert [c["operation"] for c in out["calls"]] == [
            "CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
        create_model, create_config, create_endpoint = (c["request"] for c in out["calls"])
        assert create_model["PrimaryContainer"] == {"ModelPackageName": arn}
        assert create_config["ProductionVariants"] == [{
            "VariantName": "AllTraffic", "ModelName": create_model["ModelName"],
            "ServerlessConfig": {"MemorySizeInMB": 6144, "MaxConcurrency": 1}}]
        assert create_endpoint == {"EndpointName": GROUP,
                                   "EndpointConfigName": create_config["EndpointConfigName"],
                                   "Tags": [{"Key": "deployed-by", "Value": "deploy-model"},
                                            {"Key": "deploy-model:endpoint", "Value": GROUP}]}
        assert aws.names() == {"models": [], "configs": [], "endpoints": []}

    def test_an_update_is_printed_not_sent(self, aws, capsys):
        run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        served = endpoint_config(aws)
        code, out, _ = run_cli(capsys, aws.register(GROUP, "Approved"), "--dry-run", *AWS)
        assert code == 0
        assert [c["operation"] for c in out["calls"]] == [
            "CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "AddTags"]
        assert out["calls"][3]["request"]["Tags"] == [{"Key": PREVIOUS_CONFIG_TAG,
                                                       "Value": served}]
        assert endpoint_config(aws) == served and len(aws.names()["models"]) == 1


class TestUpdateAndRollback:
    def test_a_new_version_updates_the_endpoint_in_place_and_rollback_returns(self, aws, capsys):
        run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        first = endpoint_config(aws)
        created = aws.sm.describe_endpoint(EndpointName=GROUP)["CreationTime"]
        arn2 = aws.register(GROUP, "PendingManualApproval")
        aws.approve(arn2)
        _, plan, _ = run_cli(capsys, "--group", GROUP, "--latest-approved", "--dry-run", *AWS)
        second = plan["endpoint_config"]
        aws.sm.expect_update(GROUP, second)

        code, out, _ = run_cli(capsys, "--group", GROUP, "--latest-approved", *AWS)
        assert code == 0
        assert out["calls"] == ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "AddTags"]
        endpoint = aws.sm.describe_endpoint(EndpointName=GROUP)
        assert (endpoint["EndpointConfigName"], endpoint["CreationTime"]) == (second, created)
        assert aws.tags(endpoint["EndpointArn"])[PREVIOUS_CONFIG_TAG] == first

        aws.sm.expect_update(GROUP, first)
        code, out, _ = run_cli(capsys, "--rollback", GROUP, "--region", REGION)
        assert (code, out["calls"], endpoint_config(aws)) == (0, ["UpdateEndpoint", "AddTags"],
                                                              first)
        assert aws.tags(endpoint["EndpointArn"])[PREVIOUS_CONFIG_TAG] == second

        aws.sm.expect_update(GROUP, second)  # rolling back a rollback goes forward again
        assert run_cli(capsys, "--rollback", GROUP, "--region", REGION)[0] == 0
        assert endpoint_config(aws) == second
        assert len(aws.names()["configs"]) == 2 and aws.names()["endpoints"] == [GROUP]

    def test_rollback_without_a_previous_config_is_refused(self, aws, capsys):
        run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        code, _, err = run_cli(capsys, "--rollback", GROUP, "--region", REGION)
        assert code == 1
        assert err == (f"deploy-model: refused: endpoint {GROUP!r} has no previous config to "
                       "roll back to: it has served one config since deploy-model created it\n")

    def test_rollback_of_an_unknown_endpoint(self, aws, capsys):
        code, _, err = run_cli(capsys, "--rollback", "nope", "--region", REGION)
        assert (code, err) == (2, "deploy-model: error: no endpoint named 'nope' in this "
                                  "account and region\n")


def foreign_endpoint(aws, name: str) -> None:
    """An endpoint, config and model someone created without deploy-model."""
    aws.sm.create_model(ModelName=f"{name}-byhand", ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE})
    aws.sm.create_endpoint_config(EndpointConfigName=f"{name}-byhand", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-byhand",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}])
    aws.sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-byhand")


class TestOwnership:
    def test_an_endpoint_deploy_model_did_not_create_is_left_alone(self, aws, capsys):
        foreign_endpoint(aws, GROUP)
        before = aws.names()
        code, _, err = run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        assert code == 1
        assert err == (f"deploy-model: refused: endpoint {GROUP!r} was not created by "
                       "deploy-model (it lacks the tag deployed-by=deploy-model); leaving it "
                       "alone\n")
        assert endpoint_config(aws) == f"{GROUP}-byhand"
        assert run_cli(capsys, "--delete", GROUP, "--region", REGION)[0] == 1
        after = aws.names()
        assert after["endpoints"] == before["endpoints"]
        assert f"{GROUP}-byhand" in after["models"]


class TestDelete:
    def test_removes_the_endpoint_and_its_configs_and_models_and_nothing_else(self, aws, capsys):
        run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        arn2 = aws.register(GROUP, "Approved")
        aws.sm.expect_update(GROUP, run_cli(capsys, arn2, "--dry-run", *AWS)[1]["endpoint_config"])
        run_cli(capsys, arn2, *AWS)
        run_cli(capsys, arn2, "--endpoint", f"{GROUP}-canary", *AWS)  # another endpoint of ours
        foreign_endpoint(aws, f"{GROUP}-byhand-endpoint")
        ours = aws.names()
        assert len(ours["models"]) == 4 and len(ours["configs"]) == 4

        code, out, _ = run_cli(capsys, "--delete", GROUP, "--region", REGION)
        assert code == 0
        assert out["calls"] == ["DeleteEndpoint", "DeleteEndpointConfig", "DeleteEndpointConfig",
                                "DeleteModel", "DeleteModel"]
        left = aws.names()
        assert left["endpoints"] == [f"{GROUP}-byhand-endpoint", f"{GROUP}-canary"]
        assert all(name.startswith((f"{GROUP}-canary", f"{GROUP}-byhand")) for name in
                   left["models"] + left["configs"])
        assert len(left["models"]) == 2 and len(left["configs"]) == 2

        code, _, err = run_cli(capsys, "--delete", GROUP, "--region", REGION)
        assert code == 2 and "nothing to delete" in err

    def test_dry_run_deletes_nothing(self, aws, capsys):
        run_cli(capsys, aws.register(GROUP, "Approved"), *AWS)
        before = aws.names()
        code, out, _ = run_cli(capsys, "--delete", GROUP, "--dry-run", "--region", REGION)
        assert code == 0 and [c["operation"] for c in out["calls"]] == [
            "DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]
        assert aws.names() == before
