"""evaluate.py on the three trained layers: the JSON paths the pipeline's condition reads."""
from __future__ import annotations

import statistics

import pandas as pd
import pytest

from steps.sequential_topics import contract
from tests.steps.sequential_topics.conftest import read_json, run_script

pytestmark = pytest.mark.integration


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


def test_gate_verdict_with_its_figures_and_baseline(evaluation):
    gate = evaluation["gate"]
    assert json_get(evaluation, contract.GATE_FAILED_JSON_PATH) == gate["failed"]
    assert json_get(evaluation, contract.GATE_MESSAGE_JSON_PATH) == gate["message"]
    assert gate["passed"] is True and gate["failed"] == 0
    assert [c["name"] for c in gate["checks"]] == [
        "coherence", "coherence_over_shuffled", "diversity", "largest_topic_share",
        "empty_layers", "nmi_over_shuffled", "layers_not_worse"]
    metrics, baseline = evaluation["topic_metrics"], evaluation["baseline"]["shuffled_layer1"]
    assert metrics["layer1_shuffled_coherence"]["value"] == baseline["coherence"]
    assert metrics["layer1_coherence_over_shuffled"]["value"] == pytest.approx(
        metrics["layer1_coherence"]["value"] - baseline["coherence"], abs=1e-6)
    assert metrics["layer1_shuffled_nmi"]["value"] == baseline["nmi"] < 0.1
    layer = evaluation["layers"]["layer1"]
    assert layer["largest_share"] == pytest.approx(layer["sizes"]["max"] / layer["documents"],
                                                   abs=1e-6)
    assert gate["thresholds"] == {"QualityThreshold": -1.0, "MinCoherenceOverShuffled": 0.1,
                                  "MinTopicDiversity": 0.5, "MaxTopicShare": 0.5,
                                  "MinNmiOverShuffled": 0.1, "MinLayerCoherenceChange": -0.15}


def test_thresholds_from_arguments_decide_the_verdict(trained, corpus_dir, tmp_path):
    run = run_script("evaluate.py", ["--corpus", str(corpus_dir), "--model",
                                     str(trained.model_dirs[1]), "--output-dir",
                                     str(tmp_path / "out"), "--max-topic-share", "0.05",
                                     "--quality-threshold", "0.9"], tmp_path)
    assert run.returncode == 0, run.stderr  # a failed gate is a verdict, not a failed job
    gate = read_json(tmp_path / "out" / contract.EVALUATION_REPORT)["gate"]
    assert gate["failed"] == 2
    assert gate["message"].startswith("failed 2 of 7 checks: layer-1 coherence ")
    assert "< QualityThreshold 0.9" in gate["message"]
    assert "above MaxTopicShare 0.05" in gate["message"]


def test_a_threshold_out_of_range_fails_naming_the_parameter(trained, corpus_dir, tmp_path):
    run = run_script("evaluate.py", ["--corpus", str(corpus_dir), "--model",
                                     str(trained.model_dirs[1]), "--output-dir",
                                     str(tmp_path / "out"), "--min-topic-diversity", "2"],
                     tmp_path)
    assert run.returncode == 1
    assert run.failure.strip() == "MinTopicDiversity must be between 0.0 and 1.0, got 2.0"


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
    assert evaluation["ground_truth"] == {"available": True, "classes": 5,
                                          "labelled_documents": evaluation["documents"]}


def test_the_report_lists_each_layers_topics_as_the_layer_found_them(evaluation, trained):
    for layer in (1, 2, 3):
        summary = read_json(trained.output_dirs[layer] / "topic_summary.json")["topics"]
        topics = evaluation["hierarchy"][f"layer{layer}"]
        assert [(t["id"], t["parent"], t["size"], t["dispersion"]) for t in topics] == [
            (f"{layer}:{t['topic']}", t["parent"], t["size"], t["dispersion"]) for t in summary]
        assert [t["keywords"] for t in topics] == [
            [k["word"] for k in t["keywords"][:10]] for t in summary]
        assert [t["breadth"] for t in topics] == pytest.approx(
            [t["dispersion"] / statistics.median(s["dispersion"] for s in summary)
             for t in summary], abs=1e-6)
        assert statistics.mean(t["coherence"] for t in topics) == pytest.approx(
            evaluation["layers"][f"layer{layer}"]["coherence"], abs=1e-5)
    assert {t["parent"] for t in evaluation["hierarchy"]["layer2"]} == set(
        read_json(trained.mappings[1] / "mapping.json")["recluster"])


