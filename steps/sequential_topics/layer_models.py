"""Fitting one layer: layer 1's single model with cross-validated quality, or a sub-model per
topic that the mapping marks for re-clustering (layers 2 and 3), each with the sub-topic count
the mapping chose for it; and the layer's topics as the summary the mapping rule reads (with
each topic's scored splits, subtopic_search, when a later layer may re-cluster it).

Layer 1's scores are cross-validated (`cv_folds` >= 2): for each fold a model is fitted on the
other folds, assigns the held-out fold, and is scored there (NPMI coherence on the held-out
documents, diversity of its keywords, silhouette of the held-out documents in the reference
embedding space, ARI against the full model's topics for those documents). Layers >= 2 are
scored in-sample over all their sub-models (no stability term), their silhouette in their own
embedding space. See topic_metrics for the loss, which is the silhouette's.

Every model is fitted on at most `fit_sample_size` of its documents and assigns the rest
(sample_fit); the cross-validation and the in-sample scores work on the fitted sample, and a
topic's dispersion and split search on a sample of its documents of the same size.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from steps.sequential_topics import sample_fit, topic_metrics, topic_model
from steps.sequential_topics.layer_store import SubModel, model_file_name
from steps.sequential_topics.mapping_schema import Keyword, SummaryTopic, topic_id
from steps.sequential_topics.subtopic_search import SplitSearchSettings
from steps.sequential_topics.topic_model import ModelSettings

logger = logging.getLogger(__name__)

REPRESENTATIVE_DOCS = 3
REPRESENTATIVE_CHARS = 300


@dataclass
class FittedModel:
    """A fitted BERTopic model and where its topics sit in the layer."""

    model: Any
    rows: np.ndarray              # corpus rows the model clustered
    local_topics: np.ndarray      # each row's topic under this model
    parent: str | None
    offset: int
    sample: np.ndarray            # the rows it was fitted on (all of rows when few enough)

    def sub_model(self) -> SubModel:
        return SubModel(model_file_name(self.parent), self.parent, self.offset,
                        tuple(sorted({int(t) for t in self.local_topics})))


@dataclass
class LayerResult:
    layer: int
    models: list[FittedModel]
    scores: dict[str, float]
    skipped: dict[str, str] = field(default_factory=dict)  # parent -> why not re-clustered


def _topic_words(model: Any, topics: list[int]) -> list[list[str]]:
    return [[w for w, _ in topic_model.topic_keywords(model, t, [])] for t in topics]


FoldHook = Callable[[Any, np.ndarray, np.ndarray, np.ndarray], dict[str, float]]


def fold_components(documents: list[str], embeddings: np.ndarray, settings: ModelSettings,
                    folds: int, full_topics: np.ndarray, extra: FoldHook | None = None,
                    reference: np.ndarray | None = None) -> list[dict[str, float]]:
    """Each fold's label-free components: a model fitted on the other folds, scored on the
    held-out fold; separation in `reference` (rows as `embeddings`; default `embeddings`).
    `extra(model, train rows, test rows, held-out topics)` adds measurements (the objective
    bench's candidates) without a second pass."""
    from sklearn.model_selection import KFold

    reference = embeddings if reference is None else reference
    per_fold = []
    splitter = KFold(n_splits=folds, shuffle=True, random_state=settings.seed)
    docs = np.asarray(documents, dtype=object)
    for number, (train, test) in enumerate(splitter.split(docs)):
        model = topic_model.fit_model(docs[train].tolist(), embeddings[train], settings)
        held = topic_model.predict(model, docs[test].tolist(), embeddings[test])
        words = _topic_words(model, sorted(set(model.topics_)))
        scores = {"coherence": topic_metrics.npmi_coherence(words, docs[test].tolist())[0],
                  "diversity": topic_metrics.topic_diversity(words),
                  "separation": topic_metrics.separation(reference[test], held, settings.seed),
                  "stability": topic_metrics.stability(held, full_topics[test])}
        if extra is not None:
            scores.update(extra(model, train, test, held))
        per_fold.append(scores)
        logger.info("fold %d: %s", number + 1, {k: round(v, 4) for k, v in scores.items()})
    return per_fold


def cross_validated_scores(documents: list[str], embeddings: np.ndarray,
                           settings: ModelSettings, folds: int, full_topics: np.ndarray,
                           reference: np.ndarray | None = None) -> dict[str, float]:
    per_fold = fold_components(documents, embeddings, settings, folds, full_topics,
                               reference=reference)
    return {k: float(np.mean([fold[k] for fold in per_fold])) for k in per_fold[0]}


def in_sample_scores(models: list[FittedModel], documents: list[str],
                     embeddings: np.ndarray, seed: int) -> dict[str, float]:
    """Scores over the documents each model was fitted on; separation among `embeddings`."""
    words, separations, rows = [], [], []
    for fitted in models:
        words.extend(_topic_words(fitted.model, sorted(set(fitted.local_topics))))
        separations.append(topic_metrics.separation(embeddings[fitted.sample],
                                                    fitted.model.topics_, seed))
        rows.extend(fitted.sample.tolist())
    layer_docs = [documents[r] for r in rows]
    return {"coherence": topic_metrics.npmi_coherence(words, layer_docs)[0] if words else 0.0,
            "diversity": topic_metrics.topic_diversity(words),
            "separation": float(np.mean(separations)) if separations else 0.0}


def with_loss(scores: dict[str, float]) -> dict[str, float]:
    return {**scores, "topic_loss": topic_metrics.topic_loss(scores["separation"])}


def fit_layer_one(documents: list[str], embeddings: np.ndarray, settings: ModelSettings,
                  cv_folds: int, fit_sample_size: int = sample_fit.DEFAULT_FIT_SAMPLE,
                  reference: np.ndarray | None = None) -> LayerResult:
    """Layer 1's model, fitted on a sample and assigning every document; `embeddings` (and
    `reference`, the space its separation is measured in, default `embeddings`) are matrices
    or embedding_map.EmbeddingMaps."""
    reference = embeddings if reference is None else reference
    fit = sample_fit.fit_and_assign(documents, embeddings, np.arange(len(documents)),
                                    settings, fit_sample_size)
    fitted = FittedModel(fit.model, np.arange(len(documents)), fit.topics, None, 0, fit.sample)
    if cv_folds >= 2:
        sampled = [documents[r] for r in fit.sample]
        scores = cross_validated_scores(sampled, embeddings[fit.sample], settings, cv_folds,
                                        np.asarray(fit.model.topics_, dtype=int),
                                        reference[fit.sample])
    else:
        scores = in_sample_scores([fitted], documents, reference, settings.seed)
    return LayerResult(1, [fitted], with_loss(scores))


def sub_model_clusters(n_docs: int, fixed: int, max_clusters: int, min_docs: int) -> int:
    """`fixed` when > 0, else one topic per `min_docs` documents, between 2 and max_clusters."""
    if fixed > 0:
        return min(fixed, n_docs)
    return max(2, min(max_clusters, n_docs // max(min_docs, 1)))


def fit_sub_layer(layer: int, documents: list[str], embeddings: np.ndarray,
                  parent_topics: np.ndarray, recluster: list[str], settings: ModelSettings,
                  sub_n_clusters: int, sub_max_clusters: int, sub_min_docs: int,
                  counts: Mapping[str, int] | None = None,
                  fit_sample_size: int = sample_fit.DEFAULT_FIT_SAMPLE) -> LayerResult:
    """A model per parent in `recluster` (parents of layer-1 ids like '1:4'), over the rows
    whose previous-layer topic is that parent, with `counts[parent]` topics where the mapping
    chose a count (else sub_model_clusters); topic numbers continue across models."""
    counts = counts or {}
    models: list[FittedModel] = []
    skipped: dict[str, str] = {}
    offset = 0
    if not recluster:
        logger.warning("layer %d: the mapping re-clusters no topic, so this layer has none",
                       layer)
    for parent in sorted(recluster, key=lambda p: int(p.split(":")[1])):
        rows = np.flatnonzero(parent_topics == parent)
        if len(rows) < max(sub_min_docs, 3):
            skipped[parent] = f"{len(rows)} documents, fewer than sub_min_docs={sub_min_docs}"
            logger.warning("layer %d: not re-clustering %s: %s", layer, parent, skipped[parent])
            continue
        clusters = counts.get(parent) or sub_model_clusters(len(rows), sub_n_clusters,
                                                            sub_max_clusters, sub_min_docs)
        fit = sample_fit.fit_and_assign(documents, embeddings, rows,
                                        replace(settings, n_clusters=clusters), fit_sample_size)
        local = fit.topics
        models.append(FittedModel(fit.model, rows, local, parent, offset, fit.sample))
        logger.info("layer %d: %s (%d documents, fitted on %d) -> %d topics", layer, parent,
                    len(rows), len(fit.sample), len(set(local)))
        offset += int(local.max()) + 1
    scores = in_sample_scores(models, documents, embeddings, settings.seed) if models else {
        "coherence": 0.0, "diversity": 0.0, "separation": 0.0}
    return LayerResult(layer, models, with_loss(scores), skipped)


def layer_assignments(result: LayerResult, n_docs: int) -> np.ndarray:
    """Each corpus row's topic id in this layer ('' where no model clustered it)."""
    column = np.full(n_docs, "", dtype=object)
    for fitted in result.models:
        column[fitted.rows] = [topic_id(result.layer, fitted.offset + int(t))
                               for t in fitted.local_topics]
    return column


def summary_topics(result: LayerResult, documents: list[str], embeddings: np.ndarray,
                   search: SplitSearchSettings | None = None,
                   sample_size: int = sample_fit.DEFAULT_FIT_SAMPLE,
                   seed: int = 42) -> list[SummaryTopic]:
    """The layer's topics; with `search`, each topic's scored splits (the next layer's).
    Dispersion and splits are scored on at most `sample_size` of a topic's documents."""
    topics = []
    for fitted in result.models:
        representative = fitted.model.get_representative_docs() or {}
        for local in sorted(set(int(t) for t in fitted.local_topics)):
            rows = fitted.rows[fitted.local_topics == local]
            docs = [documents[r] for r in rows]
            scored = embeddings[sample_fit.fit_sample(rows, sample_size, seed)]
            keywords = topic_model.topic_keywords(fitted.model, local, docs)
            examples = [d[:REPRESENTATIVE_CHARS] for d in
                        (representative.get(local) or docs)[:REPRESENTATIVE_DOCS]]
            topics.append(SummaryTopic(
                topic=fitted.offset + local, size=len(rows),
                keywords=[Keyword(word=w, weight=round(v, 6)) for w, v in keywords],
                representative_docs=examples,
                dispersion=round(topic_metrics.dispersion(scored), 6),
                parent=fitted.parent,
                split_silhouettes=search.silhouettes(scored) if search else {}))
    return topics
