"""Label-free breadth of a topic: does it mix several subjects? (issue #20 part 2, prototype)

A topic worth re-clustering mixes several subjects. Size says little about that (a big topic
can be one tight theme). The scores, each from the topic's document embeddings:

- `dispersion`: mean cosine distance of the documents to their centroid
  (topic_metrics.dispersion, already in every topic summary);
- `breadth`: dispersion / the median dispersion of the layer's topics: above 1, broader than
  the layer's typical topic. Scale-free, so one threshold fits every layer and embedding
  (absolute dispersions differ: 0.31-0.54 on HPO definitions, 0.43-0.65 on Wikipedia leads);
- `split_silhouette`: the cosine silhouette of a 2-means split of the documents: about 0 for
  one cloud of any size or spread, high for two separate groups. It wins on synthetic
  mixtures but NOT on text (bench/topic_layers_bench.py: it does not rank real topics by how
  many labels they mix; a diffuse topic mixes subjects without forming two clumps).
`score_topics` gives all of them per topic; `synthetic_topics` builds the check the issue asks
for (two tight clusters must score above one tight cluster of twice the size).
"""
from __future__ import annotations

import numpy as np

from steps.sequential_topics import topic_metrics

SCORES = ("dispersion", "breadth", "split_silhouette")
MIN_DOCS = 6              # fewer documents cannot be split in two meaningfully
SILHOUETTE_SAMPLE = 2000  # silhouette is O(n^2): score a fixed-seed sample of larger topics


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def split_silhouette(vectors: np.ndarray, seed: int = 42) -> float:
    """Cosine silhouette of a 2-means split of the rows (0 for fewer than MIN_DOCS rows)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(vectors) < MIN_DOCS:
        return 0.0
    unit = _unit(np.asarray(vectors, dtype=np.float64))
    labels = KMeans(n_clusters=2, n_init=4, random_state=seed).fit_predict(unit)
    if len(set(labels.tolist())) < 2:
        return 0.0
    return float(silhouette_score(unit, labels, metric="cosine",
                                  sample_size=min(len(unit), SILHOUETTE_SAMPLE),
                                  random_state=seed))


def score_topics(embeddings: np.ndarray, topics: np.ndarray, seed: int = 42
                 ) -> dict[object, dict[str, float]]:
    """{topic: {score: value}} for every topic in `topics` (one entry per row of embeddings)."""
    topics = np.asarray(topics, dtype=object)
    names = sorted(set(topics.tolist()), key=str)
    raw = {t: {"dispersion": topic_metrics.dispersion(embeddings[topics == t]),
               "split_silhouette": split_silhouette(embeddings[topics == t], seed)}
           for t in names}
    median = float(np.median([s["dispersion"] for s in raw.values()])) or 1.0
    for scores in raw.values():
        scores["breadth"] = scores["dispersion"] / median
    return raw


def synthetic_topics(n_docs: int = 200, dimensions: int = 384, spread: float = 0.01,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, topics): topic 'one' is a tight cloud of 2 x n_docs points around one
    direction; topic 'two' is two tight clouds of n_docs points each around two directions."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(3, dimensions)))

    def cloud(centre: np.ndarray, size: int) -> np.ndarray:
        return centre + rng.normal(scale=spread, size=(size, dimensions))

    vectors = np.vstack([cloud(centres[0], 2 * n_docs), cloud(centres[1], n_docs),
                         cloud(centres[2], n_docs)])
    topics = np.asarray(["one"] * (2 * n_docs) + ["two"] * (2 * n_docs), dtype=object)
    return vectors.astype(np.float32), topics
