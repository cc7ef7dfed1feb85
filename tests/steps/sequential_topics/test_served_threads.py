"""The layers of a served topic model run on one thread (numba, OpenMP, BLAS) and leave the
caller's thread settings as they were; the documents are embedded once, before."""
from __future__ import annotations

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from steps.sequential_topics import representations, served_model, topic_model
from steps.sequential_topics.served_model import LayerModels, TopicModel
from steps.sequential_topics.text_cleaning import CleaningSettings


def _model() -> TopicModel:
    layers = [LayerModels(1, "lsa", {None: ("layer-1 model", 0)}),
              LayerModels(2, "lsa", {"1:1": ("layer-2 model", 10)})]
    return TopicModel(settings=CleaningSettings(text_columns=("text",)), layers=layers,
                      mapping=None, labels={"1:1": "one", "2:11": "eleven"}, actions={},
                      merged_into={}, nlp=None, minilm=None, lsa=None)


def test_layers_run_on_one_thread_and_the_settings_come_back(monkeypatch):
    seen, embedded = [], []

    def predict(sub_model, documents, embeddings):
        pools = {info["user_api"]: info["num_threads"] for info in threadpool_info()}
        seen.append((sub_model, numba.get_num_threads(), pools))
        return np.ones(len(documents), dtype=int)

    def compute(documents, minilm, lsa, needed):
        embedded.append(needed)
        return {name: np.zeros((len(documents), 2)) for name in needed}

    monkeypatch.setattr(topic_model, "predict", predict)
    monkeypatch.setattr(representations, "compute", compute)
    before = numba.get_num_threads()
    paths = served_model.assign(_model(), ["a b", "c d"])
    assert [[step["topic"] for step in path] for path in paths] == [["1:1", "2:11"]] * 2
    assert embedded == [("lsa",)]  # once, for both layers
    assert [(name, threads) for name, threads, _ in seen] == [("layer-1 model", 1),
                                                              ("layer-2 model", 1)]
    for _, _, pools in seen:
        assert pools and set(pools.values()) == {1}
    assert numba.get_num_threads() == before


def test_the_settings_come_back_after_a_failure(monkeypatch):
    def predict(*_):
        raise RuntimeError("a layer failed")

    monkeypatch.setattr(topic_model, "predict", predict)
    monkeypatch.setattr(representations, "compute",
                        lambda documents, *_, needed: {n: np.zeros((len(documents), 2))
                                                       for n in needed})
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError, match="a layer failed"):
        served_model.assign(_model(), ["a b"])
    assert numba.get_num_threads() == before
