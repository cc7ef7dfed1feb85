"""A fitted model's topic keywords (c-TF-IDF) recomputed over every document it assigned,
counted `chunk` documents at a time.

A model fitted on a sample (sample_fit) has keywords from the sample alone. BERTopic's own
update_topics joins each topic's documents into one string and counts them at once; this does
the same counting chunk by chunk (each chunk's documents joined per topic, counted with the
model's vectorizer settings, added into one topic x word table), then applies the vectorizer's
document-frequency floor (min_df, over topics as BERTopic counts it; topic_model.vectorizer
sets no max_df or max_features, so none is applied) and the model's
ClassTfidfTransformer, so the keywords equal update_topics' on the same assignments while only
the table, not the joined text, is held. One difference: a topic whose documents have no word
characters at all counts BERTopic's placeholder "emptydoc" once per chunk, not once.
"""
from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone


def topic_word_counts(model: Any, documents: list[str], rows: np.ndarray, topics: np.ndarray,
                      chunk: int) -> tuple[list[int], list[str], sp.csr_matrix]:
    """(topics in ascending order, words in the vectorizer's order, topic x word counts) of
    `rows`' documents under their `topics`, before the document-frequency floor."""
    labels = sorted({int(t) for t in topics})
    position = {label: i for i, label in enumerate(labels)}
    counter = clone(model.vectorizer_model).set_params(min_df=1, max_df=1.0)
    vocabulary: dict[str, int] = {}
    table = sp.csr_matrix((len(labels), 0), dtype=np.int64)
    for start in range(0, len(rows), chunk):
        frame = pd.DataFrame({"Document": [documents[r] for r in rows[start:start + chunk]],
                              "Topic": topics[start:start + chunk]})
        joined = frame.groupby("Topic", as_index=False).agg({"Document": " ".join})
        counts = counter.fit_transform(model._preprocess_text(joined.Document.values))
        for word in counter.get_feature_names_out():
            vocabulary.setdefault(word, len(vocabulary))
        columns = np.array([vocabulary[w] for w in counter.get_feature_names_out()], dtype=int)
        placed = sp.coo_matrix(counts)
        part = sp.csr_matrix((placed.data, ([position[int(t)] for t in joined.Topic.values[
            placed.row]], columns[placed.col])), shape=(len(labels), len(vocabulary)))
        table.resize((len(labels), len(vocabulary)))
        table = table + part
    order = sorted(vocabulary)
    return labels, order, table[:, [vocabulary[w] for w in order]].tocsr()


def update_keywords(model: Any, documents: list[str], rows: np.ndarray, topics: np.ndarray,
                    chunk: int) -> None:
    """Set the model's c-TF-IDF, keywords and vocabulary to those of `rows` under `topics`
    (the model's topics_ stay the fitted sample's)."""
    labels, words, counts = topic_word_counts(model, documents, rows, topics, chunk)
    min_df = model.vectorizer_model.min_df
    floor = min_df if isinstance(min_df, Integral) else min_df * len(labels)
    kept = np.flatnonzero(np.asarray((counts > 0).sum(axis=0)).ravel() >= floor)
    words = [words[i] for i in kept]
    counts = counts[:, kept]
    model.ctfidf_model = clone(model.ctfidf_model).fit(counts)
    model.c_tf_idf_ = model.ctfidf_model.transform(counts)
    model.vectorizer_model.vocabulary_ = {w: i for i, w in enumerate(words)}
    model.topic_representations_ = model._extract_words_per_topic(
        np.asarray(words, dtype=object), pd.DataFrame({"Topic": labels}),
        calculate_aspects=False)
