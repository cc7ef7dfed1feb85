"""Deploy to the serve module on this machine, from the local registry and object store.

A single model is unpacked from the local store into `<root>/deployments/<endpoint>/v<N>/`
(atomically: a temporary folder renamed into place, so a half-unpacked model is never served)
and served by a `SingleModelSource` with the package's SERVE_HANDLER (else its serving.json),
loaded before the server starts so `/ping` means ready. A multi-model deployment serves the
live prefix of the local store, like SageMaker: the multi-model endpoint's LRU `ModelCache`
(steps.serve.model_cache, over runtime.serving's object-store artifacts) loads
each `<segment>/v<N>.tar.gz` on first use and sees versions published later.
"""
from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.deployment.requests import first_container
from runtime.ports.object_store import ObjectStore
from runtime.serving import ObjectStoreArtifacts, build_app
from steps.serve import ServingApp, SingleModelSource
from steps.serve.model_cache import ModelCache

DEPLOYMENTS_DIR = "deployments"


@dataclass
class LocalDeployment:
    """The app to serve and what it serves; `close()` releases a model cache's files."""

    app: ServingApp
    summary: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        if isinstance(self.app.source, ModelCache):
            self.app.source.close()


def deployment_dir(root: Path, endpoint: str) -> Path:
    return Path(root).resolve() / DEPLOYMENTS_DIR / endpoint


def unpack(store: ObjectStore, uri: str, destination: Path) -> Path:
    """Unpack the model.tar.gz at `uri` into `destination` unless it is already there."""
    if destination.is_dir():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=destination.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(store.read_bytes(uri)), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")
        os.rename(staging, destination)
    except OSError:
        if not destination.is_dir():  # another deploy may have won the rename
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def single_model(root: Path, store: ObjectStore, package: dict[str, Any],
                 endpoint: str) -> LocalDeployment:
    """Unpack the package's model and load it now."""
    container = first_container(package)
    model_dir = unpack(store, container["ModelDataUrl"],
                       deployment_dir(root, endpoint) / f"v{package['ModelPackageVersion']}")
    handler = (container.get("Environment") or {}).get("SERVE_HANDLER") or None
    source = SingleModelSource(model_dir, handler)
    source.load()
    return LocalDeployment(ServingApp(source), {"model_dir": str(model_dir)})


def multi_model(store: ObjectStore, live_prefix: str) -> LocalDeployment:
    """Serve every artifact under the live prefix through an LRU model cache."""
    cache = ModelCache(ObjectStoreArtifacts(store, live_prefix))
    return LocalDeployment(build_app(cache), {"live_prefix": live_prefix})
