"""A topic model fitted on a bounded sample of its documents, the rest assigned in chunks.

UMAP's neighbour graph and BIRCH's tree grow with the documents fitted, so a layer fits its
reducer and clustering on at most `fit_sample_size` documents drawn with the seed, then
assigns every other document `chunk` rows at a time (the reducer's transform, then BIRCH's
predict, through BERTopic's transform), so its memory beyond the embeddings and the
assignments does not grow with the corpus. The sampled documents keep the topics of the fit,
so a corpus no larger than the sample is clustered exactly as when it is fitted whole.
Layers 2 and 3 fit one model per parent topic, each on a sample of that parent's documents,
so their samples are stratified by parent topic; layer 1 has no strata to draw by.

Measured (bench/topic_scale_bench.py, 2 shared cores): one layer-1 fit at 50,000 documents
(BBC repeated, embeddings jittered) took 1.60 GiB peak RSS fitted whole, 1.40 GiB fitted on
20,000 (30,000 assigned in 6 s) and 1.26-1.28 GiB on 5,000. On BBC, fitting on 1,000 of the
2,148 documents lowered layer-1 NMI by 0.018 on average over seeds 42-49 (on 1,500: 0.013),
where leaving out 0.5% of the documents moves it by -0.002 on average (-0.020 at worst).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, streamed_ctfidf, topic_model
from steps.sequential_topics.topic_model import ModelSettings

logger = logging.getLogger(__name__)

DEFAULT_FIT_SAMPLE = contract.DEFAULT_FIT_SAMPLE
ASSIGN_CHUNK = 10_000        # rows assigned at a time (10,000 x 384 float32 = 15 MB)
MIN_FIT_SAMPLE = 3           # topic_model.fit_model's own minimum


def check_sample_size(size: int) -> int:
    if size < MIN_FIT_SAMPLE:
        raise InvalidData(f"fit_sample_size must be at least {MIN_FIT_SAMPLE}, got {size}: "
                          f"pass the most documents a layer may fit on (e.g. "
                          f"{DEFAULT_FIT_SAMPLE})")
    return size


def fit_sample(rows: np.ndarray, size: int, seed: int) -> np.ndarray:
    """`rows` when there are at most `size` of them, else `size` of them drawn without
    replacement with `seed`, in ascending order."""
    rows = np.asarray(rows)
    if len(rows) <= check_sample_size(size):
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def assign(model: Any, documents: list[str], embeddings: Any, rows: np.ndarray,
           chunk: int = ASSIGN_CHUNK) -> np.ndarray:
    """Each of `rows`' topic under a fitted model, `chunk` rows read and assigned at a time.
    `embeddings` is a matrix or an embedding_map.EmbeddingMap (rows read on demand)."""
    if chunk < 1:
        raise InvalidData(f"the assignment chunk must be at least 1 row, got {chunk}")
    topics = np.empty(len(rows), dtype=int)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        topics[start:start + len(part)] = topic_model.predict(
            model, [documents[r] for r in part], embeddings[part])
    return topics


@dataclass
class SampleFit:
    model: Any
    sample: np.ndarray   # the corpus rows the model was fitted on (a subset of rows)
    topics: np.ndarray   # the topic of every row asked for, in that order


def fit_and_assign(documents: list[str], embeddings: Any, rows: np.ndarray,
                   settings: ModelSettings, sample_size: int,
                   chunk: int = ASSIGN_CHUNK) -> SampleFit:
    """A model fitted on a sample of `rows` (ascending corpus rows) and every row's topic:
    the fit's own for the sampled rows, the model's prediction for the others; when it was
    fitted on a sample, its keywords are recomputed over every row (streamed_ctfidf)."""
    rows = np.asarray(rows)
    started = time.perf_counter()
    sample = fit_sample(rows, sample_size, settings.seed)
    model = topic_model.fit_model([documents[r] for r in sample], embeddings[sample], settings)
    topics = np.empty(len(rows), dtype=int)
    fitted = np.isin(rows, sample)
    topics[fitted] = model.topics_
    if len(sample) < len(rows):
        fit_seconds = time.perf_counter() - started
        topics[~fitted] = assign(model, documents, embeddings, rows[~fitted], chunk)
        assign_seconds = time.perf_counter() - started - fit_seconds
        streamed_ctfidf.update_keywords(model, documents, rows, topics, chunk)
        logger.info("fitted on %d of %d documents in %.1f s, assigned the other %d in %.1f s, "
                    "keywords over all in %.1f s", len(sample), len(rows), fit_seconds,
                    len(rows) - len(sample), assign_seconds,
                    time.perf_counter() - started - fit_seconds - assign_seconds)
    return SampleFit(model, sample, topics)
