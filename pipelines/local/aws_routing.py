"""Route the AWS calls of code written for AWS to the local implementations, unchanged.

While a route is active (`routed_to_local(...)`), every boto3/botocore call made in this
process is answered locally, before anything is signed or sent (no credentials, no network):

- S3 `GetObject` (with `Range`), `PutObject`, `HeadObject`, `ListObjectsV2`/`ListObjects`
  (prefix, delimiter, pagination), `DeleteObject`/`DeleteObjects`, `CopyObject` and the
  multipart upload calls boto3's `upload_file` uses: against the local object store;
- SageMaker `SendPipelineExecutionStepSuccess`/`Failure`: against the local callbacks, so a
  waiting Callback step completes (a second answer is a ConflictException, a malformed token
  a ValidationException, as on SageMaker);
- any other call raises `LocalCallRefused` naming the service and operation.

It works through botocore's event system, as botocore's own Stubber does: a
`before-parameter-build` handler keeps the call's parameters, a `before-call` handler returns
the response. The handlers are registered when this module is imported, on every botocore
session created afterwards and on boto3's default session if it exists, so a client is routed
when it was created after that import: the local runner imports this module with its package,
before it imports any consumer or Lambda function.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError
from botocore.response import StreamingBody

from runtime.errors import UserError
from runtime.ports.callbacks import (
    CallbackAlreadyCompleted,
    CallbackTokenRejected,
    PipelineCallbacks,
)
from runtime.ports.object_store import LocalObjectStore, ObjectNotFound
from runtime.ports.uris import join_s3_uri

_PARAMS = "local_route_params"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class LocalCallRefused(BotoCoreError, UserError):
    """An AWS call the local run has no implementation for (a command's exit status 2)."""

    fmt = ("{service}:{operation} is not available in a local run: only S3 object calls "
           "(get, put, head, list, delete, copy) and SageMaker "
           "SendPipelineExecutionStepSuccess/Failure are routed to the local store and "
           "callbacks")


@dataclass
class LocalAws:
    """What the routed calls act on: a local object store and (optionally) local callbacks."""

    store: LocalObjectStore
    callbacks: PipelineCallbacks | None = None
    execution_arn: str = "arn:aws:sagemaker:local:000000000000:pipeline/local/execution/local"
    _uploads: dict[str, dict[int, bytes]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(self, service: str, operation: str, params: Mapping[str, Any]
               ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, parsed response) for one call; raise LocalCallRefused."""
        handler = _HANDLERS.get((service, operation))
        if handler is None:
            raise LocalCallRefused(service=service, operation=operation)
        try:
            return handler(self, params)
        except ObjectNotFound as exc:
            if operation == "HeadObject":
                return _error(404, "404", "Not Found")
            return _error(404, "NoSuchKey", f"The specified key does not exist: {exc.uri}")
        except ValueError as exc:  # a key escaping the store, a malformed range
            return _error(400, "InvalidArgument", str(exc))

    # ---- S3 -------------------------------------------------------------------------------
    def _uri(self, params: Mapping[str, Any], bucket: str = "Bucket", key: str = "Key") -> str:
        return join_s3_uri(params[bucket], params[key])

    def get_object(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        data = self.store.read_bytes(self._uri(params))
        status, headers = 200, _object_headers(self.store, self._uri(params), data)
        wanted = params.get("Range")
        if wanted:
            data, content_range = _slice(data, wanted)
            status, headers = 206, {**headers, "ContentRange": content_range}
        return status, {**headers, "ContentLength": len(data),
                        "Body": StreamingBody(io.BytesIO(data), len(data))}

    def head_object(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        data = self.store.read_bytes(self._uri(params))
        return 200, {**_object_headers(self.store, self._uri(params), data),
                     "ContentLength": len(data)}

    def put_object(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        data = _body_bytes(params.get("Body", b""))
        uri = self._uri(params)
        if params.get("IfNoneMatch") == "*":
            if not self.store.write_if_absent(uri, data):
                return _error(412, "PreconditionFailed", "At least one of the pre-conditions "
                              "you specified did not hold")
        else:
            self.store.write_bytes(uri, data)
        return 200, {"ETag": _etag(data)}

    def copy_object(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        source = params["CopySource"]
        if isinstance(source, str):
            bucket, _, key = source.lstrip("/").partition("/")
            source = {"Bucket": bucket, "Key": key.split("?versionId=")[0]}
        data = self.store.read_bytes(self._uri(source))
        self.store.write_bytes(self._uri(params), data)
        return 200, {"CopyObjectResult": {"ETag": _etag(data),
                                          "LastModified": dt.datetime.now(dt.UTC)}}

    def delete_object(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        self.store.path_for(self._uri(params)).unlink(missing_ok=True)
        return 204, {}

    def delete_objects(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        deleted = []
        for item in params["Delete"]["Objects"]:
            self.delete_object({"Bucket": params["Bucket"], "Key": item["Key"]})
            deleted.append({"Key": item["Key"]})
        return 200, {"Deleted": [] if params["Delete"].get("Quiet") else deleted}

    def list_objects_v2(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        start = params.get("ContinuationToken") or params.get("StartAfter") or ""
        contents, prefixes, truncated = self._list(params, start)
        response = {"Name": params["Bucket"], "Prefix": params.get("Prefix", ""),
                    "MaxKeys": params.get("MaxKeys", 1000), "IsTruncated": truncated,
                    "KeyCount": len(contents) + len(prefixes), "Contents": contents,
                    "CommonPrefixes": prefixes}
        if truncated:
            last = (contents + prefixes)[-1]
            response["NextContinuationToken"] = last.get("Key") or last["Prefix"]
        return 200, _encoded(response, params)

    def list_objects(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        contents, prefixes, truncated = self._list(params, params.get("Marker") or "")
        response = {"Name": params["Bucket"], "Prefix": params.get("Prefix", ""),
                    "MaxKeys": params.get("MaxKeys", 1000), "IsTruncated": truncated,
                    "Contents": contents, "CommonPrefixes": prefixes}
        if truncated:
            last = (contents + prefixes)[-1]
            response["NextMarker"] = last.get("Key") or last["Prefix"]
        return 200, _encoded(response, params)

    def _list(self, params: Mapping[str, Any], start: str
              ) -> tuple[list[dict[str, Any]], list[dict[str, str]], bool]:
        bucket, prefix = params["Bucket"], params.get("Prefix", "")
        delimiter, limit = params.get("Delimiter", ""), int(params.get("MaxKeys", 1000))
        contents: list[dict[str, Any]] = []
        prefixes: list[dict[str, str]] = []
        for uri in self.store.list_uris(join_s3_uri(bucket, prefix)):
            key = uri[len(f"s3://{bucket}/"):]
            rest = key[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                if common > start and (not prefixes or prefixes[-1]["Prefix"] != common):
                    if len(contents) + len(prefixes) == limit:
                        return contents, prefixes, True
                    prefixes.append({"Prefix": common})
                continue
            if key <= start:
                continue
            if len(contents) + len(prefixes) == limit:
                return contents, prefixes, True
            path = self.store.path_for(uri)
            stat = path.stat()
            contents.append({"Key": key, "Size": stat.st_size, "StorageClass": "STANDARD",
                             "ETag": _etag(path.read_bytes()),
                             "LastModified": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)})
        return contents, prefixes, False

    def create_multipart_upload(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        upload_id = uuid.uuid4().hex
        with self._lock:
            self._uploads[upload_id] = {}
        return 200, {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": upload_id}

    def upload_part(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        data = _body_bytes(params.get("Body", b""))
        with self._lock:
            parts = self._uploads.get(params["UploadId"])
            if parts is None:
                return _error(404, "NoSuchUpload", f"no upload {params['UploadId']}")
            parts[int(params["PartNumber"])] = data
        return 200, {"ETag": _etag(data)}

    def complete_multipart_upload(self, params: Mapping[str, Any]
                                  ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            parts = self._uploads.pop(params["UploadId"], None)
        if parts is None:
            return _error(404, "NoSuchUpload", f"no upload {params['UploadId']}")
        numbers = [p["PartNumber"] for p in params.get("MultipartUpload", {}).get("Parts", [])]
        data = b"".join(parts[n] for n in (numbers or sorted(parts)))
        self.store.write_bytes(self._uri(params), data)
        return 200, {"Bucket": params["Bucket"], "Key": params["Key"], "ETag": _etag(data)}

    def abort_multipart_upload(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._uploads.pop(params["UploadId"], None)
        return 204, {}

    # ---- SageMaker callbacks ---------------------------------------------------------------
    def send_step_success(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        outputs = {p["Name"]: p["Value"] for p in params.get("OutputParameters") or []}
        return self._answer(lambda callbacks: callbacks.send_success(
            params["CallbackToken"], outputs, params.get("ClientRequestToken", "")))

    def send_step_failure(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._answer(lambda callbacks: callbacks.send_failure(
            params["CallbackToken"], params.get("FailureReason", ""),
            params.get("ClientRequestToken", "")))

    def _answer(self, send: Callable[[PipelineCallbacks], None]) -> tuple[int, dict[str, Any]]:
        if self.callbacks is None:
            raise LocalCallRefused(service="sagemaker", operation="SendPipelineExecutionStep*")
        try:
            send(self.callbacks)
        except CallbackAlreadyCompleted as exc:
            return _error(409, "ConflictException", str(exc))
        except (CallbackTokenRejected, ValueError) as exc:
            return _error(400, "ValidationException", str(exc))
        return 200, {"PipelineExecutionArn": self.execution_arn}


_HANDLERS: dict[tuple[str, str], Callable[[LocalAws, Mapping[str, Any]],
                                          tuple[int, dict[str, Any]]]] = {
    ("s3", "GetObject"): LocalAws.get_object,
    ("s3", "HeadObject"): LocalAws.head_object,
    ("s3", "PutObject"): LocalAws.put_object,
    ("s3", "CopyObject"): LocalAws.copy_object,
    ("s3", "DeleteObject"): LocalAws.delete_object,
    ("s3", "DeleteObjects"): LocalAws.delete_objects,
    ("s3", "ListObjectsV2"): LocalAws.list_objects_v2,
    ("s3", "ListObjects"): LocalAws.list_objects,
    ("s3", "CreateMultipartUpload"): LocalAws.create_multipart_upload,
    ("s3", "UploadPart"): LocalAws.upload_part,
    ("s3", "CompleteMultipartUpload"): LocalAws.complete_multipart_upload,
    ("s3", "AbortMultipartUpload"): LocalAws.abort_multipart_upload,
    ("sagemaker", "SendPipelineExecutionStepSuccess"): LocalAws.send_step_success,
    ("sagemaker", "SendPipelineExecutionStepFailure"): LocalAws.send_step_failure,
}


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"Error": {"Code": code, "Message": message}}


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def _object_headers(store: LocalObjectStore, uri: str, data: bytes) -> dict[str, Any]:
    modified = store.path_for(uri).stat().st_mtime
    return {"ETag": _etag(data), "ContentType": "binary/octet-stream", "AcceptRanges": "bytes",
            "LastModified": dt.datetime.fromtimestamp(modified, dt.UTC), "Metadata": {}}


def _slice(data: bytes, wanted: str) -> tuple[bytes, str]:
    match = _RANGE.fullmatch(wanted.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"unsupported Range {wanted!r}: expected bytes=START-END")
    first, last = match.groups()
    if not first:  # the last N bytes
        start, end = max(0, len(data) - int(last)), len(data) - 1
    else:
        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
    return data[start:end + 1], f"bytes {start}-{end}/{len(data)}"


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return body.read()


def _encoded(response: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """As S3 answers EncodingType=url (botocore asks for it and decodes the answer)."""
    if params.get("EncodingType") != "url":
        return response
    response["EncodingType"] = "url"
    for item in response["Contents"]:
        item["Key"] = quote(item["Key"], safe="/")
    for item in response["CommonPrefixes"]:
        item["Prefix"] = quote(item["Prefix"], safe="/")
    for name in ("Prefix", "Delimiter", "StartAfter", "Marker", "NextMarker"):
        if response.get(name):
            response[name] = quote(response[name], safe="/")
    return response


# ---- the botocore hooks ---------------------------------------------------------------------
_active: list[LocalAws] = []
_active_lock = threading.Lock()


@contextlib.contextmanager
def routed_to_local(local: LocalAws) -> Iterator[LocalAws]:
    """Answer every AWS call made in this process locally inside the block (see the module
    docstring); blocks nest, the innermost answers."""
    with _active_lock:
        _active.append(local)
    try:
        yield local
    finally:
        with _active_lock:
            _active.remove(local)


def _current() -> LocalAws | None:
    with _active_lock:
        return _active[-1] if _active else None


def _keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    if _current() is not None:
        context[_PARAMS] = dict(params)


def _answer_locally(model: Any, context: dict[str, Any], **_: Any
                    ) -> tuple[AWSResponse, dict[str, Any]] | None:
    local = _current()
    if local is None:
        return None
    service = model.service_model.service_name
    status, parsed = local.answer(service, model.name, context.get(_PARAMS, {}))
    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    return AWSResponse(f"local://{service}", status, {}, None), parsed


_HOOKS = (("before-parameter-build", _keep_params), ("before-call", _answer_locally))


def _register() -> None:
    for event, handler in _HOOKS:
        if (event, handler) not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append((event, handler))
    if boto3.DEFAULT_SESSION is not None:  # its clients to come copy its handlers
        for event, handler in _HOOKS:
            boto3.DEFAULT_SESSION.events.register(event, handler, unique_id=f"local-{event}")


_register()
