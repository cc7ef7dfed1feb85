"""embedding_map: the embed step's parts read memory-mapped give the same rows as loading
them (corpus_io.read_embeddings), in any id order; a compressed .npz is loaded instead."""
from __future__ import annotations

import numpy as np
import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, corpus_io
from steps.sequential_topics.embedding_map import EmbeddingMap, map_array


@pytest.fixture(scope="module")
def ids(corpus_dir) -> list[str]:
    shuffled = corpus_io.read_corpus(corpus_dir)[contract.ID_COLUMN].tolist()
    np.random.default_rng(1).shuffle(shuffled)
    return shuffled


def test_memory_mapped_rows_equal_the_loaded_ones(embeddings_dir, ids):
    mapped = EmbeddingMap(embeddings_dir, contract.LSA, ids)
    loaded = corpus_io.read_embeddings(embeddings_dir, contract.LSA, ids)
    assert mapped.shape == loaded.shape and len(mapped) == len(ids)
    rows = np.array([5, 0, len(ids) - 1, 5])
    assert np.array_equal(mapped[rows], loaded[rows])
    assert np.array_equal(mapped[3:17], loaded[3:17])
    assert np.array_equal(mapped[np.arange(len(ids))], loaded)


def test_parts_are_memory_mapped_not_loaded(embeddings_dir):
    part = sorted(embeddings_dir.glob("*.npz"))[0]
    array = map_array(part, contract.LSA)
    assert isinstance(array, np.memmap) and not array.flags.writeable
    with np.load(part) as data:
        assert np.array_equal(array, data[contract.LSA])


def test_a_compressed_part_is_loaded_with_the_same_rows(embeddings_dir, tmp_path):
    part = sorted(embeddings_dir.glob("*.npz"))[0]
    with np.load(part) as data:
        ids, matrix = data["ids"], data[contract.LSA]
    np.savez_compressed(tmp_path / part.name, ids=ids, lsa=matrix)
    array = map_array(tmp_path / part.name, contract.LSA)
    assert not isinstance(array, np.memmap) and np.array_equal(array, matrix)
    mapped = EmbeddingMap(tmp_path, contract.LSA, ids.tolist()[::-1])
    assert np.array_equal(mapped[np.arange(len(ids))], matrix[::-1])


def test_a_missing_representation_names_what_is_there(embeddings_dir, ids):
    with pytest.raises(InvalidData, match=r"has no 'minilm' array \(it has \['lsa'\]\)"):
        EmbeddingMap(embeddings_dir, contract.MINILM, ids)


def test_a_document_without_embedding_is_refused(embeddings_dir, ids):
    with pytest.raises(InvalidData, match=r"1 corpus document\(s\) have no embedding"):
        EmbeddingMap(embeddings_dir, contract.LSA, [*ids, "no-such-id"])


def test_no_parts_is_refused(tmp_path):
    with pytest.raises(InvalidData, match="no .npz embedding files under"):
        EmbeddingMap(tmp_path, contract.LSA, ["a"])
