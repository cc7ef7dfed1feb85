"""Read a step's inputs from the object store; every unusable input is a PermanentFailure.

Transient store errors (TransientStoreError) pass through so the record is retried.
"""
from __future__ import annotations

import io
import lzma
import posixpath
import tarfile
import zlib
from typing import TypeVar

from pydantic import BaseModel

from runtime.ports.object_store import ObjectNotFound, ObjectStore
from runtime.topic_mapping.errors import PermanentFailure
from steps.sequential_topics.mapping_schema import (
    TOPIC_SUMMARY_FILE,
    MappingDocument,
    SchemaError,
    TopicSummary,
    load_document,
)

Doc = TypeVar("Doc", bound=BaseModel)

# What reading a damaged archive raises. The archive is already in memory, so none of these
# is an I/O hiccup that a retry could cure: truncated gzip (EOFError), bad deflate data
# (zlib.error), a bad gzip/bz2 header (OSError), xz (LZMAError), a bad tar header (TarError).
_CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)


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
    except _CORRUPT_ARCHIVE as exc:
        raise PermanentFailure(f"{archive_uri} is not a readable tar archive "
                               f"({type(exc).__name__}); SageMaker writes output.tar.gz as a "
                               "gzip-compressed tar") from None
    try:
        return load_document(TopicSummary, content, f"{TOPIC_SUMMARY_FILE} in {archive_uri}")
    except SchemaError as exc:
        raise PermanentFailure(str(exc)) from None


def _read(store: ObjectStore, uri: str, what: str) -> bytes:
    try:
        return store.read_bytes(uri)
    except ObjectNotFound:
        raise PermanentFailure(f"no {what} at {uri}") from None


def check_layers(layer: int, summary: TopicSummary, summary_uri: str,
                 previous: MappingDocument | None, previous_uri: str) -> None:
    """The step's `layer` argument, its layer summary and the previous mapping must agree.

    Without this, a summary of another layer would be mapped under this layer's key, and the
    next layer would read a mapping of the wrong depth.
    """
    if summary.layer != layer:
        raise PermanentFailure(f"the step is for layer {layer} but {summary_uri} summarises "
                               f"layer {summary.layer}: pass the model_artifact of the layer "
                               f"{layer} training step")
    if layer == 1 and previous_uri:
        raise PermanentFailure(f"layer 1 takes no previous_mapping, got {previous_uri}")
    if layer > 1 and previous is None:
        raise PermanentFailure(f"layer {layer} needs the layer {layer - 1} mapping as "
                               "previous_mapping, got none")
    if previous is not None and previous.layer != layer - 1:
        raise PermanentFailure(f"the step is for layer {layer} but previous_mapping "
                               f"{previous_uri} is a layer {previous.layer} mapping; pass the "
                               f"layer {layer - 1} mapping")
