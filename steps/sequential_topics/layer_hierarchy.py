"""The topic hierarchy the layers made, and whether each layer made its topics worse.

The evaluation report (evaluate.py, named by the registered model package) lists each layer's
topics with their parent, size, dispersion, breadth (topic_breadth: dispersion / the layer's
median), NPMI coherence and keywords, so a reader of the registered model sees what layers 2
and 3 did. For a layer >= 2, `coherence_change` is the mean coherence of the topics it made
minus the mean coherence of the previous layer's topics it re-clustered: below 0, the
sub-topics say less than the topics they replaced. The quality gate reads it
(topic_gate, MinLayerCoherenceChange).
"""
from __future__ import annotations

import statistics
from typing import Any

from steps.sequential_topics.mapping_schema import TopicSummary, topic_id
from steps.sequential_topics.topic_breadth import relative_breadth
from steps.sequential_topics.topic_metrics import TOP_WORDS


def layer_topics(summary: TopicSummary, coherence: list[float]) -> list[dict[str, Any]]:
    """One entry per topic of the layer; `coherence` holds the topics' NPMI in summary order."""
    breadth = relative_breadth({t.topic: t.dispersion for t in summary.topics})
    return [{"id": topic_id(summary.layer, t.topic), "parent": t.parent, "size": t.size,
             "dispersion": t.dispersion, "breadth": round(breadth[t.topic], 6),
             "coherence": round(npmi, 6), "keywords": [k.word for k in t.keywords[:TOP_WORDS]]}
            for t, npmi in zip(summary.topics, coherence, strict=True)]


def coherence_change(topics: list[dict[str, Any]],
                     previous: list[dict[str, Any]]) -> float | None:
    """Mean coherence of a layer's `topics` minus that of the `previous` layer's topics they
    split; None when the layer made no topic (nothing to compare)."""
    parents = {t["parent"] for t in topics}
    before = [t["coherence"] for t in previous if t["id"] in parents]
    if not topics or not before:
        return None
    return round(statistics.mean(t["coherence"] for t in topics) - statistics.mean(before), 6)
