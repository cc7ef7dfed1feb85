"""Move data between the local object store and a job directory, as SageMaker does.

S3Prefix inputs copy every object whose key starts with the prefix, keeping the rest of the
key as a relative path (an object named exactly by the URI lands as that file). Outputs
upload every file under a directory to `<uri>/<relative path>`.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

from pipelines.local.errors import ResolutionError
from runtime.ports.object_store import LocalObjectStore
from runtime.ports.uris import split_s3_uri


def stage_prefix(store: LocalObjectStore, uri: str, dest: Path) -> list[Path]:
    """Copy the objects under `uri` into `dest`; raise ResolutionError when there are none."""
    return stage_objects(store, uri, list_objects(store, uri), dest)


def list_objects(store: LocalObjectStore, uri: str) -> list[str]:
    """The objects under `uri`, sorted by key; raise ResolutionError when there are none."""
    found = store.list_uris(uri)
    if not found:
        raise ResolutionError(f"no objects at {uri} in the local store ({store.root})")
    return found


def stage_objects(store: LocalObjectStore, uri: str, object_uris: list[str],
                  dest: Path) -> list[Path]:
    """Copy the given objects under prefix `uri` into `dest`, keeping their relative keys."""
    _, prefix = split_s3_uri(uri)
    dest.mkdir(parents=True, exist_ok=True)
    staged = []
    for object_uri in object_uris:
        _, key = split_s3_uri(object_uri)
        relative = key[len(prefix):].lstrip("/") or key.rsplit("/", 1)[-1]
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.path_for(object_uri), target)  # a copy: jobs may modify inputs
        staged.append(target)
    return staged


def upload_dir(store: LocalObjectStore, source: Path, uri: str) -> list[str]:
    """Upload every file under `source` to `<uri>/<relative path>`; return the URIs.

    Each object is written atomically (temp name, rename), so a run killed mid-upload leaves
    whole objects only; the step's cache entry is written after all of them, so the next run
    runs the step again.
    """
    base = uri.rstrip("/")
    uploaded = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = f"{base}/{path.relative_to(source).as_posix()}"
        store.write_bytes(target, path.read_bytes())
        uploaded.append(target)
    return uploaded


def tar_gz(source: Path) -> bytes:
    """The directory's content as a .tar.gz with paths relative to it (as model.tar.gz)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
    return buffer.getvalue()


def extract_tar_gz(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(dest, filter="data")


def hash_objects(store: LocalObjectStore, prefix_uris: list[str]) -> str:
    """A content hash of every object under the given prefixes (the code a job runs)."""
    digest = hashlib.sha256()
    for prefix_uri in sorted(set(prefix_uris)):
        for uri in store.list_uris(prefix_uri):
            digest.update(uri.encode() + b"\0" + hashlib.sha256(store.read_bytes(uri)).digest())
    return digest.hexdigest()
