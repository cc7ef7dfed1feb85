"""The issue-20 prototypes in bench/: the breadth score and the per-topic sub-topic search."""
import numpy as np
import pytest

from bench.subtopic_search import choose_subtopics
from bench.topic_breadth import SCORES, score_topics, synthetic_topics
from steps.sequential_topics.topic_model import ModelSettings

PCA = ModelSettings(reducer="pca", n_components=5, seed=1)  # no UMAP compile in unit tests


@pytest.mark.parametrize("spread", [0.01, 0.05])
def test_a_mixture_of_two_tight_clusters_is_broader_than_one_cluster_twice_its_size(spread):
    embeddings, topics = synthetic_topics(n_docs=150, spread=spread)
    scores = score_topics(embeddings, topics)
    for name in SCORES:
        assert scores["two"][name] > scores["one"][name], name
    assert scores["one"]["split_silhouette"] < 0.05 < 0.4 < scores["two"]["split_silhouette"]


def _documents(groups: list[list[str]], per_group: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=12)) for words in groups for _ in range(per_group)]


def test_one_tight_cloud_is_kept_whole_with_the_reason():
    embeddings, topics = synthetic_topics(n_docs=60, spread=0.02)
    rows = topics == "one"
    documents = _documents([["engine", "wheel", "brake", "tyre", "gear"]], 120, 0)
    choice = choose_subtopics(documents, embeddings[rows], PCA, max_k=6, min_docs=20)
    assert choice.k == 0
    assert "silhouette" in choice.reason and "<" in choice.reason
    assert set(choice.scores) == {2, 3, 4, 5, 6}


def test_a_mixture_is_split_in_two():
    embeddings, topics = synthetic_topics(n_docs=60, spread=0.02)
    rows = topics == "two"
    documents = _documents([["engine", "wheel", "brake"], ["violin", "cello", "flute"]], 60, 0)
    choice = choose_subtopics(documents, embeddings[rows], PCA, max_k=6, min_docs=20)
    assert choice.k == 2
    assert choice.scores[2] == max(choice.scores.values()) > 0.4


def test_too_few_documents_are_never_split():
    embeddings, topics = synthetic_topics(n_docs=15, spread=0.02)
    rows = topics == "two"
    choice = choose_subtopics(["a b c"] * int(rows.sum()), embeddings[rows], PCA, 6, 20)
    assert (choice.k, choice.scores) == (0, {})
    assert "fewer than 2 x 20" in choice.reason


def test_an_unknown_scorer_is_refused_by_name():
    with pytest.raises(ValueError, match="scorer must be one of silhouette, loss, got 'x'"):
        choose_subtopics(["a"] * 50, np.ones((50, 4)), PCA, 6, 20, scorer="x")
