"""Processing job: quality of every topic layer and the quality gate, as evaluation.json.

Inputs: --corpus (the cleaned parts; a `label` column enables the agreement scores) and
--model (the last layer's model directory or the folder with its model.tar.gz; it holds
every layer); the gate's thresholds (--quality-threshold, --min-coherence-over-shuffled,
--min-topic-diversity, --max-topic-share, --min-nmi-over-shuffled,
--min-layer-coherence-change: the pipeline parameters of the same names, see topic_gate).
Writes <output-dir>/evaluation.json:

    {"topic_metrics": {
        "layer1_coherence": {"value": NPMI},          # contract.COHERENCE_JSON_PATH
        "empty_layers": {"value": n},                 # layers that found no topic (0 is good)
        "all_layers_non_empty": {"value": true},
        "layer1_shuffled_coherence" | "layer1_coherence_over_shuffled"
          | "layer1_largest_topic_share" | "layer1_shuffled_nmi" (labels only): {"value": v},
        "layer<L>_coherence" | "layer<L>_diversity" | "layer<L>_topics"
          | "layer<L>_nmi" | "layer<L>_ari" (labels only)
          | "layer<L>_coherence_change" | "layer<L>_nmi_change" (L >= 2): {"value": v}},
     "layers": {"layer<L>": {"topics", "documents", "coherence", "diversity", "sizes":
                {"min", "median", "max"}, "largest_share", "non_empty", "skipped", "nmi",
                "ari", and for L >= 2 "coherence_change", "nmi_change"}},
     "hierarchy": {"layer<L>": [{"id", "parent", "size", "dispersion", "breadth",
                                 "coherence", "keywords"}]},   # layer_hierarchy
     "baseline": {"shuffled_layer1": {"coherence", "diversity", "nmi", ..., "repeats"}},
     "gate": {"passed", "failed", "checks": [{"name", "passed", "reason"}], "thresholds",
              "figures", "message"},   # contract.GATE_*_JSON_PATH; topic_gate.verdict
     "ground_truth": {"available": bool, "classes": n}, "documents": n}

A layer is empty when it was asked to cluster (layer 1 always; layer L >= 2 when the mapping
listed topics to re-cluster) but produced no topic; a layer >= 2 given nothing to re-cluster
is "skipped" and counts as non-empty. Coherence is the mean NPMI of the layer's topics'
top-10 keywords over the whole corpus; diversity the share of unique words among them.
NMI/ARI compare the labels with each document's deepest topic up to that layer (a document
whose topic was kept keeps it). A layer's coherence_change compares the topics it made with
those it split (layer_hierarchy); nmi_change is its NMI minus the previous layer's. The
baseline shuffles layer 1's assignments (shuffled_baseline).
"""
from __future__ import annotations

import logging
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.common.plots import PLOTS_DIR
from steps.sequential_topics import (
    contract,
    corpus_io,
    layer_hierarchy,
    layer_store,
    shuffled_baseline,
    topic_metrics,
)
from steps.sequential_topics.topic_gate import GateFigures, GateThresholds, verdict
from steps.sequential_topics.topic_plots import draw_topic_plots

logger = logging.getLogger(__name__)


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/opt/ml/processing/input/corpus")
    parser.add_argument("--model", default="/opt/ml/processing/input/model")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    defaults = GateThresholds()
    for name, parameter in GateThresholds.parameters().items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float,
                            default=getattr(defaults, name), help=f"the {parameter} parameter")
    return parser


def thresholds_from(args: Any) -> GateThresholds:
    return GateThresholds(**{name: getattr(args, name) for name in GateThresholds.parameters()})


def combined_topics(assignments: pd.DataFrame, layer: int) -> np.ndarray:
    """Each document's deepest topic id among layers 1..layer."""
    result = assignments[contract.layer_column(1)].to_numpy(dtype=object).copy()
    for deeper in range(2, layer + 1):
        column = assignments[contract.layer_column(deeper)].to_numpy(dtype=object)
        result = np.where(column != "", column, result)
    return result


