"""How many sub-topics a topic gets, or none (issue #20 part 3, prototype).

For one parent topic: reduce its documents once with the sub-model's reducer (the same UMAP,
seed and settings the sub-model will use, so the search sees what the fit will see), cluster
the reduced documents with the sub-model's BIRCH for k = 2..max_k, and score each split:

- `silhouette`: cosine silhouette of the split in the ORIGINAL embedding space. The reduced
  space is no judge of itself: UMAP packs any cloud into clumps, so every split looks good
  there. The best k wins; the topic is kept whole when no split reaches `keep_below`.
- `loss`: layer 1's topic loss, in sample (NPMI coherence of each sub-topic's c-TF-IDF
  keywords over the parent's documents, keyword diversity, silhouette in the reduced space);
  "keep" is scored the same way as one topic (its own coherence, diversity 1, separation 0),
  and a split is made only when its loss is lower.
The result records every k's score and the reason for the choice, as the mapping would.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from steps.sequential_topics import shuffled_baseline, topic_metrics, topic_model
from steps.sequential_topics.topic_model import AdaptiveBirch, ModelSettings

SCORERS = ("silhouette", "loss")


@dataclass
class SubtopicChoice:
    k: int                                    # 0: keep the topic whole
    reason: str
    scores: dict[int, float] = field(default_factory=dict)


def _silhouette(unit: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2:
        return -1.0
    return float(silhouette_score(unit, labels, metric="cosine",
                                  sample_size=min(len(unit), 2000), random_state=seed))


def _keywords(documents: list[str], labels: np.ndarray) -> list[list[str]]:
    """c-TF-IDF keywords per label; for one label, its most frequent words, which is the same
    ranking (tf x log(1 + A / tf) grows with tf) without c-TF-IDF's min_df over one class."""
    if len(set(labels.tolist())) > 1:
        return shuffled_baseline.ctfidf_keywords(documents, labels)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    counts = Counter(w for d in documents for w in d.split() if w not in ENGLISH_STOP_WORDS)
    return [[w for w, _ in counts.most_common(topic_metrics.TOP_WORDS)]]


def _loss(documents: list[str], reduced: np.ndarray, labels: np.ndarray, seed: int) -> float:
    words = _keywords(documents, labels)
    coherence = topic_metrics.npmi_coherence(words, documents)[0]
    separation = topic_metrics.separation(reduced, labels, seed) if len(words) > 1 else 0.0
    return topic_metrics.topic_loss(coherence, topic_metrics.topic_diversity(words),
                                    separation, None)


def choose_subtopics(documents: list[str], embeddings: np.ndarray, settings: ModelSettings,
                     max_k: int, min_docs: int, scorer: str = "silhouette",
                     keep_below: float = 0.05) -> SubtopicChoice:
    """The sub-topic count for the topic made of these documents, or 0 to keep it whole."""
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {', '.join(SCORERS)}, got {scorer!r}")
    top = min(max_k, len(documents) // max(min_docs, 1))
    if top < 2:
        return SubtopicChoice(0, f"{len(documents)} documents: fewer than 2 x {min_docs}")
    fitted = settings.fitted_to(len(documents), embeddings.shape[1])
    reduced = topic_model.build_reducer(fitted).fit_transform(embeddings)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(1e-12)
    scores = {}
    for k in range(2, top + 1):
        labels = AdaptiveBirch(threshold=fitted.birch_threshold, n_clusters=k).fit_predict(reduced)
        scores[k] = (_silhouette(unit, labels, settings.seed) if scorer == "silhouette"
                     else _loss(documents, reduced, labels, settings.seed))
    if scorer == "silhouette":
        best = max(scores, key=scores.get)
        if scores[best] < keep_below:
            return SubtopicChoice(0, f"best split (k={best}) silhouette {scores[best]:.3f} < "
                                     f"{keep_below}", scores)
        return SubtopicChoice(best, f"silhouette {scores[best]:.3f} at k={best}", scores)
    keep = _loss(documents, reduced, np.zeros(len(documents), dtype=int), settings.seed)
    best = min(scores, key=scores.get)
    if scores[best] >= keep:
        return SubtopicChoice(0, f"best split (k={best}) loss {scores[best]:.3f} >= keep "
                                 f"{keep:.3f}", scores)
    return SubtopicChoice(best, f"loss {scores[best]:.3f} at k={best} < keep {keep:.3f}",
                          scores)
