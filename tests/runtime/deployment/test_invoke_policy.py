"""The target-model IAM policy, evaluated against allowed and denied target models."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pipelines.cli.multi_model_policy import main
from runtime.deployment.invoke_policy import target_model_patterns, target_model_policy
from steps.multi_model.contract import artifact_key
from tests.runtime.deployment.iam_evaluator import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    evaluate,
    wildcard_match,
)

ENDPOINT = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/house-prices"
OTHER_ENDPOINT = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/other"
INVOKE = "sagemaker:InvokeEndpoint"


def decide(policy: dict, target: str | None, resource: str = ENDPOINT,
           action: str = INVOKE) -> str:
    context = {} if target is None else {"sagemaker:TargetModel": target}
    return evaluate(policy, action, resource, context)


class TestEvaluator:
    """The evaluator against IAM's documented semantics, so the policy tests can trust it."""

    @pytest.mark.parametrize("pattern, value, expected", [
        ("new-york/*", "new-york/v1.tar.gz", True), ("new-york/*", "new-york-city/v1", False),
        ("*", "", True), ("a?c", "abc", True), ("a?c", "ac", False), ("a*c", "a/b/c", True),
        ("New-York/*", "new-york/v1", False), ("v1.tar.gz", "v1xtar.gz", False),
    ])
    def test_wildcards(self, pattern, value, expected):
        assert wildcard_match(pattern, value) is expected

    def test_deny_wins_allow_needs_a_match_and_missing_keys(self):
        allow = {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*",
                 "Condition": {"StringLike": {"sagemaker:TargetModel": ["a/*"]}}}
        deny = {"Effect": "Deny", "Action": INVOKE, "Resource": "*",
                "Condition": {"StringNotLike": {"sagemaker:targetmodel": "a/v1*"}}}
        policy = {"Version": "2012-10-17", "Statement": [allow]}
        assert decide(policy, "a/v2") == ALLOW
        assert decide(policy, "b/v1") == IMPLICIT_DENY
        assert decide(policy, None) == IMPLICIT_DENY  # positive operator, key missing
        policy["Statement"].append(deny)
        assert decide(policy, "a/v1.tar.gz") == ALLOW
        assert decide(policy, "a/v2") == EXPLICIT_DENY
        assert decide(policy, None) == EXPLICIT_DENY  # negated operator, key missing

    def test_unknown_shapes_are_refused(self):
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}
        with pytest.raises(NotImplementedError, match="NotAction"):
            decide(policy, "a")


class TestPolicy:
    @pytest.fixture
    def policy(self):
        return target_model_policy(ENDPOINT, ["New York", "Chicago"])

    def test_document(self, policy):
        patterns = ["chicago/v*.tar.gz", "new-york/v*.tar.gz"]
        assert policy == {"Version": "2012-10-17", "Statement": [
            {"Sid": "InvokeAllowedSegmentModels", "Effect": "Allow", "Action": INVOKE,
             "Resource": ENDPOINT,
             "Condition": {"StringLike": {"sagemaker:TargetModel": patterns}}},
            {"Sid": "DenyOtherSegmentModels", "Effect": "Deny", "Action": INVOKE,
             "Resource": ENDPOINT,
             "Condition": {"StringNotLike": {"sagemaker:TargetModel": patterns}}}]}

    @pytest.mark.parametrize("target", [artifact_key("new-york", 1),
                                        artifact_key("new-york", 12),
                                        artifact_key("chicago", 3)])
    def test_allowed_segments_every_version(self, policy, target):
        assert decide(policy, target) == ALLOW

    @pytest.mark.parametrize("target", [
        artifact_key("san-diego", 1), artifact_key("new-york-city", 1), "New York/v1.tar.gz",
        "new-york.tar.gz", "chicago/model.tar.gz", "chicago/v1.tar", "xchicago/v1.tar.gz",
        "", None])
    def test_other_target_models_are_denied(self, policy, target):
        assert decide(policy, target) == EXPLICIT_DENY

    def test_without_the_deny_statement_others_are_denied_implicitly(self):
        policy = target_model_policy(ENDPOINT, ["chicago"], deny_others=False)
        assert len(policy["Statement"]) == 1
        assert decide(policy, "chicago/v2.tar.gz") == ALLOW
        assert decide(policy, "new-york/v2.tar.gz") == IMPLICIT_DENY

    def test_deny_overrides_a_broader_allow_from_another_policy(self, policy):
        broad = {"Effect": "Allow", "Action": "sagemaker:Invoke*", "Resource": "*"}
        combined = {"Version": "2012-10-17", "Statement": [*policy["Statement"], broad]}
        assert decide(combined, "san-diego/v1.tar.gz") == EXPLICIT_DENY
        assert decide(combined, "chicago/v1.tar.gz") == ALLOW

    def test_only_this_endpoint_and_action(self, policy):
        assert decide(policy, "chicago/v1.tar.gz", resource=OTHER_ENDPOINT) == IMPLICIT_DENY
        assert decide(policy, "chicago/v1.tar.gz",
                      action="sagemaker:DeleteEndpoint") == IMPLICIT_DENY

    def test_iam_accepts_the_document(self, policy):
        with mock_aws():
            iam = boto3.client("iam", region_name="us-east-1")
            created = iam.create_policy(PolicyName="house-prices-invokers",
                                        PolicyDocument=json.dumps(policy))
            with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
                iam.create_policy(PolicyName="broken", PolicyDocument=json.dumps(
                    {**policy, "Statement": [{**policy["Statement"][0], "Effect": "Maybe"}]}))
        assert created["Policy"]["PolicyName"] == "house-prices-invokers"


class TestArguments:
    def test_names_and_ids_name_one_segment(self):
        assert target_model_patterns(["New York", "new-york", "new_york"]) == [
            "new-york/v*.tar.gz"]

    @pytest.mark.parametrize("arn, segments, message", [
        ("arn:aws:s3:::bucket", ["a"], "is not a SageMaker endpoint ARN"),
        ("arn:aws:sagemaker:us-east-1:111122223333:endpoint/*", ["a"], "is not a SageMaker"),
        (ENDPOINT, [], "allowed_segments must be a non-empty list"),
        (ENDPOINT, "chicago", "allowed_segments must be a non-empty list"),
        (ENDPOINT, ["*"], "has no letters or digits"),
    ])
    def test_bad_arguments(self, arn, segments, message):
        with pytest.raises(ValueError, match=message):
            target_model_policy(arn, segments)

    def test_cli_prints_the_policy(self, capsys):
        assert main(["--endpoint-arn", ENDPOINT, "--segments", "Chicago, San Diego"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed == target_model_policy(ENDPOINT, ["Chicago", "San Diego"])

    def test_cli_error_is_one_line_and_exit_2(self, capsys):
        with pytest.raises(SystemExit) as info:
            main(["--endpoint-arn", "nope", "--segments", "Chicago"])
        assert info.value.code == 2
        assert "multi-model-policy: error: endpoint_arn 'nope' is not a SageMaker endpoint " \
               "ARN" in capsys.readouterr().err
