"""The deploy-on-approval function (moto), its EventBridge rule, template and zip."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import cfnlint.api
import pytest
from cfnlint.decode import decode
from moto import mock_aws

from lambdas.build_package import REPO
from lambdas.deploy_on_approval import handler, package
from lambdas.deploy_on_approval.events import InvalidEvent, PackageStateChange
from lambdas.deploy_on_approval.settings import ConfigurationError, Settings
from runtime.ports.object_store import S3ObjectStore
from tests.aws_deploy import REGION, ROLE
from tests.pipelines.cli.test_deploy_multi_model import LIVE, live_keys, stage

TEMPLATE = REPO / "lambdas" / "deploy_template.yaml"
GROUP = "StackedEnsemblePackageGroup"
ENV = {"ROLE_ARN": ROLE, "MULTI_MODEL_BASES": "HousePrices", "LIVE_PREFIX": LIVE}


def state_change(group: str, status: str, version: int = 1) -> dict:
    """An event as EventBridge delivers it for a model package state change."""
    return {
        "version": "0", "id": "2f9d5c3e-0000-4000-8000-000000000000",
        "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
        "account": "123456789012", "time": "2026-11-23T07:00:00Z", "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:123456789012:model-package/"
                      f"{group.lower()}/{version}"],
        "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": version,
                   "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:123456789012:model-package/"
                                      f"{group.lower()}/{version}",
                   "ModelApprovalStatus": status, "ModelPackageStatus": "Completed"},
    }


@pytest.fixture(scope="module")
def template() -> dict:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return parsed


class TestHandler:
    def test_an_approval_deploys_the_groups_newest_approved_version(self, aws):
        aws.register(GROUP, "Approved")
        newest = aws.register(GROUP, "Approved")
        summary = handler.deploy_approved(
            PackageStateChange.parse(state_change(GROUP, "Approved", 1)),
            Settings.from_environ(ENV), aws.sm, S3ObjectStore(aws.s3))
        assert summary["packages"] == [newest]
        assert summary["calls"] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
        config = aws.sm.describe_endpoint_config(EndpointConfigName=aws.sm.describe_endpoint(
            EndpointName=GROUP)["EndpointConfigName"])
        assert config["ProductionVariants"][0]["ServerlessConfig"] == {
            "MemorySizeInMB": 6144, "MaxConcurrency": 1}

    def test_the_same_event_twice_deploys_once(self, aws):
        aws.register(GROUP, "Approved")
        change = PackageStateChange.parse(state_change(GROUP, "Approved"))
        settings = Settings.from_environ(ENV)
        handler.deploy_approved(change, settings, aws.sm, S3ObjectStore(aws.s3))
        before = aws.names()
        again = handler.deploy_approved(change, settings, aws.sm, S3ObjectStore(aws.s3))
        assert (again["calls"], aws.names()) == ([], before)

    def test_a_segment_group_is_published_to_the_multi_model_endpoint(self, aws):
        stage(aws, "new-york", 20261101, "Approved")
        summary = handler.deploy_approved(
            PackageStateChange.parse(state_change("HousePrices-new-york", "Approved")),
            Settings.from_environ(ENV), aws.sm, S3ObjectStore(aws.s3))
        assert summary["endpoint"] == "HousePrices"
        assert summary["calls"][0] == "PublishArtifact"
        assert live_keys(aws) == ["new-york/v20261101.tar.gz"]
        model = aws.sm.describe_model(ModelName=summary["model"])
        assert model["PrimaryContainer"]["Mode"] == "MultiModel"

    def test_lambda_handler_reads_its_settings_from_the_environment(self, aws, monkeypatch):
        for name, value in {**ENV, "MEMORY_SIZE": "2048", "MAX_CONCURRENCY": "3"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handler, "_clients", lambda: (aws.sm, S3ObjectStore(aws.s3)))
        aws.register(GROUP, "Approved")
        summary = handler.lambda_handler(state_change(GROUP, "Approved"), None)
        config = aws.sm.describe_endpoint_config(EndpointConfigName=summary["endpoint_config"])
        assert config["ProductionVariants"][0]["ServerlessConfig"] == {
            "MemorySizeInMB": 2048, "MaxConcurrency": 3}

    def test_a_state_other_than_approved_is_ignored(self, aws):
        aws.register(GROUP, "Rejected")
        summary = handler.deploy_approved(
            PackageStateChange.parse(state_change(GROUP, "Rejected")),
            Settings.from_environ(ENV), aws.sm, S3ObjectStore(aws.s3))
        assert "skipped" in summary and aws.names()["endpoints"] == []

    @pytest.mark.parametrize("event, message", [
        ({"source": "aws.s3", "detail-type": "Object Created"}, "got source 'aws.s3'"),
        ({"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change",
          "detail": {"ModelPackageGroupName": "G"}},
         "lacks ModelPackageArn, ModelApprovalStatus"),
    ])
    def test_malformed_events_are_rejected(self, event, message):
        with pytest.raises(InvalidEvent, match=message):
            PackageStateChange.parse(event)

    @pytest.mark.parametrize("env, message", [
        ({}, "ROLE_ARN must be the models' execution role ARN"),
        ({"ROLE_ARN": ROLE, "MEMORY_SIZE": "lots"}, "MEMORY_SIZE must be a whole number"),
        ({"ROLE_ARN": ROLE, "MEMORY_SIZE": "1000"}, "memory-size must be one of"),
    ])
    def test_bad_settings_name_the_variable(self, env, message):
        with pytest.raises(ConfigurationError, match=message):
            Settings.from_environ(env)


@pytest.fixture(scope="module")
def pattern(template) -> str:
    """The rule's EventPattern as deployed with ModelPackageGroupPrefix=StackedEnsemble."""
    pattern = copy.deepcopy(
        template["Resources"]["ApprovedPackageRule"]["Properties"]["EventPattern"])
    names = pattern["detail"]["ModelPackageGroupName"]
    assert names == [{"prefix": {"Ref": "ModelPackageGroupPrefix"}}]
    names[0]["prefix"] = "StackedEnsemble"
    return json.dumps(pattern)


