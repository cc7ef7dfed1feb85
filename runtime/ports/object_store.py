"""Object store port: read, write, list and write-if-absent by `s3://` URI.

`S3ObjectStore` talks to S3 through a boto3 client; `LocalObjectStore` maps
`s3://bucket/key` to `<root>/bucket/key` so a local run leaves plain, inspectable files.
Both write atomically: a reader never sees a half-written object.
"""
from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import Any

from runtime.ports.uris import join_s3_uri, split_s3_uri
from steps.common.atomic import TEMP_PREFIX, write_bytes_atomic, write_if_absent


class ObjectNotFound(KeyError):
    """The object named by a URI does not exist."""

    def __init__(self, uri: str):
        super().__init__(uri)
        self.uri = uri

    def __str__(self) -> str:
        return f"no object at {self.uri}"


class TransientStoreError(RuntimeError):
    """A retryable failure (throttling, timeout, 5xx): the caller may try again later."""


class ObjectStore(abc.ABC):
    """What run-time code needs from S3, and nothing more."""

    @abc.abstractmethod
    def read_bytes(self, uri: str) -> bytes:
        """Return the object's content; raise ObjectNotFound when it does not exist."""

    @abc.abstractmethod
    def write_bytes(self, uri: str, data: bytes) -> None:
        """Create or replace the object atomically."""

    @abc.abstractmethod
    def write_if_absent(self, uri: str, data: bytes) -> bool:
        """Create the object only if no object exists at `uri`; return True if this call wrote it."""

    @abc.abstractmethod
    def list_uris(self, prefix_uri: str) -> list[str]:
        """Every object URI whose key starts with the prefix's key, sorted."""

    def exists(self, uri: str) -> bool:
        try:
            self.read_bytes(uri)
        except ObjectNotFound:
            return False
        return True

    def has_objects(self, prefix_uri: str) -> bool:
        """Whether any object's key starts with the prefix's key (SageMaker's S3Prefix rule).

        Folder markers (keys ending in '/', as the S3 console creates them) do not count.
        """
        return any(not uri.endswith("/") for uri in self.list_uris(prefix_uri))

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")


_TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
    "ServiceUnavailable", "RequestTimeTooSkewed",
})


class S3ObjectStore(ObjectStore):
    """The AWS implementation: one boto3 S3 client, passed in (never created at import)."""

    def __init__(self, s3_client: Any):
        self._s3 = s3_client

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        try:
            return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey as exc:
            raise ObjectNotFound(uri) from exc
        except Exception as exc:  # botocore ClientError / connection errors
            raise _translate(exc, uri) from exc

    def write_bytes(self, uri: str, data: bytes) -> None:
        bucket, key = split_s3_uri(uri)
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as exc:
            raise _translate(exc, uri) from exc

    def write_if_absent(self, uri: str, data: bytes) -> bool:
        bucket, key = split_s3_uri(uri)
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except Exception as exc:
            code = error_code(exc)
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise _translate(exc, uri) from exc
        return True

    def exists(self, uri: str) -> bool:
        """HeadObject: no download."""
        bucket, key = split_s3_uri(uri)
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            translated = _translate(exc, uri)
            if isinstance(translated, ObjectNotFound):
                return False
            raise translated from exc
        return True

    def has_objects(self, prefix_uri: str) -> bool:
        """Stops at the first page that holds an object; a missing bucket holds none."""
        bucket, prefix = split_s3_uri(prefix_uri)
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                if any(not obj["Key"].endswith("/") for obj in page.get("Contents", [])):
                    return True
        except Exception as exc:
            if error_code(exc) == "NoSuchBucket":
                return False
            raise _translate(exc, prefix_uri) from exc
        return False

    def list_uris(self, prefix_uri: str) -> list[str]:
        bucket, prefix = split_s3_uri(prefix_uri)
        uris: list[str] = []
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                uris.extend(join_s3_uri(bucket, obj["Key"]) for obj in page.get("Contents", []))
        except Exception as exc:
            raise _translate(exc, prefix_uri) from exc
        return sorted(uris)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ('AccessDenied', '404', ...); '' otherwise."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, uri: str) -> Exception:
    """Map a botocore error to ObjectNotFound / TransientStoreError, or return it unchanged."""
    code = error_code(exc)
    if code in ("NoSuchKey", "404", "NotFound"):
        return ObjectNotFound(uri)
    if code in _TRANSIENT_CODES or type(exc).__name__ in (
            "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return TransientStoreError(f"{code or type(exc).__name__} on {uri}: {exc}")
    return exc


class LocalObjectStore(ObjectStore):
    """`s3://bucket/key` -> `<root>/bucket/key`; writes go through a temp file and a rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def path_for(self, uri: str) -> Path:
        """The local file that holds the object at `uri` (it may not exist yet)."""
        bucket, key = split_s3_uri(uri)
        path = (self.root / bucket / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"S3 URI {uri!r} escapes the local store root {self.root}")
        return path

    def uri_for(self, path: str | os.PathLike[str]) -> str:
        rel = Path(path).resolve().relative_to(self.root)
        bucket, *key = rel.parts
        return join_s3_uri(bucket, "/".join(key))

    def read_bytes(self, uri: str) -> bytes:
        path = self.path_for(uri)
        if not path.is_file():
            raise ObjectNotFound(uri)
        return path.read_bytes()

    def write_bytes(self, uri: str, data: bytes) -> None:
        write_bytes_atomic(self.path_for(uri), data)

    def write_if_absent(self, uri: str, data: bytes) -> bool:
        return write_if_absent(self.path_for(uri), data)

    def list_uris(self, prefix_uri: str) -> list[str]:
        self.path_for(prefix_uri)  # refuses a prefix that escapes the root ('..')
        bucket, prefix = split_s3_uri(prefix_uri)
        bucket_dir = self.root / bucket
        if not bucket_dir.is_dir():
            return []
        # Walk only the deepest directory that the key prefix names in full.
        start = bucket_dir / prefix.rpartition("/")[0] if "/" in prefix else bucket_dir
        if not start.is_dir():
            return []
        uris = []
        for path in start.rglob("*"):
            if path.is_file() and not path.name.startswith(TEMP_PREFIX):
                key = path.relative_to(bucket_dir).as_posix()
                if key.startswith(prefix):
                    uris.append(join_s3_uri(bucket, key))
        return sorted(uris)

    def exists(self, uri: str) -> bool:
        return self.path_for(uri).is_file()

