"""A template-style module that asks STS for its account while it builds (as modules that
derive a default bucket name do): building it without AWS is refused, naming the call."""
from __future__ import annotations

import boto3


def get_pipeline(region: str = "us-east-1"):
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    raise AssertionError(f"the STS call was answered ({account}); it must be refused offline")
