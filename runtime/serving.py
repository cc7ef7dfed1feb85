"""Serving models from the object store: a multi-model prefix behind the serve module's cache.

`ObjectStoreArtifacts` lists and opens the `.tar.gz` artifacts under an `s3://` prefix of any
object store; `artifact_store` picks it (a local store's prefix) or a plain directory;
`build_app` puts the LRU `ModelCache` behind the serve module's app with its `/models` and
`/metrics` routes. Used by `multi-model-endpoint` and by local deployment.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from runtime.ports.object_store import LocalObjectStore, ObjectNotFound, ObjectStore
from runtime.ports.uris import InvalidS3Uri, split_s3_uri
from steps.serve.app import DEFAULT_MAX_REQUEST_BYTES, ServingApp
from steps.serve.model_cache import (
    ArtifactStore,
    DirectoryArtifacts,
    ModelCache,
    is_artifact_name,
    unknown_model,
)

DEFAULT_LOCAL_ROOT = ".sagemaker-local"


class ObjectStoreArtifacts(ArtifactStore):
    """Artifacts are the `.tar.gz` objects under an `s3://bucket/prefix/` of an object store."""

    def __init__(self, store: ObjectStore, prefix_uri: str):
        split_s3_uri(prefix_uri)  # InvalidS3Uri for anything but s3://bucket[/key]
        self.store = store
        self.prefix = prefix_uri.rstrip("/") + "/"
        self.location = self.prefix

    def names(self) -> list[str]:
        names = (uri[len(self.prefix):] for uri in self.store.list_uris(self.prefix))
        return sorted(name for name in names if is_artifact_name(name))

    def open(self, name: str) -> BinaryIO:
        try:
            return io.BytesIO(self.store.read_bytes(self.prefix + name))
        except ObjectNotFound:
            raise unknown_model(name, self.location) from None


def artifact_store(prefix: str, local_root: str | Path = DEFAULT_LOCAL_ROOT) -> ArtifactStore:
    """The store for PREFIX: an s3:// prefix of the local store under `local_root`, or a
    directory; ValueError with the fix when neither exists."""
    if prefix.startswith("s3://"):
        root = Path(local_root)
        if not root.is_dir():
            raise ValueError(f"--local-root {root} does not exist: pass the local root that "
                             f"holds {prefix} (run-pipeline --local writes {DEFAULT_LOCAL_ROOT}/)")
        try:
            return ObjectStoreArtifacts(LocalObjectStore(root), prefix)
        except InvalidS3Uri as exc:
            raise ValueError(f"PREFIX {prefix!r}: {exc}") from None
    if not Path(prefix).is_dir():
        raise ValueError(f"PREFIX {prefix!r} is neither an s3://bucket/prefix URI nor an "
                         "existing directory")
    return DirectoryArtifacts(prefix)


def build_app(cache: ModelCache, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
              ) -> ServingApp:
    """The serve module's app over `cache`, plus GET /models and GET /metrics."""
    return ServingApp(cache, max_request_bytes,
                      json_routes={"/models": cache.describe, "/metrics": cache.stats})
