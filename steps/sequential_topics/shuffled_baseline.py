"""A label-free baseline for a layer's topics: the same topic sizes, documents dealt at random.

Shuffling a layer's assignments keeps its number of topics and their sizes but breaks any link
between a topic and what its documents say. The shuffled topics get their keywords from the
same c-TF-IDF recipe as the model's own (BERTopic's text preprocessing, our vectorizer settings,
its ClassTfidfTransformer), so their coherence is what the layer's coherence would read for a
clustering that learned nothing on this corpus: a real clustering must beat it by a margin.
With labels, the shuffled topics' NMI is the agreement reached by chance alone (NMI is not
adjusted for chance: many small topics score above 0 on their own).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from steps.sequential_topics import topic_metrics, topic_model

REPEATS = 5
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9 ]+")


def ctfidf_keywords(documents: Sequence[str], topics: Sequence[Any],
                    top_n: int = topic_metrics.TOP_WORDS,
                    boilerplate: tuple[str, ...] = ()) -> list[list[str]]:
    """The top c-TF-IDF words of each topic (sorted topic order), as a BERTopic model whose
    documents had these topics (and whose corpus had this `boilerplate`) would list them."""
    from bertopic.vectorizers import ClassTfidfTransformer

    topics = np.asarray(topics)
    names = sorted(set(topics.tolist()))
    docs = np.asarray(documents, dtype=object)
    joined = []
    for name in names:
        text = " ".join(docs[topics == name]).replace("\n", " ").replace("\t", " ")
        joined.append(_NOT_ALNUM.sub("", text) or "emptydoc")
    vectorizer = topic_model.vectorizer(len(documents), boilerplate)
    counts = vectorizer.fit_transform(joined)
    weights = ClassTfidfTransformer().fit_transform(counts).toarray()
    vocabulary = vectorizer.get_feature_names_out()
    result = []
    for row in weights:
        order = np.argsort(-row, kind="stable")[:top_n]
        result.append([str(vocabulary[i]) for i in order if row[i] > 0])
    return result


def shuffled_baseline(documents: Sequence[str], topics: Sequence[Any],
                      labels: Sequence[Any] | None = None, repeats: int = REPEATS,
                      seed: int = 42) -> dict[str, Any]:
    """Mean (and sd) coherence, diversity and, with labels, NMI of `repeats` shufflings of
    `topics` over `documents` (the corpus: its boilerplate words are no keywords, as in the
    layers); the same seed gives the same figures."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    boilerplate = topic_model.boilerplate_words(list(documents))  # as the layers left out
    figures: dict[str, list[float]] = {"coherence": [], "diversity": [], "nmi": []}
    for _ in range(repeats):
        shuffled = rng.permutation(np.asarray(topics))
        words = ctfidf_keywords(documents, shuffled, boilerplate=boilerplate)
        figures["coherence"].append(topic_metrics.npmi_coherence(words, documents)[0])
        figures["diversity"].append(topic_metrics.topic_diversity(words))
        if labels is not None:
            figures["nmi"].append(topic_metrics.label_agreement(labels, shuffled)["nmi"])
    result: dict[str, Any] = {"repeats": repeats, "seed": seed,
                              "boilerplate_words": list(boilerplate)}
    for name, values in figures.items():
        if values:
            result[name] = round(float(np.mean(values)), 6)
            result[f"{name}_sd"] = round(float(np.std(values)), 6)
    return result