def layer_report(model_dir: Path, layer: int, documents: list[str],
                 assignments: pd.DataFrame, labels: np.ndarray | None
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the layer's figures, its topics as layer_hierarchy lists them)."""
    summary = layer_store.read_summary(model_dir, layer)
    asked = layer == 1 or bool(layer_store.read_layer_info(model_dir, layer).get("recluster"))
    words = [[k.word for k in t.keywords] for t in summary.topics]
    coherence = topic_metrics.npmi_coherence(words, documents) if words else (None, [])
    sizes = [t.size for t in summary.topics]
    report: dict[str, Any] = {
        "topics": len(summary.topics), "documents": summary.total_documents,
        "coherence": None if coherence[0] is None else round(coherence[0], 6),
        "diversity": round(topic_metrics.topic_diversity(words), 6) if words else None,
        "sizes": {"min": min(sizes), "median": float(np.median(sizes)), "max": max(sizes)}
        if sizes else None,
        "largest_share": round(max(sizes) / summary.total_documents, 6)
        if sizes and summary.total_documents else None,
        "non_empty": bool(summary.topics) or not asked,
        "skipped": not asked}
    if labels is not None:
        agreement = topic_metrics.label_agreement(labels, combined_topics(assignments, layer))
        report.update({name: round(value, 6) for name, value in agreement.items()})
    return report, layer_hierarchy.layer_topics(summary, coherence[1])


def _changes(per_layer: dict[str, dict[str, Any]],
             hierarchy: dict[str, list[dict[str, Any]]]) -> None:
    """Add to each layer >= 2 what it changed over the layer before: coherence_change (its
    topics against the topics they split) and, with labels, nmi_change."""
    for before, name in pairwise(per_layer):
        report = per_layer[name]
        report["coherence_change"] = layer_hierarchy.coherence_change(hierarchy[name],
                                                                      hierarchy[before])
        if "nmi" in report:
            report["nmi_change"] = round(report["nmi"] - per_layer[before]["nmi"], 6)


def evaluate(corpus: pd.DataFrame, model_dir: Path,
             thresholds: GateThresholds | None = None) -> dict[str, Any]:
    layers = layer_store.layers_in(model_dir)
    if not layers:
        raise InvalidData(f"{model_dir} holds no layer model: pass a layer training job's model")
    assignments = layer_store.read_assignments(model_dir)
    ids = corpus[contract.ID_COLUMN].tolist()
    aligned = assignments.set_index(contract.ID_COLUMN).reindex(ids)
    if aligned[contract.layer_column(1)].isna().any():
        raise InvalidData("the corpus has documents the model never assigned: evaluate the "
                          "model on the corpus it was trained on")
    aligned = aligned.fillna("").reset_index()
    labels = _known_labels(corpus)
    has_labels = labels is not None
    documents = corpus[contract.DOCUMENT_COLUMN].tolist()
    reports = {contract.layer_column(layer): layer_report(model_dir, layer, documents,
                                                          aligned, labels)
               for layer in layers}
    per_layer = {name: figures for name, (figures, _) in reports.items()}
    hierarchy = {name: topics for name, (_, topics) in reports.items()}
    _changes(per_layer, hierarchy)
    empty = sum(1 for r in per_layer.values() if not r["non_empty"])
    baseline = shuffled_baseline.shuffled_baseline(
        documents, aligned[contract.layer_column(1)].to_numpy(), labels)
    first = per_layer["layer1"]
    figures = GateFigures(
        topics=first["topics"], documents=len(corpus), coherence=first["coherence"],
        shuffled_coherence=baseline["coherence"], diversity=first["diversity"],
        largest_topic_share=first["largest_share"], empty_layers=empty,
        nmi=first.get("nmi"), shuffled_nmi=baseline.get("nmi"),
        layer_coherence_changes={name: r["coherence_change"] for name, r in per_layer.items()
                                 if r.get("coherence_change") is not None})
    metrics: dict[str, Any] = {
        "layer1_coherence": {"value": first["coherence"]},
        "empty_layers": {"value": empty},
        "all_layers_non_empty": {"value": empty == 0},
        "layer1_shuffled_coherence": {"value": baseline["coherence"]},
        "layer1_coherence_over_shuffled": {"value": None if first["coherence"] is None
                                           else round(first["coherence"]
                                                      - baseline["coherence"], 6)},
        "layer1_largest_topic_share": {"value": first["largest_share"]}}
    if has_labels:
        metrics["layer1_shuffled_nmi"] = {"value": baseline["nmi"]}
    for name, report in per_layer.items():
        for key in ("coherence", "diversity", "topics", "nmi", "ari", "coherence_change",
                    "nmi_change"):
            if key in report:
                metrics[f"{name}_{key}"] = {"value": report[key]}
    return {"topic_metrics": metrics, "layers": per_layer, "hierarchy": hierarchy,
            "baseline": {"shuffled_layer1": baseline},
            "gate": verdict(figures, thresholds or GateThresholds()),
            "ground_truth": {"available": has_labels,
                             "classes": len(set(labels) - {""}) if has_labels else 0,
                             "labelled_documents": int(np.sum(labels != "")) if has_labels
                             else 0},
            "documents": len(corpus)}


def _known_labels(corpus: pd.DataFrame) -> np.ndarray | None:
    """The label column ('' where a document has none), or None when no document has one:
    agreement is then not measured, and the log says why."""
    if contract.LABEL_COLUMN not in corpus.columns:
        return None
    labels = corpus[contract.LABEL_COLUMN].fillna("").astype(str).to_numpy(dtype=object)
    known = int(np.sum(labels != ""))
    if known == 0:
        logger.warning("the LabelColumn is empty on every document: agreement with labels is "
                       "not measured")
        return None
    if known < len(labels):
        logger.info("labels on %d of %d documents: NMI and ARI are measured on those",
                    known, len(labels))
    return labels


def run(args: Any) -> dict[str, Any]:
    thresholds = thresholds_from(args)
    corpus = corpus_io.read_corpus(Path(args.corpus))
    with tempfile.TemporaryDirectory(prefix="evaluate-model-") as work:
        model_dir = layer_store.open_model(Path(args.model), Path(work))
        report = evaluate(corpus, model_dir, thresholds)
        draw_topic_plots(model_dir, Path(args.output_dir) / PLOTS_DIR)
    write_json_atomic(Path(args.output_dir) / contract.EVALUATION_REPORT, report)
    logger.info("quality gate %s", report["gate"]["message"])
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
