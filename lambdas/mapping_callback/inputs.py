"""Read a step's inputs from the object store; every unusable input is a PermanentFailure.

Transient store errors (TransientStoreError) pass through so the record is retried.
"""
from __future__ import annotations

import io
import posixpath
import tarfile
from typing import TypeVar

from pydantic import BaseModel

from lambdas.mapping_callback.errors import PermanentFailure
from pipelines.ports.object_store import ObjectNotFound, ObjectStore
from steps.sequential_topics.mapping_schema import (
    TOPIC_SUMMARY_FILE,
    SchemaError,
    TopicSummary,
    load_document,
)

Doc = TypeVar("Doc", bound=BaseModel)


def read_document(store: ObjectStore, uri: str, model: type[Doc], what: str) -> Doc:
    """A JSON document from the store, validated against its schema."""
    data = _read(store, uri, what)
    try:
        return load_document(model, data, f"{what} {uri}")
    except SchemaError as exc:
        raise PermanentFailure(str(exc)) from None


def read_topic_summary(store: ObjectStore, archive_uri: str) -> TopicSummary:
    """topic_summary.json from inside the layer's output.tar.gz."""
    data = _read(store, archive_uri, "layer output archive")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            member = next((m for m in archive.getmembers() if m.isfile()
                           and posixpath.normpath(m.name) == TOPIC_SUMMARY_FILE), None)
            if member is None:
                raise PermanentFailure(
                    f"{archive_uri} holds no {TOPIC_SUMMARY_FILE}: the layer's training job must "
                    f"write it to SM_OUTPUT_DATA_DIR")
            content = archive.extractfile(member).read()
    except tarfile.TarError:
        raise PermanentFailure(f"{archive_uri} is not a readable tar archive; SageMaker writes "
                               "output.tar.gz as a gzip-compressed tar") from None
    try:
        return load_document(TopicSummary, content, f"{TOPIC_SUMMARY_FILE} in {archive_uri}")
    except SchemaError as exc:
        raise PermanentFailure(str(exc)) from None


def _read(store: ObjectStore, uri: str, what: str) -> bytes:
    try:
        return store.read_bytes(uri)
    except ObjectNotFound:
        raise PermanentFailure(f"no {what} at {uri}") from None
