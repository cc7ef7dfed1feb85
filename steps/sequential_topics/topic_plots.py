"""Plots of the topic layers, drawn by the evaluation job from the layers' topic summaries.

- topic_hierarchy.html: the layers as one interactive sunburst (plotly, self-contained: no
  network needed to open it); each topic sized by its documents and named by its keywords;
- topic_hierarchy.png: the same hierarchy as nested rings, for pages that show images;
- topic_sizes.png: documents per topic, per layer;
- keywords.png: the top keywords of layer 1's topics with their c-TF-IDF weights.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from steps.common import plots
from steps.common.atomic import write_text_atomic
from steps.sequential_topics import layer_store
from steps.sequential_topics.mapping_schema import TopicSummary, topic_id

LABEL_WORDS = 3
KEYWORDS_SHOWN = 8
MAX_KEYWORD_PANELS = 12


def draw_topic_plots(model_dir: Path, directory: Path) -> list[Path]:
    """Every plot of the topic layers in `model_dir`, written under `directory`."""
    summaries = {layer: layer_store.read_summary(model_dir, layer)
                 for layer in layer_store.layers_in(model_dir)}
    nodes = _nodes(summaries)
    return [_sunburst(nodes, directory / "topic_hierarchy.html"),
            _rings(nodes, directory / "topic_hierarchy.png"),
            _sizes(summaries, directory / "topic_sizes.png"),
            _keywords(summaries[min(summaries)], directory / "keywords.png")]


def _label(words: list[str]) -> str:
    return " ".join(words[:LABEL_WORDS])


def _nodes(summaries: dict[int, TopicSummary]) -> list[dict]:
    """One node per topic: id, parent id ('' for layer 1), label, size (at least the sum of
    its sub-topics', as a sunburst needs), layer."""
    nodes = [{"id": topic_id(layer, t.topic), "parent": t.parent or "",
              "label": _label([k.word for k in t.keywords]), "size": t.size, "layer": layer}
             for layer, summary in sorted(summaries.items()) for t in summary.topics]
    children: dict[str, int] = defaultdict(int)
    for node in nodes:
        children[node["parent"]] += node["size"]
    for node in reversed(nodes):  # deeper layers first: a parent's total includes theirs
        node["size"] = max(node["size"], children[node["id"]])
    return nodes


def _sunburst(nodes: list[dict], path: Path) -> Path:
    figure = go.Figure(go.Sunburst(
        ids=[n["id"] for n in nodes], parents=[n["parent"] for n in nodes],
        labels=[f"{n['id']} {n['label']}" for n in nodes], values=[n["size"] for n in nodes],
        branchvalues="total", hovertemplate="%{label}<br>%{value} documents<extra></extra>"))
    figure.update_layout(title="Topic hierarchy: layer 1 inside, deeper layers outside",
                         margin={"t": 40, "l": 0, "r": 0, "b": 0})
    write_text_atomic(path, figure.to_html(include_plotlyjs=True, full_html=True))
    return path


def _rings(nodes: list[dict], path: Path) -> Path:
    """Nested rings, one per layer: a sub-topic sits under its parent's wedge."""
    figure, axes = plt.subplots(figsize=(7.0, 7.0), subplot_kw={"projection": "polar"})
    layers = sorted({n["layer"] for n in nodes})
    by_parent: dict[str, list[dict]] = defaultdict(list)
    for node in nodes:
        by_parent[node["parent"]].append(node)
    colours = plt.get_cmap("tab20")
    top = by_parent[""]
    total = sum(n["size"] for n in top) or 1

    def place(node: dict, start: float, span: float, colour) -> None:
        ring = layers.index(node["layer"])
        axes.bar(x=start + span / 2, height=1.0, width=span, bottom=ring + 1.0,
                 color=colour, edgecolor="white", linewidth=0.5, align="center")
        if ring == 0 and span > 0.25:
            axes.text(start + span / 2, 1.5, node["label"], ha="center", va="center",
                      fontsize=7)
        offset = start
        for child in by_parent[node["id"]]:
            child_span = span * child["size"] / node["size"]
            place(child, offset, child_span, colour)
            offset += child_span

    start = 0.0
    for index, node in enumerate(top):
        span = 2 * np.pi * node["size"] / total
        place(node, start, span, colours(index % 20))
        start += span
    axes.set_axis_off()
    axes.set_title(f"Topic hierarchy: {len(layers)} layer(s), layer 1 innermost")
    return plots.save(figure, path)


def _sizes(summaries: dict[int, TopicSummary], path: Path) -> Path:
    figure, panels = plt.subplots(1, len(summaries), figsize=(5.0 * len(summaries), 4.5),
                                  squeeze=False)
    for axes, (layer, summary) in zip(panels[0], sorted(summaries.items()), strict=True):
        topics = sorted(summary.topics, key=lambda t: t.size, reverse=True)
        axes.barh([f"{topic_id(layer, t.topic)} {_label([k.word for k in t.keywords])}"
                   for t in topics], [t.size for t in topics], color="tab:blue")
        axes.invert_yaxis()
        axes.tick_params(axis="y", labelsize=7)
        axes.set(xlabel="documents", title=f"layer {layer}: {len(topics)} topic(s)")
    return plots.save(figure, path)


def _keywords(summary: TopicSummary, path: Path) -> Path:
    topics = sorted(summary.topics, key=lambda t: t.size, reverse=True)[:MAX_KEYWORD_PANELS]
    columns = 4
    rows = max(1, -(-len(topics) // columns))
    figure, panels = plt.subplots(rows, columns, figsize=(4.0 * columns, 2.6 * rows),
                                  squeeze=False)
    for axes in panels.flat[len(topics):]:
        axes.set_axis_off()
    for axes, topic in zip(panels.flat, topics, strict=False):
        words = topic.keywords[:KEYWORDS_SHOWN]
        axes.barh([k.word for k in words], [k.weight for k in words], color="tab:purple")
        axes.invert_yaxis()
        axes.tick_params(labelsize=7)
        axes.set_title(f"{topic_id(summary.layer, topic.topic)} ({topic.size} docs)",
                       fontsize=9)
    figure.suptitle(f"layer {summary.layer}: top keywords (c-TF-IDF weight)")
    return plots.save(figure, path)
