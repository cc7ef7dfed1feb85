"""evaluate.py on the three trained layers: the JSON paths the pipeline's condition reads."""
from __future__ import annotations

import pandas as pd
import pytest

from steps.sequential_topics import contract
from tests.steps_topics.conftest import read_json, run_script


def json_get(document: dict, path: str):
    for key in path.split("."):
        document = document[key]
    return document


@pytest.fixture(scope="module")
def evaluation(trained, corpus_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("evaluate")
    run = run_script("evaluate.py", ["--corpus", str(corpus_dir), "--model",
                                     str(trained.model_dirs[3]), "--output-dir",
                                     str(work / "out")], work)
    assert run.returncode == 0, run.stderr
    return read_json(work / "out" / contract.EVALUATION_REPORT)


def test_property_file_paths(evaluation, trained):
    coherence = json_get(evaluation, contract.COHERENCE_JSON_PATH)
    assert -1 <= coherence <= 1
    assert json_get(evaluation, contract.EMPTY_LAYERS_JSON_PATH) == 0
    assert json_get(evaluation, contract.ALL_LAYERS_NON_EMPTY_JSON_PATH) is True


def test_per_layer_sizes_and_agreement(evaluation, trained):
    for layer in (1, 2, 3):
        report = evaluation["layers"][f"layer{layer}"]
        summary = read_json(trained.output_dirs[layer] / "topic_summary.json")
        assert report["topics"] == len(summary["topics"])
        assert report["documents"] == summary["total_documents"]
        sizes = [t["size"] for t in summary["topics"]]
        assert report["sizes"]["min"] == min(sizes) and report["sizes"]["max"] == max(sizes)
        assert 0 <= report["nmi"] <= 1 and -1 <= report["ari"] <= 1
    assert evaluation["layers"]["layer1"]["nmi"] > 0.3  # BBC categories are recoverable
    assert evaluation["ground_truth"] == {"available": True, "classes": 5}


def test_without_labels(trained, corpus_dir, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for part in corpus_dir.glob("*.csv"):
        pd.read_csv(part).drop(columns=[contract.LABEL_COLUMN]).to_csv(folder / part.name,
                                                                       index=False)
    run = run_script("evaluate.py", ["--corpus", str(folder), "--model",
                                     str(trained.model_dirs[1]), "--output-dir",
                                     str(tmp_path / "out")], tmp_path)
    assert run.returncode == 0, run.stderr
    report = read_json(tmp_path / "out" / contract.EVALUATION_REPORT)
    assert "nmi" not in report["layers"]["layer1"]
    assert report["ground_truth"] == {"available": False, "classes": 0}


def test_foreign_corpus_fails(trained, tmp_path):
    (tmp_path / "c").mkdir()
    pd.DataFrame({"id": ["zz"], "document": ["other text"]}).to_csv(tmp_path / "c" / "p.csv",
                                                                  index=False)
    run = run_script("evaluate.py", ["--corpus", str(tmp_path / "c"), "--model",
                                     str(trained.model_dirs[1]), "--output-dir",
                                     str(tmp_path / "out")], tmp_path)
    assert run.returncode == 1
    assert "the corpus has documents the model never assigned" in run.failure