class TestRule:
    """The rule's pattern against state-change events in moto's EventBridge.

    moto 5.2's TestEventPattern answers nothing (its backend raises NotImplementedError), so
    the pattern is put on a real rule of moto's default bus with an SQS target, and each event
    goes through PutEvents: a delivered message means the rule fired.
    """

    @pytest.mark.parametrize("group, status, fires", [
        (GROUP, "Approved", True),
        (GROUP, "Rejected", False),
        (GROUP, "PendingManualApproval", False),
        ("SomeoneElsesGroup", "Approved", False),
    ])
    def test_fires_only_when_our_package_becomes_approved(self, pattern, group, status, fires):
        event = state_change(group, status)
        with mock_aws():
            events = boto3.client("events", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            queue = sqs.create_queue(QueueName="deliveries")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name="approved-package", EventPattern=pattern)
            events.put_targets(Rule="approved-package", Targets=[{"Id": "q", "Arn": queue_arn}])
            sent = events.put_events(Entries=[{
                "Source": event["source"], "DetailType": event["detail-type"],
                "Resources": event["resources"], "Detail": json.dumps(event["detail"])}])
            delivered = sqs.receive_message(QueueUrl=queue).get("Messages", [])
        assert sent["FailedEntryCount"] == 0
        assert len(delivered) == (1 if fires else 0)
        if fires:
            assert json.loads(delivered[0]["Body"])["detail"] == event["detail"]


def role_statements(template: dict) -> dict[str, dict]:
    role = template["Resources"]["DeployFunctionRole"]["Properties"]
    return {s["Sid"]: s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


class TestTemplate:
    def test_cfn_lint_passes(self):
        assert [f"{m.rule.id} {m.message}" for m in cfnlint.api.lint_file(TEMPLATE)] == []

    def test_the_role_grants_only_what_a_deploy_needs(self, template):
        actions = {a for s in role_statements(template).values() for a in as_list(s["Action"])}
        assert actions == {
            "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage",
            "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
            "sagemaker:ListModelPackages", "sagemaker:DescribeModel",
            "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeEndpoint", "sagemaker:ListTags",
            "sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint",
            "sagemaker:UpdateEndpoint", "sagemaker:AddTags", "iam:PassRole", "s3:GetObject",
            "s3:PutObject", "s3:ListBucket"}
        assert not any(a.startswith("sagemaker:Delete") for a in actions)

    def test_sagemaker_resources_carry_the_project_prefix(self, template):
        for sid, statement in role_statements(template).items():
            if sid == "ListPackageVersions":  # ListModelPackages takes no resource type
                assert statement["Resource"] == "*"
                continue
            for resource in as_list(statement["Resource"]):
                text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else resource
                assert text != "*", sid
                if ":sagemaker:" in text:
                    assert "/${ResourcePrefix}*" in text, (sid, text)

    def test_only_the_execution_role_may_be_passed_and_only_to_sagemaker(self, template):
        statement = role_statements(template)["PassOnlyTheExecutionRole"]
        assert statement["Resource"] == {"Ref": "ExecutionRoleArn"}
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}

    def test_the_rule_targets_the_function_with_a_dead_letter_queue(self, template):
        (target,) = template["Resources"]["ApprovedPackageRule"]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["DeployFunction", "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeployFailureQueue", "Arn"]}
        function = template["Resources"]["DeployFunction"]["Properties"]
        assert function["Handler"] == "lambdas.deploy_on_approval.handler.lambda_handler"


class TestPackage:
    def test_the_zip_holds_every_module_the_handler_imports_and_nothing_heavy(self, tmp_path):
        archive = tmp_path / "deploy.zip"
        package.write_package(archive)
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(tmp_path / "code")
        code = tmp_path / "code"
        probe = (
            "import json, sys\n"
            "import lambdas.deploy_on_approval.handler\n"
            "ours = {n: getattr(m, '__file__', '') for n, m in sys.modules.items()\n"
            "        if n.split('.')[0] in ('lambdas', 'pipelines', 'runtime', 'steps')}\n"
            "heavy = sorted(n for n in sys.modules if n.split('.')[0] in\n"
            "               ('rich', 'sagemaker', 'waitress', 'pandas', 'numpy'))\n"
            "print(json.dumps({'ours': ours, 'heavy': heavy}))\n")
        result = subprocess.run([sys.executable, "-c", probe], cwd=code, capture_output=True,
                                text=True, env={"PYTHONPATH": str(code), "PATH": "/usr/bin"},
                                check=True)
        report = json.loads(result.stdout)
        outside = {n: f for n, f in report["ours"].items()
                   if f and not Path(f).resolve().is_relative_to(code.resolve())}
        assert outside == {} and report["heavy"] == []

    def test_the_zip_is_reproducible(self):
        assert package.build_zip(package.package_files()) == package.build_zip(
            package.package_files())
