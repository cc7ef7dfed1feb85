"""Reading the cleaned corpus parts and writing/reading the per-part embedding files.

Embedding file format (`embeddings/part-00000.npz`, numpy's uncompressed .npz): arrays
`ids` (unicode strings, the part's ids in row order) and one float32 matrix per
representation, `minilm` (n x 384), `lsa` (n x k) and `concat` (n x (384 + k)), row i
belonging to ids[i].
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from steps.common.atomic import write_bytes_atomic
from steps.common.errors import InvalidData
from steps.common.files import csv_files
from steps.sequential_topics import contract


def read_part(path: Path) -> pd.DataFrame:
    """One cleaned part: text columns as strings, an empty field as '' (never NaN)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        message = " ".join(str(error).split())
        raise InvalidData(f"corpus part {path} is not a readable CSV: {message}") from None
    missing = [c for c in (contract.ID_COLUMN, contract.DOCUMENT_COLUMN)
               if c not in frame.columns]
    if missing:
        raise InvalidData(f"corpus part {path} has no column(s) {missing}: pass the parts "
                          "written by preprocess.py")
    return frame


def read_corpus(location: Path) -> pd.DataFrame:
    """All parts under `location` (a folder or one CSV) in file order; ids must be unique."""
    frames = [read_part(path) for path in csv_files(Path(location))]
    corpus = pd.concat(frames, ignore_index=True)
    if corpus.empty:
        raise InvalidData(f"the corpus at {location} has no documents")
    repeated = corpus[contract.ID_COLUMN][corpus[contract.ID_COLUMN].duplicated()]
    if not repeated.empty:
        raise InvalidData(f"the corpus at {location} repeats ids {repeated.head(5).tolist()}: "
                          "pass each part once")
    return corpus


def embedding_path(embeddings_dir: Path, part: Path) -> Path:
    return Path(embeddings_dir) / (Path(part).stem + contract.EMBEDDING_SUFFIX)


def write_embeddings(path: Path, ids: Sequence[str], arrays: Mapping[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.asarray(list(ids), dtype=str),
             **{name: np.asarray(a, dtype=np.float32) for name, a in arrays.items()})
    write_bytes_atomic(Path(path), buffer.getvalue())


def read_embeddings(location: Path, representation: str, ids: Sequence[str]) -> np.ndarray:
    """The `representation` rows of `ids`, in that order, from every .npz under `location`."""
    files = sorted(Path(location).rglob("*" + contract.EMBEDDING_SUFFIX))
    if not files:
        raise InvalidData(f"no {contract.EMBEDDING_SUFFIX} embedding files under {location}: "
                          "pass the embed step's output")
    position: dict[str, tuple[int, int]] = {}
    matrices = []
    for number, path in enumerate(files):
        with np.load(path, allow_pickle=False) as data:
            if representation not in data.files:
                raise InvalidData(f"{path} has no {representation!r} array (it has "
                                  f"{[f for f in data.files if f != 'ids']})")
            matrices.append(data[representation])
            position.update((str(i), (number, row)) for row, i in enumerate(data["ids"]))
    missing = [i for i in ids if i not in position]
    if missing:
        raise InvalidData(f"{len(missing)} corpus document(s) have no embedding (e.g. "
                          f"{missing[:3]}): the embeddings must come from the same corpus")
    where = np.array([position[i] for i in ids], dtype=np.int64).reshape(-1, 2)
    result = np.empty((len(ids), matrices[0].shape[1]), dtype=np.float32)
    for number, matrix in enumerate(matrices):
        chosen = where[:, 0] == number
        result[chosen] = matrix[where[chosen, 1]]
    return result
