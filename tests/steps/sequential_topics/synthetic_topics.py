"""Synthetic topic embeddings: one tight cloud, and a mixture of two tight clouds."""
from __future__ import annotations

import numpy as np


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic_topics(n_docs: int = 200, dimensions: int = 384, spread: float = 0.01,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, topics): topic 'one' is a tight cloud of 2 x n_docs points around one
    direction; topic 'two' is two tight clouds of n_docs points each around two directions."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(3, dimensions)))

    def cloud(centre: np.ndarray, size: int) -> np.ndarray:
        return centre + rng.normal(scale=spread, size=(size, dimensions))

    vectors = np.vstack([cloud(centres[0], 2 * n_docs), cloud(centres[1], n_docs),
                         cloud(centres[2], n_docs)])
    topics = np.asarray(["one"] * (2 * n_docs) + ["two"] * (2 * n_docs), dtype=object)
    return vectors.astype(np.float32), topics
