"""Breadth (dispersion / the layer's median) and the split search, on synthetic topics, and
the mapping rule that reads both: a mixture is split, a tight topic twice its size is kept."""
from __future__ import annotations

import pytest

from runtime.topic_mapping.mapping_update import update_mapping
from steps.sequential_topics import topic_metrics
from steps.sequential_topics.mapping_schema import Keyword, SplitSearch, SummaryTopic, TopicSummary
from steps.sequential_topics.subtopic_search import SplitSearchSettings, candidate_counts
from steps.sequential_topics.topic_breadth import relative_breadth
from steps.sequential_topics.topic_model import ModelSettings
from tests.steps.sequential_topics.synthetic_topics import synthetic_topics

# PCA instead of UMAP (no numba compile in unit tests), one component: the reducer's scaler
# would blow the noise components of these clouds up to the separating one's variance
PCA = ModelSettings(reducer="pca", n_components=1, seed=1)
SEARCH = SplitSearchSettings(PCA, max_k=6, min_docs=20)


def layer_summary(embeddings, topics) -> TopicSummary:
    entries = []
    for number, name in enumerate(("one", "two")):
        rows = topics == name
        entries.append(SummaryTopic(
            topic=number, size=int(rows.sum()), keywords=[Keyword(word=name, weight=1.0)],
            dispersion=round(topic_metrics.dispersion(embeddings[rows]), 6),
            split_silhouettes=SEARCH.silhouettes(embeddings[rows])))
    return TopicSummary(layer=1, total_documents=len(topics), topics=entries,
                        split_search=SplitSearch(min_documents=SEARCH.min_documents,
                                                 max_subtopics=SEARCH.max_k))


@pytest.mark.parametrize("spread", [0.01, 0.05])
def test_a_mixture_of_two_tight_clusters_is_broader_than_one_cluster_twice_its_size(spread):
    embeddings, topics = synthetic_topics(n_docs=150, spread=spread)
    breadth = relative_breadth({name: topic_metrics.dispersion(embeddings[topics == name])
                                for name in ("one", "two")})
    assert breadth["two"] > 1 > breadth["one"]


def test_the_rule_splits_the_mixture_in_two_and_keeps_the_tight_topic_twice_its_size():
    embeddings, topics = synthetic_topics(n_docs=150, spread=0.02)
    mapping = update_mapping(None, layer_summary(embeddings, topics))
    tight, mixture = mapping.topics
    assert (mixture.action, mixture.subtopics, tight.action) == ("split", 2, "keep")
    assert mixture.split_silhouette > 0.4 and mixture.breadth > 1 > tight.breadth
    assert tight.reason.startswith("keep: breadth ") and "a tight topic" in tight.reason
    assert mapping.recluster == ["1:1"]


def test_one_tight_cloud_has_no_split_that_beats_keeping_it_whole():
    embeddings, topics = synthetic_topics(n_docs=60, spread=0.02)
    scores = SEARCH.silhouettes(embeddings[topics == "one"])
    assert set(scores) == {2, 3, 4, 5, 6}
    assert max(scores.values()) < 0.05


def test_a_mixture_splits_best_in_two():
    embeddings, topics = synthetic_topics(n_docs=60, spread=0.02)
    scores = SEARCH.silhouettes(embeddings[topics == "two"])
    assert max(scores, key=scores.get) == 2 and scores[2] > 0.4


def test_too_few_documents_are_never_scored():
    embeddings, topics = synthetic_topics(n_docs=15, spread=0.02)
    assert SEARCH.silhouettes(embeddings[topics == "two"]) == {}
    assert SEARCH.min_documents == 40


@pytest.mark.parametrize(("n_docs", "expected"), [(39, []), (40, [2]), (100, [2, 3, 4, 5]),
                                                  (1000, [2, 3, 4, 5, 6])])
def test_candidate_counts_keep_each_sub_topic_at_least_min_docs(n_docs, expected):
    assert list(candidate_counts(n_docs, max_k=6, min_docs=20)) == expected


def test_relative_breadth_of_a_layer():
    assert relative_breadth({"a": 0.25, "b": 0.5, "c": 0.75}) == {"a": 0.5, "b": 1.0, "c": 1.5}
    assert relative_breadth({"a": 0.0, "b": 0.0}) == {"a": 1.0, "b": 1.0}
    assert relative_breadth({}) == {}
