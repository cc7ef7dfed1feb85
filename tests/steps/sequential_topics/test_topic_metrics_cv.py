"""Layer 1's cross-validation (layer_models.fold_components): one fold model per fold, scored
on its held-out fold, with a hook that measures more on the same fold (the objective bench's
candidates) without a second pass."""
from __future__ import annotations

import numpy as np

from steps.sequential_topics.layer_models import cross_validated_scores, fold_components
from steps.sequential_topics.topic_model import ModelSettings
from tests.steps.sequential_topics.synthetic_topics import unit

PCA = ModelSettings(reducer="pca", n_components=2, n_clusters=3, seed=3)
WORDS = (["apple", "pear", "plum", "fig"], ["goal", "match", "team", "coach"],
         ["vote", "party", "poll", "law"])


def three_topics(per_topic: int = 40) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Three well separated topics: documents of their own words, embeddings in tight
    clouds around three directions."""
    rng = np.random.default_rng(0)
    centres = unit(rng.normal(size=(3, 16)))
    documents, vectors, topics = [], [], []
    for topic, words in enumerate(WORDS):
        for _ in range(per_topic):
            documents.append(" ".join(rng.choice(words, size=6)))
            vectors.append(centres[topic] + rng.normal(scale=0.02, size=16))
            topics.append(topic)
    return documents, np.asarray(vectors, dtype=np.float32), np.asarray(topics)


def test_each_fold_scores_its_held_out_documents_and_the_hook_adds_to_it():
    documents, embeddings, topics = three_topics()
    seen: list[np.ndarray] = []

    def hook(model, train, test, held):
        seen.append(np.sort(test))
        assert len(set(train) & set(test)) == 0 and len(held) == len(test)
        return {"held_out_documents": float(len(test))}

    folds = fold_components(documents, embeddings, PCA, 3, topics, hook)
    assert len(folds) == 3
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(len(documents)))
    assert sum(f["held_out_documents"] for f in folds) == len(documents)
    for fold in folds:
        # separable topics: every fold model finds them again (ARI 1 against the full model's)
        assert fold["stability"] == 1.0
        assert fold["separation"] > 0.8
        assert fold["diversity"] == 1.0


def test_cross_validated_scores_are_the_fold_means():
    documents, embeddings, topics = three_topics()
    folds = fold_components(documents, embeddings, PCA, 2, topics)
    scores = cross_validated_scores(documents, embeddings, PCA, 2, topics)
    assert scores == {k: float(np.mean([f[k] for f in folds])) for k in folds[0]}
