"""topic_plots.py: the layers' hierarchy, sizes and keywords drawn from their topic summaries."""
from __future__ import annotations

import pandas as pd

from steps.sequential_topics import layer_store
from steps.sequential_topics.mapping_schema import TopicSummary
from steps.sequential_topics.topic_plots import draw_topic_plots
from tests.images import assert_real_image

WORDS = ["market", "shares", "profit", "film", "award", "actor", "match", "team", "coach",
         "minister", "election", "vote"]


def topic(number: int, size: int, parent: str | None = None) -> dict:
    words = WORDS[3 * (number % 4):3 * (number % 4) + 3] + [f"w{number}"]
    return {"topic": number, "size": size, "dispersion": 0.3, "parent": parent,
            "keywords": [{"word": w, "weight": 1.0 / (i + 1)} for i, w in enumerate(words)]}


def write_layers(model_dir) -> None:
    layers = {1: [topic(0, 60), topic(1, 40), topic(2, 30)],
              2: [topic(0, 35, "1:0"), topic(1, 25, "1:0")],
              3: [topic(0, 20, "2:0"), topic(1, 15, "2:0")]}
    for layer, topics in layers.items():
        summary = TopicSummary.model_validate(
            {"layer": layer, "total_documents": sum(t["size"] for t in topics),
             "topics": topics})
        layer_store.write_layer(model_dir, layer, {"layer": layer, "models": []}, summary,
                                pd.DataFrame({"id": ["a"], "layer1": ["1:0"]}))


def test_every_plot_is_written_and_the_sunburst_needs_no_network(tmp_path):
    write_layers(tmp_path / "model")
    paths = draw_topic_plots(tmp_path / "model", tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["keywords.png", "topic_hierarchy.html",
                                             "topic_hierarchy.png", "topic_sizes.png"]
    for path in paths:
        if path.suffix == ".png":
            assert_real_image(path)
    html = (tmp_path / "plots" / "topic_hierarchy.html").read_text()
    assert "<script src=\"http" not in html  # plotly.js is inside the file
    for label in ('"1:0 market shares profit"', '"2:1 film award actor"', '"3:0 market'):
        assert label in html
