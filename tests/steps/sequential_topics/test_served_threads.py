"""The layers of a served topic model run on one numba thread, the reference path also with
OpenMP and BLAS on one thread, and leave the caller's thread settings as they were; the
documents are embedded once, before."""
from __future__ import annotations

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from steps.sequential_topics import representations, served_model
from steps.sequential_topics.served_model import LayerModels, TopicModel
from steps.sequential_topics.text_cleaning import CleaningSettings


class Recorder:
    """Stands in for a LayerPredictor: topic 1 for every document, and the thread settings
    each path ran under."""

    def __init__(self, name: str, seen: list):
        self.name, self.seen = name, seen

    def _record(self, path: str, documents: list[str]) -> np.ndarray:
        pools = {info["user_api"]: info["num_threads"] for info in threadpool_info()}
        self.seen.append((self.name, path, numba.get_num_threads(), pools))
        return np.ones(len(documents), dtype=int)

    def predict(self, documents, embeddings):
        return self._record("prepared", documents)

    def reference(self, documents, embeddings):
        return self._record("reference", documents)


def _model(seen: list) -> TopicModel:
    layers = [LayerModels(1, "lsa", {None: (Recorder("layer-1 model", seen), 0)}),
              LayerModels(2, "lsa", {"1:1": (Recorder("layer-2 model", seen), 10)})]
    return TopicModel(settings=CleaningSettings(text_columns=("text",)), layers=layers,
                      mapping=None, labels={"1:1": "one", "2:11": "eleven"}, actions={},
                      merged_into={}, nlp=None, minilm=None, lsa=None)


@pytest.mark.parametrize("reference", [False, True])
def test_layers_run_on_one_thread_and_the_settings_come_back(monkeypatch, reference):
    seen, embedded = [], []

    def compute(documents, minilm, lsa, needed):
        embedded.append(needed)
        return {name: np.zeros((len(documents), 2), np.float32) for name in needed}

    monkeypatch.setattr(representations, "compute", compute)
    before = numba.get_num_threads()
    pools_before = {info["user_api"]: info["num_threads"] for info in threadpool_info()}
    paths = served_model.assign(_model(seen), ["a b", "c d"], reference=reference)
    assert [[step["topic"] for step in path] for path in paths] == [["1:1", "2:11"]] * 2
    assert embedded == [("lsa",)]  # once, for both layers
    path = "reference" if reference else "prepared"
    assert [(name, how, threads) for name, how, threads, _ in seen] == [
        ("layer-1 model", path, 1), ("layer-2 model", path, 1)]
    for *_, pools in seen:
        assert pools == ({name: 1 for name in pools} if reference else pools_before)
    assert numba.get_num_threads() == before


def test_the_settings_come_back_after_a_failure(monkeypatch):
    class Failing:
        def predict(self, documents, embeddings):
            raise RuntimeError("a layer failed")

    model = _model([])
    model.layers[0].by_parent[None] = (Failing(), 0)
    monkeypatch.setattr(representations, "compute",
                        lambda documents, *_, needed: {n: np.zeros((len(documents), 2))
                                                       for n in needed})
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError, match="a layer failed"):
        served_model.assign(model, ["a b"])
    assert numba.get_num_threads() == before
