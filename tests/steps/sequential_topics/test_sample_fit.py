"""sample_fit: a model fitted on a seeded sample of its documents, the rest assigned in chunks
(PCA reducer and LSA embeddings: cheap and deterministic), its keywords recomputed over every
document (streamed_ctfidf); and train_layer with a sample smaller than the corpus."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.base import clone

from steps.common.errors import InvalidData
from steps.sequential_topics import (
    contract,
    corpus_io,
    layer_store,
    sample_fit,
    streamed_ctfidf,
    topic_model,
    train_layer,
)
from steps.sequential_topics.topic_model import ModelSettings
from tests.steps.sequential_topics.conftest import FAST, read_json, run_main

SETTINGS = ModelSettings(reducer="pca", n_clusters=5, seed=7)
SAMPLE = 60


@pytest.fixture(scope="module")
def corpus(corpus_dir, embeddings_dir) -> tuple[list[str], np.ndarray]:
    frame = corpus_io.read_corpus(corpus_dir)
    ids = frame[contract.ID_COLUMN].tolist()
    return (frame[contract.DOCUMENT_COLUMN].tolist(),
            corpus_io.read_embeddings(embeddings_dir, contract.LSA, ids))


@pytest.fixture(scope="module")
def fitted(corpus) -> sample_fit.SampleFit:
    documents, embeddings = corpus
    return sample_fit.fit_and_assign(documents, embeddings, np.arange(len(documents)),
                                     SETTINGS, SAMPLE)


class TestFitSample:
    def test_a_larger_set_gives_exactly_the_size_seeded(self):
        rows = np.arange(10, 1010)
        drawn = sample_fit.fit_sample(rows, 100, seed=3)
        assert len(drawn) == 100 == len(set(drawn.tolist()))
        assert set(drawn.tolist()) <= set(rows.tolist())
        assert np.all(np.diff(drawn) > 0)
        assert np.array_equal(drawn, sample_fit.fit_sample(rows, 100, seed=3))
        assert not np.array_equal(drawn, sample_fit.fit_sample(rows, 100, seed=4))

    def test_a_set_no_larger_than_the_size_is_kept_whole(self):
        rows = np.array([2, 5, 9])
        assert np.array_equal(sample_fit.fit_sample(rows, 3, seed=0), rows)

    def test_too_small_a_size_is_refused(self):
        with pytest.raises(InvalidData, match="fit_sample_size must be at least 3, got 2"):
            sample_fit.fit_sample(np.arange(10), 2, seed=0)


class TestFitAndAssign:
    def test_fits_on_exactly_the_sample_and_assigns_every_document(self, corpus, fitted):
        documents, _ = corpus
        assert len(documents) > SAMPLE
        assert len(fitted.sample) == SAMPLE == len(fitted.model.topics_)
        assert len(fitted.topics) == len(documents)
        assert set(fitted.topics.tolist()) <= set(range(SETTINGS.n_clusters))
        # the sampled documents keep the topics the fit gave them
        assert np.array_equal(fitted.topics[fitted.sample], fitted.model.topics_)

    def test_the_rest_get_the_models_prediction(self, corpus, fitted):
        documents, embeddings = corpus
        rest = np.setdiff1d(np.arange(len(documents)), fitted.sample)
        predicted = topic_model.predict(fitted.model, [documents[r] for r in rest],
                                        embeddings[rest])
        assert np.array_equal(fitted.topics[rest], predicted)

    def test_same_seed_same_sample_and_topics(self, corpus, fitted):
        documents, embeddings = corpus
        again = sample_fit.fit_and_assign(documents, embeddings, np.arange(len(documents)),
                                          SETTINGS, SAMPLE)
        assert np.array_equal(again.sample, fitted.sample)
        assert np.array_equal(again.topics, fitted.topics)

    def test_chunked_assignment_equals_one_shot(self, corpus, fitted):
        documents, embeddings = corpus
        rows = np.arange(len(documents))
        one_shot = sample_fit.assign(fitted.model, documents, embeddings, rows, len(rows))
        assert np.array_equal(
            sample_fit.assign(fitted.model, documents, embeddings, rows, 7), one_shot)

    def test_a_corpus_within_the_sample_is_fitted_whole(self, corpus):
        documents, embeddings = corpus
        rows = np.arange(0, len(documents), 2)
        whole = topic_model.fit_model([documents[r] for r in rows], embeddings[rows], SETTINGS)
        fit = sample_fit.fit_and_assign(documents, embeddings, rows, SETTINGS, len(rows))
        assert np.array_equal(fit.sample, rows)
        assert np.array_equal(fit.topics, whole.topics_)


@pytest.mark.integration
def test_train_layer_fits_on_the_sample_and_assigns_every_document(corpus_dir, embeddings_dir,
                                                                   tmp_path):
    args = ["--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
            str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "1",
            *FAST, "--n_clusters", "5", "--cv_folds", "2", "--fit_sample_size", str(SAMPLE)]
    run = run_main(train_layer.main, args, tmp_path)
    assert run.returncode == 0, run.stderr
    metrics = read_json(tmp_path / "o" / contract.TRAINING_METRICS_FILE)
    n_docs = len(corpus_io.read_corpus(corpus_dir))
    assert metrics["fitted_documents"] == SAMPLE and metrics["documents"] == n_docs
    assignments = layer_store.read_assignments(tmp_path / "m")
    column = assignments[contract.layer_column(1)]
    assert len(assignments) == n_docs and (column != "").all() and column.notna().all()
    assert layer_store.read_layer_info(tmp_path / "m", 1)["fit_sample_size"] == SAMPLE


@pytest.mark.integration
def test_train_layer_refuses_a_tiny_sample(corpus_dir, embeddings_dir, tmp_path):
    run = run_main(train_layer.main, [
        "--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
        str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "1", *FAST,
        "--fit_sample_size", "1"], tmp_path)
    assert run.returncode == 1
    assert run.failure.strip().startswith("fit_sample_size must be at least 3, got 1")


class TestStreamedKeywords:
    def test_streamed_c_tf_idf_equals_bertopics_in_memory_update(self, corpus, fitted):
        documents, _ = corpus
        rows = np.arange(len(documents))
        reference = copy.deepcopy(fitted.model)
        reference.update_topics(documents, topics=fitted.topics.tolist(),
                                vectorizer_model=clone(fitted.model.vectorizer_model),
                                ctfidf_model=clone(fitted.model.ctfidf_model),
                                top_n_words=fitted.model.top_n_words)
        streamed = copy.deepcopy(fitted.model)
        streamed_ctfidf.update_keywords(streamed, documents, rows, fitted.topics, 13)
        assert streamed.c_tf_idf_.shape == reference.c_tf_idf_.shape
        assert abs(streamed.c_tf_idf_ - reference.c_tf_idf_).max() < 1e-12
        assert streamed.topic_representations_ == reference.topic_representations_

    def test_a_model_fitted_on_a_sample_has_the_whole_corpus_keywords(self, corpus, fitted):
        """fit_and_assign already recomputed them: doing it again changes nothing."""
        documents, _ = corpus
        again = copy.deepcopy(fitted.model)
        streamed_ctfidf.update_keywords(again, documents, np.arange(len(documents)),
                                        fitted.topics, len(documents))
        assert again.topic_representations_ == fitted.model.topic_representations_


@pytest.mark.integration
def test_umap_sample_fit_assigns_every_document(corpus):
    """The real reducer: UMAP's transform depends on its batch (epochs, negative samples), so
    chunked assignment is close to one-shot, not equal (98-99.5% on BBC, bench)."""
    documents, embeddings = corpus
    settings = ModelSettings(reducer="umap", n_clusters=5, seed=7)
    fit = sample_fit.fit_and_assign(documents, embeddings, np.arange(len(documents)),
                                    settings, SAMPLE, chunk=50)
    assert len(fit.model.topics_) == SAMPLE and len(fit.topics) == len(documents)
    assert np.array_equal(fit.topics[fit.sample], fit.model.topics_)
    assert set(fit.topics.tolist()) <= set(range(settings.n_clusters))
    rest = np.setdiff1d(np.arange(len(documents)), fit.sample)
    one_shot = sample_fit.assign(fit.model, documents, embeddings, rest, len(rest))
    assert (one_shot == fit.topics[rest]).mean() >= 0.9
