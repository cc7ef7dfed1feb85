"""train_layer.py on a tiny corpus with the PCA reducer: layer 1, then layers 2 and 3 given
the mappings the callback would write."""
from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from runtime.topic_mapping.mapping_update import update_mapping
from steps.sequential_topics import contract, corpus_io, layer_store, train_layer
from steps.sequential_topics.evaluate import evaluate
from steps.sequential_topics.layer_models import sub_model_clusters
from steps.sequential_topics.mapping_schema import (
    TOPIC_SUMMARY_FILE,
    MappingDocument,
    MappingOverrides,
    TopicSummary,
    dump_document,
    load_document,
)
from tests.steps.sequential_topics.conftest import FAST, read_json, run_main

pytestmark = pytest.mark.integration


def summary(folder) -> TopicSummary:
    return load_document(TopicSummary, (folder / TOPIC_SUMMARY_FILE).read_bytes(), "test")


def metric_values(stdout: str) -> dict[str, float]:
    values = {}
    for definition in contract.metric_definitions():
        found = re.findall(definition["Regex"], stdout)
        if found:
            values[definition["Name"]] = float(found[-1])
    return values


class TestLayerOne:
    def test_metric_lines_match_the_documented_regexes(self, trained):
        values = metric_values(trained.runs[1].stdout)
        assert set(values) == {name for name in contract.METRIC_LINES.values()}
        assert 0 <= values[contract.OBJECTIVE_METRIC] <= 1
        assert -1 <= values["validation:coherence"] <= 1
        assert 0 < values["validation:diversity"] <= 1
        assert values["train:topic-count"] == 6
        assert re.search(r"^validation-topic-loss:\d+\.\d{6};$", trained.runs[1].stdout, re.M)

    def test_summary_validates_and_covers_every_document(self, trained, corpus_dir):
        document = summary(trained.output_dirs[1])
        total = sum(len(pd.read_csv(p)) for p in corpus_dir.glob("*.csv"))
        assert document.layer == 1 and document.total_documents == total
        assert [t.topic for t in document.topics] == list(range(6))
        assert all(t.parent is None and t.keywords and t.representative_docs
                   for t in document.topics)
        assert all(0 <= t.dispersion <= 1 for t in document.topics)
        assert (layer_store.layer_dir(trained.model_dirs[1], 1) / TOPIC_SUMMARY_FILE
                ).read_bytes() == (trained.output_dirs[1] / TOPIC_SUMMARY_FILE).read_bytes()

    def test_model_dir_holds_model_and_assignments(self, trained):
        model_dir = trained.model_dirs[1]
        info = layer_store.read_layer_info(model_dir, 1)
        assert info["representation"] == "lsa"
        assert info["models"] == [{"file": "models/root.pkl", "parent": None, "offset": 0,
                                   "topics": [0, 1, 2, 3, 4, 5]}]
        assert (layer_store.layer_dir(model_dir, 1) / "models" / "root.pkl").is_file()
        assignments = layer_store.read_assignments(model_dir)
        assert list(assignments.columns) == ["id", "layer1"]
        assert assignments["layer1"].str.fullmatch(r"1:[0-5]").all()
        sizes = assignments["layer1"].value_counts()
        assert {f"1:{t.topic}": t.size for t in summary(trained.output_dirs[1]).topics} == \
            sizes.to_dict()
        metrics = read_json(trained.output_dirs[1] / contract.TRAINING_METRICS_FILE)
        assert set(metrics["scores"]) == {"coherence", "diversity", "separation", "stability",
                                          "topic_loss"}

    def test_same_seed_same_topics(self, trained, corpus_dir, embeddings_dir, tmp_path):
        run = run_main(train_layer.main, [
            "--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
            str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", '"1"',
            *FAST, "--n_clusters", "6", "--cv_folds", "2", "--sagemaker_program",
            "train_layer.py", "--_tuning_objective_metric", "validation:topic-loss"], tmp_path)
        assert run.stdout.count("validation-topic-loss:") == 1
        assert run.returncode == 0, run.stderr
        again = layer_store.read_assignments(tmp_path / "m")
        assert again.equals(layer_store.read_assignments(trained.model_dirs[1]))


