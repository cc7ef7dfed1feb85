"""Layer 1's tuning objective: the held-out documents' separation in one fixed embedding space
(topic_metrics.topic_loss, layer_models' reference, train_layer.separation_space)."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from steps.sequential_topics import contract, corpus_io, topic_metrics, train_layer
from steps.sequential_topics.embedding_map import EmbeddingMap
from steps.sequential_topics.layer_models import fold_components
from tests.steps.sequential_topics.synthetic_topics import synthetic_topics
from tests.steps.sequential_topics.test_topic_metrics_cv import PCA, three_topics


@pytest.mark.parametrize(("separation", "loss"), [(1.0, 0.0), (0.0, 0.5), (-1.0, 1.0),
                                                  (0.2, 0.4)])
def test_the_loss_falls_as_the_topics_separate(separation, loss):
    assert topic_metrics.topic_loss(separation) == pytest.approx(loss)


def test_a_separation_outside_a_silhouettes_range_is_refused():
    with pytest.raises(ValueError, match=r"lies in \[-1, 1\], got 1.5"):
        topic_metrics.topic_loss(1.5)


def test_topics_that_follow_the_clouds_separate_better_than_topics_drawn_at_random():
    embeddings, _ = synthetic_topics(n_docs=100)
    clouds = np.repeat([0, 1, 2], [200, 100, 100])
    drawn = np.random.default_rng(0).permutation(clouds)
    assert topic_metrics.separation(embeddings, clouds) > 0.7
    assert abs(topic_metrics.separation(embeddings, drawn)) < 0.05
    assert topic_metrics.separation(embeddings, np.zeros(400, dtype=int)) == 0.0


def test_separation_is_measured_in_the_reference_space_not_the_clustered_one():
    documents, embeddings, topics = three_topics()
    unrelated = np.random.default_rng(1).normal(size=(len(documents), 8)).astype(np.float32)
    own = fold_components(documents, embeddings, PCA, 2, topics)
    other = fold_components(documents, embeddings, PCA, 2, topics, reference=unrelated)
    assert all(f["separation"] > 0.8 for f in own)
    assert all(abs(f["separation"]) < 0.1 for f in other)
    # the same models: everything else is unchanged
    assert [f["stability"] for f in own] == [f["stability"] for f in other]


def _embeddings_dir(folder, arrays):
    ids = [f"d{i}" for i in range(6)]
    corpus_io.write_embeddings(folder / "part-00000.npz", ids, arrays)
    return ids


def test_every_trial_is_measured_in_the_minilm_space(tmp_path):
    rng = np.random.default_rng(0)
    minilm, lsa = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    ids = _embeddings_dir(tmp_path, {contract.MINILM: minilm, contract.LSA: lsa})
    own = EmbeddingMap(tmp_path, contract.LSA, ids)
    space, reference = train_layer.separation_space(tmp_path, contract.LSA, own, ids)
    assert space == contract.MINILM
    assert np.allclose(reference[np.arange(6)], minilm.astype(np.float32))


def test_embeddings_without_minilm_are_measured_in_their_own_space_and_the_log_says_so(
        tmp_path, caplog):
    ids = _embeddings_dir(tmp_path, {contract.LSA: np.eye(6, 3)})
    own = EmbeddingMap(tmp_path, contract.LSA, ids)
    with caplog.at_level(logging.WARNING):
        space, reference = train_layer.separation_space(tmp_path, contract.LSA, own, ids)
    assert (space, reference) == (contract.LSA, own)
    assert "separation measured in the lsa space" in caplog.text
    assert "has no 'minilm' array" in caplog.text


def test_label_agreement_ignores_documents_without_a_label():
    labels = ["a", "a", "b", "b", "", "", "", ""]
    topics = [0, 0, 1, 1, 0, 1, 0, 1]
    assert topic_metrics.label_agreement(labels, topics) == {"nmi": 1.0, "ari": 1.0}
    blank_as_class = topic_metrics.label_agreement(["a", "a", "b", "b", "c", "c", "c", "c"],
                                                   topics)
    assert blank_as_class["nmi"] < 0.7
