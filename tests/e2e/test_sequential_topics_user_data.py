"""The topic pipeline on a user's own corpus at a local path, as a user would start it.

A support-ticket export made from 300 BBC texts (ticket_id, subject, body, channel; no label
column) runs end to end with TextColumns/IdColumn/LabelColumn set and is registered under the
default, label-free gate; its served model reads subject/body and echoes ticket_id. Word salad
of the same size fails that gate in the Fail step, which quotes the figures. A missing text
column is refused in preprocessing with one line. Each run costs minutes (MiniLM, UMAP
compilation), so each is made once.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import run_pipeline
from pipelines.sequential_topics.sample_data import sample_frame, word_salad_frame
from runtime.ports.model_registry import LocalModelRegistry, RegistryError
from runtime.ports.object_store import LocalObjectStore

pytestmark = pytest.mark.e2e

MODULE = "pipelines.sequential_topics.pipeline"
GROUP = "SequentialTopicsPackageGroup"
BUCKET = "s3://sagemaker-us-east-1-000000000000"
N_DOCS = 300
TICKETS = {"TextColumns": "subject,body", "IdColumn": "ticket_id", "LabelColumn": "",
           "MaxTuningJobs": 1, "MaxParallelTuningJobs": 1}


def ticket_export(frame: pd.DataFrame) -> bytes:
    """BBC records shaped as a support-ticket export: several free-text fields, an id, no
    label, and a column that is not text."""
    tickets = pd.DataFrame({
        "ticket_id": [f"TCK-{n:05d}" for n in range(1, len(frame) + 1)],
        "subject": frame["title"],
        "body": frame["description"].fillna("") + "\n\n" + frame["details"].fillna(""),
        "channel": ["email" if n % 3 else "phone" for n in range(len(frame))]})
    return tickets.to_csv(index=False).encode("utf-8")


def start(root: Path, path: Path, data: bytes, parameters: dict) -> int:
    """Write the user's file at `path` and run the pipeline on it (a local InputDataUrl)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return run_pipeline.main(["--local", "--local-root", str(root), "-n", MODULE, "--parameters",
                              json.dumps({"InputDataUrl": str(path), **parameters})])


@pytest.fixture(scope="module")
def tickets_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tickets-root")
    user = tmp_path_factory.mktemp("user") / "exports" / "tickets.csv"
    return start(root, user, ticket_export(sample_frame(N_DOCS)), TICKETS), root


def registered(root: Path) -> list[dict]:
    """The group's versions; none when the group was never created."""
    try:
        return LocalModelRegistry(root).list_packages(GROUP)
    except RegistryError:
        return []


def registered_report(root: Path) -> tuple[dict, dict]:
    [package] = registered(root)
    report = json.loads(LocalObjectStore(root).read_bytes(
        package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]))
    return package, report


def test_a_ticket_export_is_registered_under_the_label_free_gate(tickets_run):
    code, root = tickets_run
    assert code == 0
    _, report = registered_report(root)
    gate = report["gate"]
    assert gate["passed"] is True and gate["failed"] == 0
    assert [c["name"] for c in gate["checks"]] == [
        "coherence", "coherence_over_shuffled", "diversity", "largest_topic_share",
        "empty_layers", "layers_not_worse"]  # no label column: no agreement check
    assert report["ground_truth"] == {"available": False, "classes": 0, "labelled_documents": 0}
    metrics = report["topic_metrics"]
    assert metrics["layer1_coherence_over_shuffled"]["value"] > 0.1
    assert "layer1_nmi" not in metrics
    store = LocalObjectStore(root)
    staged = store.list_uris(f"{BUCKET}/SequentialTopicsPipeline/input-data/")
    assert [uri.rsplit("/", 1)[1] for uri in staged] == ["tickets.csv"]
    assert store.list_uris(f"{BUCKET}/SequentialTopicsPipeline/sample-data/") == []


def test_the_served_model_reads_the_chosen_columns(tickets_run, tmp_path):
    from steps.sequential_topics import inference

    _, root = tickets_run
    package, _ = registered_report(root)
    archive = LocalObjectStore(root).path_for(
        package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    model = inference.model_fn(str(tmp_path))
    body = "ticket_id,subject,body\nTCK-9,Arsenal win the cup,The striker scored twice\n"
    answer, _ = inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "text/csv"), model), "application/json")
    [prediction] = json.loads(answer)["predictions"]
    assert prediction["id"] == "TCK-9" and prediction["status"] == "ok"
    assert prediction["layers"][0]["topic"].startswith("1:")


def test_word_salad_fails_the_gate_quoting_the_figures(tmp_path, capsys):
    salad = word_salad_frame(N_DOCS).drop(columns=["label"])
    code = start(tmp_path / "root", tmp_path / "salad.csv",
                 salad.to_csv(index=False).encode("utf-8"),
                 {"LabelColumn": "", "MaxTuningJobs": 1, "MaxParallelTuningJobs": 1})
    assert code == 1
    err = capsys.readouterr().err
    assert "QualityTooLow" in err
    assert "Not registered: the quality gate failed" in err
    assert "< MinCoherenceOverShuffled" in err
    assert "Figures: layer-1 coherence" in err
    assert registered(tmp_path / "root") == []


def test_a_missing_text_column_is_refused_in_preprocessing(tmp_path, capsys):
    code = start(tmp_path / "root", tmp_path / "tickets.csv", ticket_export(sample_frame(20)),
                 {**TICKETS, "TextColumns": "subject,message"})
    assert code == 1
    err = capsys.readouterr().err
    assert ("PreprocessText (Processing) Failed in" in err)
    assert ("TextColumns: no column 'message' in the input; its columns are: ticket_id, "
            "subject, body, channel; set the TextColumns parameter to the free-text "
            "columns (comma-separated)") in err
