"""A served layer model's topics for new documents: `BERTopic.transform`'s steps for our models
(UMAP -> StandardScaler -> BIRCH -> BERTopic's topic mapper), prepared once at load, giving the
same topics as `topic_model.predict` (the reference, kept for the tests and the benchmark).

Per call the reference validates its input four times (BERTopic, the UMAP, the scaler, BIRCH),
builds the topic mapper's dict and, in BIRCH, runs scikit-learn's chunked argmin machinery for a
handful of centres. Here UMAP runs through umap_transform (bit-identical), the scaler is its two
float32 operations, and the nearest BIRCH subcluster is ranked by the quantity
scikit-learn ranks (BIRCH's stored ||c||^2 - 2 x.c, float64), in one numba loop: where the nearest
and second-nearest are within `TIE_TOLERANCE` (relative to the norms), where the two products'
rounding could disagree, the batch runs the reference, so the topic is always BIRCH's.
A model of another shape (the PCA reducer, HDBSCAN) and
an input the reference would refuse run the reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from steps.sequential_topics import topic_model

# Two float64 products x.c in 5 dimensions (numpy's and scikit-learn's BLAS calls) differ by
# ~1e-15 relative to the norms: a gap above this cannot flip the nearest subcluster.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Prepared:
    umap: Any               # umap_transform.PreparedUmap
    mean: np.ndarray        # the scaler's mean_ and scale_ as float32, as it applies them
    scale: np.ndarray
    centres: np.ndarray     # BIRCH's subcluster centres
    centre_norms: np.ndarray
    topics: np.ndarray      # the BERTopic topic of each subcluster (-1: none)


def _scaler(reducer: Any) -> Any | None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not (isinstance(reducer, Pipeline) and len(reducer.steps) == 2):
        return None
    scaler = reducer.steps[1][1]
    usable = isinstance(scaler, StandardScaler) and scaler.with_mean and scaler.with_std
    return scaler if usable else None


def _prepare(model: Any) -> _Prepared | None:
    from sklearn.cluster import Birch

    topic_model.set_numba_cache()  # before umap and our kernels are imported
    from umap import UMAP

    from steps.sequential_topics import umap_transform

    reducer, birch = model.umap_model, model.hdbscan_model
    scaler = _scaler(reducer)
    if scaler is None or not isinstance(birch, Birch) or not isinstance(
            reducer.steps[0][1], UMAP):
        return None
    umap = umap_transform.prepare(reducer.steps[0][1])
    if umap is None:
        return None
    mappings = model.topic_mapper_.get_mappings(original_topics=True)
    topics = np.array([mappings.get(label, -1) for label in birch.subcluster_labels_],
                      dtype=int)
    return _Prepared(umap, scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32),
                     np.asarray(birch.subcluster_centers_, dtype=np.float64),
                     np.asarray(birch._subcluster_norms, dtype=np.float64), topics)


class LayerPredictor:
    """One fitted BERTopic model, served: `predict` (prepared) or `reference` (BERTopic)."""

    def __init__(self, model: Any):
        self.model = model
        self._prepared = _prepare(model)

    @property
    def prepared(self) -> bool:
        return self._prepared is not None

    def reference(self, documents: list[str], embeddings: np.ndarray) -> np.ndarray:
        return topic_model.predict(self.model, documents, embeddings)

    def predict(self, documents: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Topic numbers of new documents, equal to `reference`'s."""
        from steps.sequential_topics import umap_transform  # imported by _prepare

        prepared = self._prepared
        if not (prepared is not None and isinstance(embeddings, np.ndarray)
                and embeddings.dtype == np.float32 and len(documents) == len(embeddings)
                and umap_transform.reproducible(prepared.umap, embeddings)):
            return self.reference(documents, embeddings)  # its answer or its error
        reduced = umap_transform.transform(prepared.umap, embeddings)
        if not np.isfinite(reduced).all():  # the reference refuses it (BIRCH's check)
            return self.reference(documents, embeddings)
        nearest = _nearest_subclusters(reduced, prepared.mean, prepared.scale,
                                       prepared.centres, prepared.centre_norms,
                                       TIE_TOLERANCE)
        if (nearest < 0).any():  # a near tie: BIRCH's own rounding decides
            return self.reference(documents, embeddings)
        return prepared.topics[nearest]


@numba.njit(cache=True)
def _nearest_subclusters(reduced: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                         centres: np.ndarray, centre_norms: np.ndarray,
                         tolerance: float) -> np.ndarray:
    """Each point's nearest BIRCH subcluster after the scaler's float32 steps ((x - mean) /
    scale), by scikit-learn's ranking quantity (BIRCH's stored ||c||^2 - 2 x.c, float64); -1
    where the nearest two are within `tolerance` (relative to the norms)."""
    nearest = np.empty(reduced.shape[0], dtype=np.int64)
    point = np.empty(reduced.shape[1], dtype=np.float64)
    largest_norm = centre_norms.max()
    for row in range(reduced.shape[0]):
        squared = 0.0
        for d in range(reduced.shape[1]):
            point[d] = (reduced[row, d] - mean[d]) / scale[d]
            squared += point[d] * point[d]
        best, second, at = np.inf, np.inf, 0
        for centre in range(centres.shape[0]):
            dot = 0.0
            for d in range(reduced.shape[1]):
                dot += point[d] * centres[centre, d]
            ranked = centre_norms[centre] - 2.0 * dot
            if ranked < best:
                best, second, at = ranked, best, centre
            elif ranked < second:
                second = ranked
        tied = second - best <= tolerance * (squared + largest_norm + 1.0)
        nearest[row] = -1 if tied else at
    return nearest
