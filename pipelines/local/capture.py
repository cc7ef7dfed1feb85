"""Build a template-style module's definition with S3 intercepted, keeping what it uploads.

A SageMaker Projects template module builds its own PipelineSession and uploads code
during `definition()`. `capture_definition` runs that build inside moto's `mock_aws`, creates
any bucket the build touches on first use, and copies every object the build uploaded into
the local store, so the local run finds the code exactly where the definition says.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.handlers

from pipelines.local.store import local_store

_NO_AUTOCREATE = frozenset({"CreateBucket", "DeleteBucket", "ListBuckets"})


def capture_definition(build: Callable[[], str], local_root: str | Path) -> str:
    """Run `build` (returns the definition JSON) with S3 mocked; copy its uploads locally."""
    try:
        import boto3
        from moto import mock_aws
    except ImportError as exc:  # moto is a test/local extra, not needed on AWS
        raise RuntimeError("capturing a template-style module's uploads needs moto: "
                           "pip install 'moto[s3]'") from exc
    created: set[str] = set()
    handler = _bucket_creator(created)
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build.s3", handler))
    try:
        with mock_aws():
            definition = build()
            s3 = boto3.client("s3", region_name="us-east-1")
            store = local_store(local_root)
            for bucket in s3.list_buckets()["Buckets"]:
                paginator = s3.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=bucket["Name"]):
                    for item in page.get("Contents", []):
                        body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"]
                        store.write_bytes(f"s3://{bucket['Name']}/{item['Key']}", body.read())
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(("before-parameter-build.s3", handler))
    return definition


def _bucket_creator(created: set[str]) -> Callable[..., None]:
    """A botocore handler that creates a request's bucket in moto before the call."""

    def create_bucket(params: dict[str, Any], model: Any, **_: Any) -> None:
        bucket = params.get("Bucket")
        if not bucket or bucket in created or model.name in _NO_AUTOCREATE:
            return
        import boto3
        created.add(bucket)
        client = boto3.client("s3", region_name="us-east-1")
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass

    return create_bucket
