"""Content-hashed staging of the `steps/` package, so the same code gives the same definition.

A pipeline stages its own sub-package of `steps/` plus the shared ones (not one script),
because scripts import shared contract modules; a change in any staged file changes the hash,
the S3 keys, the definition, and therefore SageMaker's step cache key. Archives are
byte-reproducible: sorted entries, fixed timestamps, owners and modes.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from runtime.ports.object_store import ObjectStore

STEPS_ROOT = Path(__file__).resolve().parent.parent / "steps"
_INCLUDED_SUFFIXES = (".py", ".json", ".txt", ".sh")


SHARED_PACKAGES = ("common",)


def package_files(packages: tuple[str, ...], root: Path = STEPS_ROOT) -> list[Path]:
    """The files of the named sub-packages (plus the shared ones), in a stable order."""
    wanted = set(packages) | set(SHARED_PACKAGES)
    missing = sorted(p for p in wanted if not (root / p).is_dir())
    if missing:
        raise ValueError(f"no step package {', '.join(missing)} under {root}")
    files = [root / "__init__.py"] + [
        p for name in sorted(wanted) for p in (root / name).rglob("*")
        if p.is_file() and p.suffix in _INCLUDED_SUFFIXES and "__pycache__" not in p.parts]
    return sorted(files)


def _arcname(path: Path, root: Path) -> str:
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def package_digest(packages: tuple[str, ...], root: Path = STEPS_ROOT) -> str:
    digest = hashlib.sha256()
    for path in package_files(packages, root):
        digest.update(_arcname(path, root).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def sourcedir_archive(packages: tuple[str, ...], root: Path = STEPS_ROOT) -> bytes:
    """A reproducible sourcedir.tar.gz holding `steps/...` (SageMaker script-mode layout)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in package_files(packages, root):
            data = path.read_bytes()
            info = tarfile.TarInfo(_arcname(path, root))
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


@dataclass(frozen=True)
class StagedCode:
    """Where one version of the step code lives in S3."""

    files_prefix: str      # s3://.../code/<digest>/files/  (steps/... below it: processing code)
    sourcedir_uri: str     # s3://.../code/<digest>/sourcedir.tar.gz  (training / tuning code)
    digest: str


def stage_steps_package(bucket: str, key_prefix: str, store: ObjectStore | None,
                        packages: tuple[str, ...], root: Path = STEPS_ROOT) -> StagedCode:
    """Upload the step code under a content-hashed prefix; with no store, only compute the URIs.

    Uploads use write-if-absent: the key is derived from the content, so an existing object
    is already the right one and concurrent builds never clobber each other.
    """
    digest = package_digest(packages, root)
    base = f"s3://{bucket}/{key_prefix.strip('/')}/code/{digest}"
    staged = StagedCode(f"{base}/files/", f"{base}/sourcedir.tar.gz", digest)
    if store is not None:
        for path in package_files(packages, root):
            store.write_if_absent(f"{staged.files_prefix}{_arcname(path, root)}", path.read_bytes())
        store.write_if_absent(staged.sourcedir_uri, sourcedir_archive(packages, root))
    return staged
