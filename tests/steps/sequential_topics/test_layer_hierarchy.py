"""The hierarchy entries of the evaluation report and a layer's coherence change."""
from __future__ import annotations

import pytest

from steps.sequential_topics.layer_hierarchy import coherence_change, layer_topics
from steps.sequential_topics.mapping_schema import TopicSummary


def summary(layer: int, topics: list[tuple[int, int, float, str | None]]) -> TopicSummary:
    return TopicSummary.model_validate({
        "layer": layer, "total_documents": sum(size for _, size, _, _ in topics),
        "topics": [{"topic": n, "size": size, "dispersion": dispersion, "parent": parent,
                    "keywords": [{"word": f"w{n}_{i}", "weight": 1 - i / 20} for i in range(12)]}
                   for n, size, dispersion, parent in topics]})


LAYER1 = layer_topics(summary(1, [(0, 60, 0.6, None), (1, 30, 0.3, None), (2, 10, 0.2, None)]),
                      [0.10, 0.30, 0.25])


def test_each_topic_with_its_parent_size_breadth_coherence_and_top_ten_keywords():
    first = LAYER1[0]
    assert {k: v for k, v in first.items() if k != "keywords"} == {
        "id": "1:0", "parent": None, "size": 60, "dispersion": 0.6, "breadth": 2.0,
        "coherence": 0.1}
    assert first["keywords"] == [f"w0_{i}" for i in range(10)]
    assert [t["breadth"] for t in LAYER1] == [2.0, 1.0, pytest.approx(0.666667)]


def test_a_layers_topics_are_compared_with_the_topics_they_split():
    layer2 = layer_topics(summary(2, [(0, 30, 0.4, "1:0"), (1, 30, 0.5, "1:0")]), [0.2, 0.3])
    assert layer2[0]["parent"] == "1:0"
    assert coherence_change(layer2, LAYER1) == pytest.approx(0.15)  # 0.25 against 1:0's 0.10
    worse = layer_topics(summary(2, [(0, 20, 0.4, "1:1"), (1, 10, 0.5, "1:2")]), [0.1, 0.05])
    assert coherence_change(worse, LAYER1) == pytest.approx(0.075 - 0.275)


def test_a_layer_that_made_no_topic_has_no_change():
    assert coherence_change([], LAYER1) is None
