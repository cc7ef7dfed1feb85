"""IAM policy for callers that may invoke only some segments' models on a multi-model endpoint.

SageMaker puts the invoked model's name in the condition key `sagemaker:TargetModel` (the
`TargetModel` of InvokeEndpoint, e.g. "new-york/v3.tar.gz"). The policy allows
sagemaker:InvokeEndpoint on the endpoint only for target models matching the allowed segments'
patterns (contract.target_model_pattern: "<segment id>/v*.tar.gz", every published version);
anything else is denied implicitly. With `deny_others` (the default) a Deny statement with
StringNotLike on the same patterns also overrides any broader Allow the principal has from
another policy, and denies a call without a TargetModel.

`multi-model-policy` prints it.
"""
from __future__ import annotations

import re

from steps.multi_model.contract import segment_id, target_model_pattern

POLICY_VERSION = "2012-10-17"
ACTION = "sagemaker:InvokeEndpoint"
CONDITION_KEY = "sagemaker:TargetModel"
ALLOW_SID = "InvokeAllowedSegmentModels"
DENY_SID = "DenyOtherSegmentModels"
_ENDPOINT_ARN = re.compile(r"arn:aws(-[a-z]+)*:sagemaker:[a-z0-9-]+:\d{12}:"
                           r"endpoint/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def target_model_patterns(allowed_segments: list[str]) -> list[str]:
    """The StringLike patterns of the allowed segments (names or ids; 'New York' and
    'new-york' are one segment), sorted, unique."""
    if isinstance(allowed_segments, str) or not allowed_segments:
        raise ValueError("allowed_segments must be a non-empty list of segment names, e.g. "
                         "['New York', 'Chicago']")
    return sorted({target_model_pattern(segment_id(name)) for name in allowed_segments})


def target_model_policy(endpoint_arn: str, allowed_segments: list[str], *,
                        deny_others: bool = True) -> dict:
    """The policy document (a dict ready for json.dumps) for the given endpoint and segments."""
    if not isinstance(endpoint_arn, str) or not _ENDPOINT_ARN.fullmatch(endpoint_arn):
        raise ValueError(f"endpoint_arn {endpoint_arn!r} is not a SageMaker endpoint ARN like "
                         f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/my-endpoint")
    patterns = target_model_patterns(allowed_segments)
    statements = [{"Sid": ALLOW_SID, "Effect": "Allow", "Action": ACTION,
                   "Resource": endpoint_arn,
                   "Condition": {"StringLike": {CONDITION_KEY: patterns}}}]
    if deny_others:
        statements.append({"Sid": DENY_SID, "Effect": "Deny", "Action": ACTION,
                           "Resource": endpoint_arn,
                           "Condition": {"StringNotLike": {CONDITION_KEY: patterns}}})
    return {"Version": POLICY_VERSION, "Statement": statements}
