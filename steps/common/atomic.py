"""The one way we write a file: all or nothing, so no reader ever sees half of it.

The data goes to a temporary file beside the target, is flushed to disk, and is renamed into
place (`os.replace`: a reader sees the old file or the new one), or linked into place
(`os.link`: fails if the name exists, the write-if-absent that answers and object stores
need). The temporary file is removed on any failure. Standard library only: step scripts,
the local runner, the ports and the Lambdas all use it.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # readers that list a folder skip names starting with this
FILE_MODE = 0o644      # mkstemp makes 0600; our outputs are read by other users and tools


@contextmanager
def _temporary(path: Path, data: bytes, mode: int) -> Iterator[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        yield temporary
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, mode: int = FILE_MODE) -> None:
    """Create or replace `path` with `data`."""
    path = Path(path)
    with _temporary(path, data, mode) as temporary:
        os.replace(temporary, path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_if_absent(path: str | os.PathLike[str], data: bytes, mode: int = FILE_MODE) -> bool:
    """Create `path` with `data` unless it exists; True if this call created it."""
    path = Path(path)
    with _temporary(path, data, mode) as temporary:
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    return True
