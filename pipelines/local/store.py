"""Where a local run keeps its S3 objects: `<local_root>/<bucket>/<key>`.

The same layout the session factory's local mode, `model-registry --local` and
`mapping-review --local` use (LocalObjectStore(local_root)); the runner's own folders (cache,
jobs, executions, models, model-registry) sit beside the buckets.
"""
from __future__ import annotations

from pathlib import Path

from runtime.ports.object_store import LocalObjectStore


def local_store(local_root: str | Path) -> LocalObjectStore:
    return LocalObjectStore(local_root)