def test_each_later_layer_reports_what_it_changed_and_the_gate_reads_it(evaluation):
    layers, hierarchy = evaluation["layers"], evaluation["hierarchy"]
    for layer in (2, 3):
        made = hierarchy[f"layer{layer}"]
        split = [t for t in hierarchy[f"layer{layer - 1}"]
                 if t["id"] in {m["parent"] for m in made}]
        report = layers[f"layer{layer}"]
        assert report["coherence_change"] == pytest.approx(
            statistics.mean(t["coherence"] for t in made)
            - statistics.mean(t["coherence"] for t in split), abs=1e-5)
        assert report["nmi_change"] == pytest.approx(
            report["nmi"] - layers[f"layer{layer - 1}"]["nmi"], abs=1e-6)
        assert evaluation["topic_metrics"][f"layer{layer}_coherence_change"]["value"] == \
            report["coherence_change"]
    assert "coherence_change" not in layers["layer1"]
    assert evaluation["gate"]["figures"]["layer_coherence_changes"] == {
        name: layers[name]["coherence_change"] for name in ("layer2", "layer3")}


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
    assert report["ground_truth"] == {"available": False, "classes": 0, "labelled_documents": 0}


def test_blank_labels_are_unknown_not_a_class(trained, corpus_dir, evaluation, tmp_path):
    """Labels on a third of the documents: agreement is measured on that third, so blanking
    the rest leaves each layer's NMI what those documents alone give; an all-blank column
    counts as no labels."""
    parts = {part.name: pd.read_csv(part, dtype=str, keep_default_na=False)
             for part in sorted(corpus_dir.glob("*.csv"))}
    partial, blank = tmp_path / "partial", tmp_path / "blank"
    for folder, keep in ((partial, lambda i: i % 3 == 0), (blank, lambda i: False)):
        folder.mkdir()
        for name, frame in parts.items():
            frame = frame.copy()
            frame[contract.LABEL_COLUMN] = [label if keep(i) else ""
                                           for i, label in enumerate(frame[contract.LABEL_COLUMN])]
            frame.to_csv(folder / name, index=False)
    reports = {}
    for folder in (partial, blank):
        run = run_script("evaluate.py", ["--corpus", str(folder), "--model",
                                         str(trained.model_dirs[3]), "--output-dir",
                                         str(folder / "out")], tmp_path)
        assert run.returncode == 0, run.stderr
        reports[folder.name] = read_json(folder / "out" / contract.EVALUATION_REPORT)
    labelled = reports["partial"]["ground_truth"]["labelled_documents"]
    assert 0 < labelled < evaluation["documents"] / 2
    assert reports["partial"]["ground_truth"]["classes"] == 5
    assert reports["partial"]["layers"]["layer1"]["nmi"] > 0.3  # not diluted by the blanks
    assert reports["blank"]["ground_truth"] == {"available": False, "classes": 0,
                                                "labelled_documents": 0}
    assert "nmi" not in reports["blank"]["layers"]["layer1"]


def test_foreign_corpus_fails(trained, tmp_path):
    (tmp_path / "c").mkdir()
    pd.DataFrame({"id": ["zz"], "document": ["other text"]}).to_csv(tmp_path / "c" / "p.csv",
                                                                  index=False)
    run = run_script("evaluate.py", ["--corpus", str(tmp_path / "c"), "--model",
                                     str(trained.model_dirs[1]), "--output-dir",
                                     str(tmp_path / "out")], tmp_path)
    assert run.returncode == 1
    assert "the corpus has documents the model never assigned" in run.failure
