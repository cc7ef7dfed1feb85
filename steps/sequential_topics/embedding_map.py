"""The embed step's .npz parts read without loading them: one representation's rows, in
corpus order, gathered from memory-mapped files on demand.

A layer job that holds the whole embedding matrix grows with the corpus; this map holds one
(part, row) pair per document and reads the rows a sample or a chunk asks for. embed.py writes
numpy's uncompressed .npz (corpus_io.write_embeddings): each array is a stored (not deflated)
.npy member of a zip file, so it can be memory-mapped at its offset inside the file. A member
that is compressed (an .npz written by np.savez_compressed) cannot be, and is loaded whole,
one part at a time.
"""
from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from steps.common.errors import InvalidData
from steps.sequential_topics import contract

_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field


def _member_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start in the zip file (after its local header)."""
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(_LOCAL_HEADER)
        name_length = int.from_bytes(header[26:28], "little")
        extra_length = int.from_bytes(header[28:30], "little")
    return info.header_offset + _LOCAL_HEADER + name_length + extra_length


def map_array(path: Path, name: str) -> np.ndarray:
    """Array `name` of an .npz, memory-mapped read-only when stored, else loaded."""
    with zipfile.ZipFile(path) as archive:
        member = f"{name}.npy"
        if member not in archive.namelist():
            names = sorted(n.removesuffix(".npy") for n in archive.namelist())
            raise InvalidData(f"{path} has no {name!r} array (it has "
                              f"{[n for n in names if n != 'ids']})")
        info = archive.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED:
            with np.load(path, allow_pickle=False) as data:
                return data[name]
        with archive.open(member) as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(handle)
            header_length = handle.tell()
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, order="F" if fortran else "C",
                     offset=_member_offset(path, info) + header_length)


class EmbeddingMap:
    """One representation's embeddings of `ids`, row i belonging to ids[i]; indexing with rows
    (an int array or a slice) reads just those rows into memory, like a numpy matrix."""

    def __init__(self, location: Path, representation: str, ids: Sequence[str]) -> None:
        files = sorted(Path(location).rglob("*" + contract.EMBEDDING_SUFFIX))
        if not files:
            raise InvalidData(f"no {contract.EMBEDDING_SUFFIX} embedding files under "
                              f"{location}: pass the embed step's output")
        self._parts = [map_array(path, representation) for path in files]
        position: dict[str, tuple[int, int]] = {}
        for number, path in enumerate(files):
            with np.load(path, allow_pickle=False) as data:
                position.update((str(i), (number, row)) for row, i in enumerate(data["ids"]))
        missing = [i for i in ids if i not in position]
        if missing:
            raise InvalidData(f"{len(missing)} corpus document(s) have no embedding (e.g. "
                              f"{missing[:3]}): the embeddings must come from the same corpus")
        where = np.array([position[i] for i in ids], dtype=np.int64).reshape(-1, 2)
        self._part, self._row = where[:, 0], where[:, 1]
        self.shape = (len(ids), self._parts[0].shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray | slice) -> np.ndarray:
        rows = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows)
        result = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        parts = self._part[rows]
        for number in np.unique(parts):
            chosen = parts == number
            result[chosen] = self._parts[number][self._row[rows[chosen]]]
        return result
