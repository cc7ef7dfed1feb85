"""The one slow test: the real stack (spaCy cleaning, offline MiniLM, UMAP) on 120 documents.

preprocess.py -> embed.py -> train_layer.py (layer 1, concat + UMAP, no CV), the last as a
separate program the way a training job runs it. About a minute on 2 busy cores, most of it
numba compiling UMAP (NUMBA_CACHE_DIR makes a second run faster).
"""
from __future__ import annotations

import re

import pytest

from pipelines.sequential_topics.sample_data import sample_frame
from steps.sequential_topics import contract, embed, preprocess
from steps.sequential_topics.mapping_schema import TOPIC_SUMMARY_FILE, TopicSummary, load_document
from tests.steps.sequential_topics.conftest import read_json, run_main, run_script

pytestmark = pytest.mark.integration


@pytest.mark.real_model
def test_preprocess_embed_and_umap_layer(tmp_path):
    sample_frame(120).to_csv(tmp_path / "raw.csv", index=False)
    run = run_main(preprocess.main, [
        "--input", str(tmp_path / "raw.csv"), "--parts-dir", str(tmp_path / "parts"),
        "--report-dir", str(tmp_path / "report"), "--label-column", "label",
        "--num-parts", "2"], tmp_path / "w1")
    assert run.returncode == 0, run.stderr
    report = read_json(tmp_path / "report" / contract.DATA_REPORT)
    assert report["kept"] == 120 - sum(report["dropped"].values()) and report["kept"] > 100
    run = run_main(embed.main, [
        "--input", str(tmp_path / "parts"), "--full-corpus", str(tmp_path / "parts"),
        "--output-dir", str(tmp_path / "embeddings"), "--lsa-dir", str(tmp_path / "lsa"),
        "--lsa-components", "20", "--resource-config", str(tmp_path / "none.json")],
        tmp_path / "w2")
    assert run.returncode == 0, run.stderr
    run = run_script("train_layer.py", [
        "--corpus", str(tmp_path / "parts"), "--embeddings", str(tmp_path / "embeddings"),
        "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
        "--layer", "1", "--representation", "concat", "--reducer", "umap",
        "--umap_n_neighbors", "10", "--n_clusters", "5", "--cv_folds", "1"], tmp_path / "w3")
    assert run.returncode == 0, run.stderr
    loss = re.findall(contract.metric_regex(contract.OBJECTIVE_LINE), run.stdout)
    assert len(loss) == 1 and 0 <= float(loss[0]) <= 1
    # a concat trial's objective is measured in the MiniLM space, like every other trial's
    metrics = read_json(tmp_path / "out" / contract.TRAINING_METRICS_FILE)
    assert metrics["separation_space"] == contract.MINILM
    summary = load_document(TopicSummary, (tmp_path / "out" / TOPIC_SUMMARY_FILE).read_bytes(),
                            "summary")
    assert len(summary.topics) == 5 and summary.total_documents == report["kept"]