class TestLayersTwoAndThree:
    def test_layer_two_reclusters_what_the_mapping_splits(self, trained):
        mapping = load_document(MappingDocument, (trained.mappings[1] / "mapping.json")
                                .read_bytes(), "mapping")
        document = summary(trained.output_dirs[2])
        assert document.layer == 2
        assert {t.parent for t in document.topics} == set(mapping.recluster)
        assignments = layer_store.read_assignments(trained.model_dirs[2])
        assert list(assignments.columns) == ["id", "layer1", "layer2"]
        in_split = assignments["layer1"].isin(mapping.recluster)
        assert (assignments.loc[in_split, "layer2"].str.startswith("2:")).all()
        assert (assignments.loc[~in_split, "layer2"] == "").all()
        assert document.total_documents == int(in_split.sum())
        sizes = assignments.loc[in_split, "layer1"].value_counts()
        chosen = {t.id: t.subtopics for t in mapping.topics if t.id in mapping.recluster}
        assert Counter(t.parent for t in document.topics) == {
            parent: chosen[parent] or sub_model_clusters(sizes[parent], 0, 3, 8)
            for parent in mapping.recluster}
        assert layer_store.layers_in(trained.model_dirs[2]) == [1, 2]

    def test_each_split_gets_the_sub_topic_count_its_mapping_entry_names(
            self, trained, corpus_dir, embeddings_dir, tmp_path):
        layer_one = layer_store.read_summary(trained.model_dirs[1], 1)
        big = sorted(layer_one.topics, key=lambda t: -t.size)[:2]
        mapping = update_mapping(None, layer_one, MappingOverrides(topics={
            **{f"1:{t.topic}": {"action": "keep"} for t in layer_one.topics},
            f"1:{big[0].topic}": {"subtopics": 2}, f"1:{big[1].topic}": {"subtopics": 3}}))
        (tmp_path / "mapping").mkdir()
        (tmp_path / "mapping" / "mapping.json").write_bytes(dump_document(mapping))
        run = run_main(train_layer.main, [
            "--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
            str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "2",
            *FAST, "--mapping", str(tmp_path / "mapping"), "--previous-model",
            str(trained.model_dirs[1]), "--sub_min_docs", "8", "--sub_max_clusters", "6"],
            tmp_path)
        assert run.returncode == 0, run.stderr
        assert Counter(t.parent for t in summary(tmp_path / "o").topics) == {
            f"1:{big[0].topic}": 2, f"1:{big[1].topic}": 3}

    def test_every_layer_but_the_last_scores_its_topics_splits(self, trained):
        for layer in (1, 2):
            document = summary(trained.output_dirs[layer])
            assert document.split_search.model_dump() == {"min_documents": 16,
                                                          "max_subtopics": 3}
            for t in document.topics:
                assert set(t.split_silhouettes) == set(range(2, min(3, t.size // 8) + 1))
                assert all(-1 <= v <= 1 for v in t.split_silhouettes.values())
        last = summary(trained.output_dirs[3])
        assert last.split_search is None
        assert all(t.split_silhouettes == {} for t in last.topics)

    def test_layer_three_keeps_earlier_layers(self, trained):
        document = summary(trained.output_dirs[3])
        mapping = load_document(MappingDocument, (trained.mappings[2] / "mapping.json")
                                .read_bytes(), "mapping")
        assert {t.parent for t in document.topics} == set(mapping.recluster)
        assert all(t.parent.startswith("2:") for t in document.topics)
        assert layer_store.layers_in(trained.model_dirs[3]) == [1, 2, 3]
        assignments = layer_store.read_assignments(trained.model_dirs[3])
        assert assignments[["id", "layer1", "layer2"]].equals(
            layer_store.read_assignments(trained.model_dirs[2]))
        values = metric_values(trained.runs[3].stdout)
        assert "validation:stability" not in values
        assert values["train:topic-count"] == len(document.topics)


def test_sub_model_cluster_count():
    assert sub_model_clusters(100, 0, 6, 20) == 5
    assert sub_model_clusters(30, 0, 6, 20) == 2
    assert sub_model_clusters(1000, 0, 6, 20) == 6
    assert sub_model_clusters(10, 4, 6, 20) == 4


class TestBadInput:
    @pytest.fixture
    def base(self, corpus_dir, embeddings_dir, tmp_path):
        return ["--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
                str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o")]

    def test_unknown_hyperparameter(self, base, tmp_path):
        run = run_main(train_layer.main, [*base, "--layer", "1", "--n_cluster", "5"], tmp_path)
        assert run.returncode == 1
        assert "unknown hyperparameter(s) ['--n_cluster']" in run.failure

    def test_mapping_of_the_wrong_layer(self, base, trained, tmp_path):
        run = run_main(train_layer.main, [
            *base, "--layer", "3", *FAST, "--mapping", str(trained.mappings[1]),
            "--previous-model", str(trained.model_dirs[2])], tmp_path)
        assert run.returncode == 1
        assert run.failure.strip() == ("layer 3 needs the layer 2 mapping, got one for layer 1: "
                                       "pass the previous callback's output")

    def test_missing_embeddings(self, corpus_dir, tmp_path):
        run = run_main(train_layer.main, [
            "--corpus", str(corpus_dir), "--embeddings", str(tmp_path), "--model-dir",
            str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "1",
            *FAST], tmp_path)
        assert run.returncode == 1
        assert f"no .npz embedding files under {tmp_path}" in run.failure


def test_mapping_without_splits_gives_a_skipped_layer(trained, corpus_dir, embeddings_dir,
                                                      tmp_path):
    """Nothing to re-cluster: a valid empty summary; evaluate calls the layer skipped."""
    layer_one = layer_store.read_summary(trained.model_dirs[1], 1)
    keep_all = MappingOverrides(topics={f"1:{t.topic}": {"action": "keep"}
                                        for t in layer_one.topics})
    mapping = update_mapping(None, layer_one, keep_all)
    assert mapping.recluster == []
    (tmp_path / "mapping").mkdir()
    (tmp_path / "mapping" / "mapping.json").write_bytes(dump_document(mapping))
    run = run_main(train_layer.main, [
        "--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
        str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "2", *FAST,
        "--mapping", str(tmp_path / "mapping"), "--previous-model",
        str(trained.model_dirs[1])], tmp_path)
    assert run.returncode == 0, run.stderr
    assert metric_values(run.stdout) == {"train:topic-count": 0}  # no validation figures of 0
    document = summary(tmp_path / "o")
    assert document.topics == [] and document.total_documents == 0
    report = evaluate(corpus_io.read_corpus(corpus_dir), tmp_path / "m")
    assert report["layers"]["layer2"]["skipped"] is True
    assert report["topic_metrics"]["empty_layers"] == {"value": 0}


def test_layer_that_finds_nothing_is_empty(trained, corpus_dir, embeddings_dir, tmp_path):
    """Asked to re-cluster, but every parent is below sub_min_docs: an empty layer."""
    run = run_main(train_layer.main, [
        "--corpus", str(corpus_dir), "--embeddings", str(embeddings_dir), "--model-dir",
        str(tmp_path / "m"), "--output-data-dir", str(tmp_path / "o"), "--layer", "2", *FAST,
        "--mapping", str(trained.mappings[1]), "--previous-model", str(trained.model_dirs[1]),
        "--sub_min_docs", "10000"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert summary(tmp_path / "o").topics == []
    metrics = read_json(tmp_path / "o" / contract.TRAINING_METRICS_FILE)
    assert set(metrics["skipped"]) == set(layer_store.read_layer_info(tmp_path / "m", 2)
                                          ["recluster"])
    report = evaluate(corpus_io.read_corpus(corpus_dir), tmp_path / "m")
    assert report["topic_metrics"]["empty_layers"] == {"value": 1}
    assert report["topic_metrics"]["all_layers_non_empty"] == {"value": False}
