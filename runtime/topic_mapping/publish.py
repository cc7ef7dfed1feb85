"""Write a mapping once and complete its step: shared by the Lambda and `mapping-review accept`.

The mapping goes to its deterministic key with write-if-absent. If the object is already there
with the same bytes (a duplicate delivery, a repeated accept) the step is answered again with
the same ClientRequestToken; different bytes are a conflict that is never overwritten.
"""
from __future__ import annotations

import hashlib

from runtime.ports.callbacks import CallbackAlreadyCompleted, PipelineCallbacks
from runtime.ports.object_store import ObjectStore
from runtime.topic_mapping.errors import PermanentFailure
from steps.sequential_topics.mapping_schema import (
    OUTPUT_MAPPING_URI,
    OUTPUT_RECLUSTER_COUNT,
    OUTPUT_TOPICS,
    MappingDocument,
    dump_document,
    layer_of,
)


def client_request_token(token: str, outcome: str, detail: str) -> str:
    """64 hex characters (SageMaker wants 32-128), the same for the same answer to a step."""
    return hashlib.sha256(f"{token}|{outcome}|{detail}".encode()).hexdigest()


def callback_outputs(uri: str, mapping: MappingDocument) -> dict[str, str]:
    """The step's output parameters: the mapping's URI and a small summary, as strings."""
    layer_topics = [t for t in mapping.topics if layer_of(t.id) == mapping.layer]
    return {OUTPUT_MAPPING_URI: uri, OUTPUT_TOPICS: str(len(layer_topics)),
            OUTPUT_RECLUSTER_COUNT: str(len(mapping.recluster))}


def write_once(store: ObjectStore, uri: str, data: bytes, what: str) -> bool:
    """Create the object; True if this call wrote it, False if identical bytes were there."""
    if store.write_if_absent(uri, data):
        return True
    if store.read_bytes(uri) != data:
        raise PermanentFailure(f"a different {what} already exists at {uri}; it is never "
                               "overwritten")
    return False


def publish_mapping(store: ObjectStore, callbacks: PipelineCallbacks, *, token: str, uri: str,
                    mapping: MappingDocument) -> tuple[dict[str, str], bool]:
    """Write the mapping, answer success; return (outputs, whether the step was already done)."""
    write_once(store, uri, dump_document(mapping), "mapping")
    outputs = callback_outputs(uri, mapping)
    try:
        callbacks.send_success(token, outputs, client_request_token(token, "success", uri))
    except CallbackAlreadyCompleted:
        return outputs, True
    return outputs, False


def send_failure(callbacks: PipelineCallbacks, token: str, reason: str) -> bool:
    """Fail the step; return False if it had already completed (the conflict is not an error)."""
    try:
        callbacks.send_failure(token, reason, client_request_token(token, "failure", reason))
    except CallbackAlreadyCompleted:
        return False
    return True
