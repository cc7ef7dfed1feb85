"""How well a topic's documents split into sub-topics, for each sub-topic count k.

For one topic: reduce its documents once with the sub-model's reducer (the same settings and
seed the next layer's sub-model uses, so the split scored is the split that layer would make),
cluster the reduced documents with the sub-model's BIRCH for k = 2..max_k, and score each split
by its cosine silhouette in the ORIGINAL embedding space. The reduced space is no judge of
itself: UMAP packs any cloud into clumps, so every split looks good there. The mapping rule
(runtime.topic_mapping.mapping_update) takes the best k, or keeps the topic whole when no k
reaches its `min_split_silhouette`.

Measured (bench/topic_layers_bench.py, 1,500 documents, seeds 42-44; final topics against the
fine labels, over layer 1): splitting the broad topics whose best split reached a silhouette
of 0.1, each into its best k: HPO NMI +0.043 ± 0.014 (AMI +0.024), Wikipedia +0.003 ± 0.017
(AMI -0.001); at 0.05 more topics were split: HPO +0.052 (AMI +0.023), Wikipedia -0.005 ± 0.034
(AMI -0.023); at 0.15 hardly any. Scoring each k by the layer-1 topic loss of the time (coherence,
diversity and separation in UMAP space, before issue 20 part 4) was tried (part 1)
and chose worse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from steps.sequential_topics import topic_model
from steps.sequential_topics.topic_model import AdaptiveBirch, ModelSettings

SILHOUETTE_SAMPLE = 2000  # silhouette is O(n^2): larger topics are scored on a fixed-seed sample


def candidate_counts(n_docs: int, max_k: int, min_docs: int) -> range:
    """The sub-topic counts worth trying: 2..max_k, each sub-topic of at least min_docs on
    average; empty for a topic of fewer than 2 x min_docs documents."""
    return range(2, min(max_k, n_docs // max(min_docs, 1)) + 1)


def split_silhouettes(embeddings: np.ndarray, settings: ModelSettings, max_k: int,
                      min_docs: int) -> dict[int, float]:
    """{k: cosine silhouette of the k-way split} for one topic's document embeddings."""
    from sklearn.metrics import silhouette_score

    counts = candidate_counts(len(embeddings), max_k, min_docs)
    if not counts:
        return {}
    fitted = settings.fitted_to(len(embeddings), embeddings.shape[1])
    reduced = topic_model.build_reducer(fitted).fit_transform(embeddings)
    scores = {}
    for k in counts:
        labels = AdaptiveBirch(threshold=fitted.birch_threshold, n_clusters=k).fit_predict(reduced)
        scores[k] = -1.0 if len(set(labels.tolist())) < 2 else round(float(silhouette_score(
            embeddings, labels, metric="cosine", sample_size=min(len(labels), SILHOUETTE_SAMPLE),
            random_state=settings.seed)), 6)
    return scores


@dataclass(frozen=True)
class SplitSearchSettings:
    """How a layer's job searches its topics' splits: with the next layer's sub-model
    settings, up to its sub_max_clusters, each sub-topic of at least its sub_min_docs."""

    settings: ModelSettings
    max_k: int
    min_docs: int

    @property
    def min_documents(self) -> int:
        """The fewest documents a searched topic has."""
        return 2 * max(self.min_docs, 1)

    def silhouettes(self, embeddings: np.ndarray) -> dict[int, float]:
        return split_silhouettes(embeddings, self.settings, self.max_k, self.min_docs)
