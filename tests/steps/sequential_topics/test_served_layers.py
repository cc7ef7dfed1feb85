"""The served layers' prepared path (layer_predictor, umap_transform) gives the reference path's
topics (BERTopic's transform) for every document: on a three-layer UMAP model of the sample
corpus, for its documents, unseen sample documents and generated text; through the handler,
bad records and bodies are answered as before."""
from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.sequential_topics.sample_data import sample_frame
from steps.common.errors import InvalidRequest
from steps.common.files import write_json_atomic
from steps.sequential_topics import (
    contract,
    corpus_io,
    inference,
    package_model,
    served_model,
    topic_model,
    train_layer,
)
from steps.sequential_topics.layer_predictor import (
    TIE_TOLERANCE,
    LayerPredictor,
    _nearest_subclusters,
)
from steps.sequential_topics.text_cleaning import CleaningSettings
from tests.steps.sequential_topics.conftest import run_main, simple_clean, write_mapping

pytestmark = pytest.mark.integration

UMAP_LAYERS = ["--reducer", "umap", "--representation", "lsa", "--umap_n_neighbors", "10",
               "--seed", "7", "--cv_folds", "1", "--sub_min_docs", "8",
               "--sub_max_clusters", "3"]


@pytest.fixture(scope="module")
def umap_model(tmp_path_factory, corpus_dir, embeddings_dir, lsa_dir):
    """Three UMAP layers on the sample corpus (LSA), each mapping splitting the largest topic,
    packaged and loaded as the endpoint loads them."""
    root = tmp_path_factory.mktemp("umap-layers")
    mapping = None
    for layer in (1, 2, 3):
        args = ["--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir),
                "--model-dir", str(root / f"model{layer}"), "--output-data-dir",
                str(root / f"out{layer}"), "--layer", str(layer), *UMAP_LAYERS]
        if layer == 1:
            args += ["--n_clusters", "6"]
        else:
            args += ["--mapping", str(root / f"mapping{layer - 1}"), "--previous-model",
                     str(root / f"model{layer - 1}")]
        run = run_main(train_layer.main, args, root / f"work{layer}")
        assert run.returncode == 0, run.stderr
        if layer < 3:
            mapping = write_mapping(root / f"mapping{layer}", mapping, root / f"model{layer}",
                                    layer)
    write_json_atomic(root / "report" / contract.PREPROCESSING_CONFIG,
                      CleaningSettings(text_columns=("title", "description", "details"))
                      .to_json())
    run = run_main(package_model.main, [
        "--model", str(root / "model3"), "--mapping", str(root / "mapping2"),
        "--preprocessing", str(root / "report"), "--representations", str(lsa_dir),
        "--output-dir", str(root / "package")], root / "work-package")
    assert run.returncode == 0, run.stderr
    with tarfile.open(root / "package" / "model.tar.gz") as archive:
        archive.extractall(root / "served", filter="data")
    model = inference.model_fn(str(root / "served"))
    assert [len(layer.by_parent) for layer in model.layers][1:] != [0, 0]
    assert all(predictor.prepared for layer in model.layers
               for predictor, _ in layer.by_parent.values())
    return model


def paths_agree(model, documents: list[str]) -> bool:
    fast = served_model.assign(model, documents)
    return fast == served_model.assign(model, documents, reference=True)


def test_the_corpus_gets_the_reference_topics(umap_model, corpus_dir):
    documents = corpus_io.read_corpus(corpus_dir)[contract.DOCUMENT_COLUMN].tolist()
    assert paths_agree(umap_model, documents)
    assert all(paths_agree(umap_model, [document]) for document in documents[:15])


def test_unseen_documents_alone_and_in_batches(umap_model):
    frame = sample_frame(260, seed=11).iloc[200:]
    documents = [simple_clean(t) for t in frame["title"] + " " + frame["description"]]
    assert paths_agree(umap_model, documents)
    assert paths_agree(umap_model, documents[:7] + documents[:7])  # duplicates in a batch


words = st.sampled_from(["bank", "shares", "film", "award", "election", "minister", "match",
                         "goal", "phone", "software", "growth", "actor", "vote", "team"])
texts = st.one_of(
    st.lists(words, min_size=1, max_size=3).map(" ".join),              # almost empty
    st.lists(words, min_size=200, max_size=600).map(" ".join),          # very long
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),  # unicode
    st.tuples(st.text(alphabet="éüßøπ漢字", min_size=1, max_size=8), words).map(" ".join))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts, min_size=1, max_size=6))
def test_generated_documents(umap_model, batch):
    assert paths_agree(umap_model, batch + batch[:1])


def test_the_handler_answers_bad_records_and_bodies_as_before(umap_model, monkeypatch):
    body = json.dumps({"instances": [
        "", {"title": 3.5}, {"title": ["a list"]}, "the bank shares rose",
        "http://example.com", {"id": "x", "description": "the film won an award"}, 7]})

    def answer() -> str:
        data = inference.input_fn(body, "application/json")
        return inference.output_fn(inference.predict_fn(data, umap_model), "text/csv")[0]

    fast = answer()
    reference_assign = served_model.assign
    monkeypatch.setattr(served_model, "assign", lambda model, documents: reference_assign(
        model, documents, reference=True))
    assert answer() == fast
    assert {"empty", "invalid", "ok"} <= {line.split(",")[1] for line in fast.splitlines()[1:]}
    with pytest.raises(InvalidRequest):
        inference.input_fn(b'{"instances": []}', "application/json")


def test_a_pca_model_runs_the_reference(corpus_dir):
    corpus = corpus_io.read_corpus(corpus_dir)
    documents = corpus[contract.DOCUMENT_COLUMN].tolist()[:60]
    embeddings = np.random.default_rng(3).normal(size=(60, 8)).astype(np.float32)
    model = topic_model.fit_model(documents, embeddings, topic_model.ModelSettings(
        reducer="pca", n_clusters=4, seed=7))
    predictor = LayerPredictor(model)
    assert not predictor.prepared
    assert np.array_equal(predictor.predict(documents[:5], embeddings[:5]),
                          topic_model.predict(model, documents[:5], embeddings[:5]))


def test_a_near_tie_between_subclusters_is_left_to_birch():
    """Two centres at the same distance: numpy's and scikit-learn's rounding may disagree, so
    the prepared path does not decide (the predictor then runs the reference)."""
    centres = np.array([[1.0, 0.0], [-1.0, 0.0]])
    mean, scale = np.zeros(2, np.float32), np.full(2, 2.0, np.float32)

    def nearest(points):
        return _nearest_subclusters(np.array(points, np.float32), mean, scale, centres,
                                    (centres ** 2).sum(axis=1), TIE_TOLERANCE).tolist()

    assert nearest([[0.0, 1.0], [1.0, 0.2], [-0.4, 6.0]]) == [-1, 0, 1]
    assert nearest([[2.0, 0.0]]) == [0]
