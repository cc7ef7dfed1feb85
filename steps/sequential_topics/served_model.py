"""The served topic model: clean -> embed -> layer 1 -> the sub-model of the topic, per layer.

A document's topic at layer L + 1 comes from the layer-(L + 1) sub-model whose parent is its
layer-L topic; where there is none (the topic was kept), its path stops. Labels come from the
final mapping (a merged topic answers with the label of the topic it merges into); topics the
mapping does not cover (layer 3 when the last mapping covers layers 1-2) are labelled with
their first three keywords. Each sub-model is served by a LayerPredictor: BERTopic's
transform prepared at load (the same topics, 8x faster for one document and 5x for 1,000;
`reference=True` runs BERTopic's).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from steps.common.errors import InvalidData
from steps.sequential_topics import (
    contract,
    layer_store,
    representations,
    text_cleaning,
    topic_model,
)
from steps.sequential_topics.layer_predictor import LayerPredictor
from steps.sequential_topics.mapping_schema import MappingDocument, topic_id
from steps.sequential_topics.text_cleaning import CleaningSettings

LABEL_WORDS = 3


@dataclass
class LayerModels:
    layer: int
    representation: str
    by_parent: dict[str | None, tuple[LayerPredictor, int]]  # parent -> (model, topic offset)


@dataclass
class TopicModel:
    settings: CleaningSettings
    layers: list[LayerModels]
    mapping: MappingDocument
    labels: dict[str, str]
    actions: dict[str, str]
    merged_into: dict[str, str]
    nlp: Any
    minilm: Any
    lsa: Any


def _keyword_labels(model_dir: Path, layers: list[int]) -> dict[str, str]:
    labels = {}
    for layer in layers:
        for topic in layer_store.read_summary(model_dir, layer).topics:
            words = list(dict.fromkeys(k.word for k in topic.keywords))[:LABEL_WORDS]
            labels[topic_id(layer, topic.topic)] = ", ".join(words)
    return labels


def load(model_dir: Path) -> TopicModel:
    model_dir = Path(model_dir)
    manifest_path = model_dir / contract.MODEL_FILE
    if not manifest_path.is_file():
        raise InvalidData(f"{model_dir} holds no {contract.MODEL_FILE}: serve a model built by "
                          "package_model.py")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    settings = CleaningSettings.from_json(manifest["preprocessing"])
    mapping = layer_store.read_mapping(model_dir / contract.MAPPING_FILE)
    layers = []
    for layer in manifest["layers"]:
        info = layer_store.read_layer_info(model_dir, layer)
        models = {m.parent: (LayerPredictor(topic_model.load_model(
            layer_store.layer_dir(model_dir, layer) / m.file)), m.offset)
                  for m in layer_store.sub_models(info)}
        layers.append(LayerModels(layer, info["representation"], models))
    labels = _keyword_labels(model_dir, manifest["layers"])
    labels.update({t.id: t.label for t in mapping.topics})
    used = {m.representation for m in layers}
    needs_minilm = bool(used & {contract.MINILM, contract.CONCAT})
    needs_lsa = bool(used & {contract.LSA, contract.CONCAT})
    return TopicModel(
        settings=settings, layers=layers, mapping=mapping, labels=labels,
        actions={t.id: t.action for t in mapping.topics},
        merged_into={t.id: t.merge_into for t in mapping.topics if t.merge_into},
        nlp=text_cleaning.load_nlp(settings.drop_entity_labels),
        minilm=representations.load_minilm(backend=representations.saved_backend(
            model_dir / contract.REPRESENTATIONS_DIR)) if needs_minilm else None,
        lsa=representations.load_lsa(model_dir / contract.REPRESENTATIONS_DIR)
        if needs_lsa else None)


def clean(model: TopicModel, texts: list[str]) -> list[str]:
    return list(text_cleaning.clean_texts(texts, model.settings, model.nlp))


def _describe(model: TopicModel, tid: str) -> dict[str, Any]:
    target = model.merged_into.get(tid, tid)
    return {"topic": tid, "label": model.labels.get(target, tid),
            "action": model.actions.get(tid), "merged_into": model.merged_into.get(tid)}


@functools.cache
def _thread_pools() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded OpenMP and BLAS libraries once


@contextmanager
def _one_thread(pools: bool = True) -> Iterator[None]:
    """numba (UMAP) and, with `pools`, OpenMP (BIRCH's distances) and BLAS on the calling
    thread only. A request holds a few documents and the server runs requests side by side:
    their thread pools cost more than they save (one document through three layers took 415 ms
    with 2 threads per pool on 2 shared cores and 15 ms with one; 300 documents 4.2 s and
    1.0 s, measured). The prepared layers call neither OpenMP nor BLAS, so they leave the pools
    alone (limiting them costs about 15 us of CPU a request)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # this thread's setting
    try:
        if pools:
            with _thread_pools().limit(limits=1):
                yield
        else:
            yield
    finally:
        numba.set_num_threads(previous)


def assign(model: TopicModel, documents: list[str], reference: bool = False
           ) -> list[list[dict[str, Any]]]:
    """Each cleaned document's path through the layers: [{layer, topic, label, ...}, ...].
    The documents are embedded first (every representation the layers use, each once), then
    go through the layers (`assign_embedded`)."""
    if not documents:
        return []
    needed = tuple(dict.fromkeys(layer.representation for layer in model.layers))
    vectors = representations.compute(documents, model.minilm, model.lsa, needed=needed)
    return assign_embedded(model, documents, vectors, reference)


def assign_embedded(model: TopicModel, documents: list[str], vectors: dict[str, np.ndarray],
                    reference: bool = False) -> list[list[dict[str, Any]]]:
    """The layers' part of `assign` for documents already embedded (`vectors`: each
    representation the layers use), on one thread (`_one_thread`); each sub-model takes its
    documents in one batch. `reference` runs BERTopic's own transform (LayerPredictor)
    instead of the prepared one: the same topics, slower."""
    paths: list[list[dict[str, Any]]] = [[] for _ in documents]
    current: list[str | None] = [None] * len(documents)
    with _one_thread(pools=reference):
        for layer in model.layers:
            embeddings = vectors[layer.representation]
            for parent, (sub_model, offset) in layer.by_parent.items():
                rows = [i for i, c in enumerate(current) if c == parent and
                        (parent is not None or not paths[i])]
                if not rows:
                    continue
                predict = sub_model.reference if reference else sub_model.predict
                topics = predict([documents[i] for i in rows], embeddings[rows])
                for row, topic in zip(rows, topics, strict=True):
                    tid = topic_id(layer.layer, offset + int(topic))
                    paths[row].append({"layer": layer.layer, **_describe(model, tid)})
            current = [p[-1]["topic"] if p and p[-1]["layer"] == layer.layer else None
                       for p in paths]
    return paths
