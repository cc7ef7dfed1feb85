"""Parsing of `s3://bucket/key` URIs, shared by every object-store implementation."""
from __future__ import annotations

from runtime.errors import UserError


class InvalidS3Uri(UserError, ValueError):
    """A string that should have been an `s3://bucket/key` URI was not."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Return (bucket, key) for `s3://bucket/key`; the key may be empty for a bucket URI."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InvalidS3Uri(f"expected an s3://bucket/key URI, got {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise InvalidS3Uri(f"S3 URI {uri!r} has no bucket name")
    return bucket, key


def join_s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
