"""Model-quality reports in SageMaker Model Monitor's own format, which the model registry charts.

Attached to a registered package as `ModelMetrics.ModelQuality.Statistics`, this file is what
Studio's model registry renders: `regression_metrics` (mae, mse, rmse, r2),
`binary_classification_metrics` (confusion matrix, ROC and precision-recall curves, recall,
precision, accuracy, AUC, F0.5/F1/F2, the rates, each scalar also for the best constant
classifier) or `multiclass_classification_metrics` (confusion matrix, accuracy and weighted
recall, precision and F-scores, also for the best constant classifier). Each scalar is
`{"value", "standard_deviation"}`; the confusion matrix maps actual label -> predicted label ->
count. The layout follows the Model Monitor documentation ("Model quality metrics"); the
deviation comes from our seeded bootstrap (steps/common/metrics.py), not Model Monitor's five
80% samples. The best constant classifier, as Model Monitor computes it: always the positive
class (binary), always the most frequent class (multiclass).

The pipelines' own report (evaluation.json: baselines, every learner, the gate) stays beside
this file; the condition steps keep reading that one.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    fbeta_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from steps.common import metrics
from steps.common.metrics import with_deviation

MODEL_QUALITY_REPORT = "model_quality.json"
REGRESSION_SECTION = "regression_metrics"
BINARY_SECTION = "binary_classification_metrics"
MULTICLASS_SECTION = "multiclass_classification_metrics"
SECTIONS = (REGRESSION_SECTION, BINARY_SECTION, MULTICLASS_SECTION)
# Curves are thinned to at most this many points: Studio draws them, a test set of 50,000 rows
# would otherwise give 50,000-point curves.
MAX_CURVE_POINTS = 1000
_BETAS = {"f0_5": 0.5, "f1": 1.0, "f2": 2.0}


def regression_report(y: np.ndarray, pred: np.ndarray, seed: int) -> dict[str, Any]:
    """Model Monitor's regression statistics for values `pred` against targets `y`."""
    functions = {"mae": metrics.mae,
                 "mse": lambda t, p: float(np.mean((t - p) ** 2)),
                 "rmse": metrics.rmse, "r2": metrics.r2}
    return _document(len(y), REGRESSION_SECTION, with_deviation(functions, y, pred, seed))


def classification_report(y: np.ndarray, proba: np.ndarray, labels: Sequence[Any],
                          seed: int) -> dict[str, Any]:
    """Model Monitor's binary (two labels) or multiclass statistics for class probabilities
    `proba` (one column per label, in `labels` order) against class indices `y`."""
    if proba.ndim != 2 or proba.shape[1] != len(labels) or len(labels) < 2:
        raise ValueError(f"need one probability column per label ({len(labels)} labels), got "
                         f"shape {proba.shape}")
    names = [str(label) for label in labels]
    predicted = np.argmax(proba, axis=1)
    if len(labels) == 2:
        section = _binary(y, proba[:, 1], predicted, seed)
        section_name = BINARY_SECTION
    else:
        section = _multiclass(y, predicted, len(labels), seed)
        section_name = MULTICLASS_SECTION
    section["confusion_matrix"] = confusion_matrix(y, predicted, names)
    return _document(len(y), section_name, section)


def confusion_matrix(y: np.ndarray, predicted: np.ndarray,
                     names: Sequence[str]) -> dict[str, dict[str, int]]:
    """actual label -> predicted label -> count, every label on both sides."""
    counts = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(counts, (y, predicted), 1)
    return {actual: {guess: int(counts[i, j]) for j, guess in enumerate(names)}
            for i, actual in enumerate(names)}


def section_of(report: dict[str, Any]) -> str:
    """Which of SECTIONS a model-quality report holds."""
    found = [name for name in SECTIONS if name in report]
    if len(found) != 1:
        raise ValueError(f"a model-quality report holds exactly one of {', '.join(SECTIONS)}; "
                         f"found {found or 'none'}")
    return found[0]


def _document(rows: int, section: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {"version": 0.0, "dataset": {"item_count": int(rows)}, section: figures}


def _binary(y: np.ndarray, score: np.ndarray, predicted: np.ndarray,
            seed: int) -> dict[str, Any]:

    def rates(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
        tp = float(np.sum((t == 1) & (p == 1)))
        tn = float(np.sum((t == 0) & (p == 0)))
        actual_pos, actual_neg = float(np.sum(t == 1)), float(np.sum(t == 0))
        return {"true_positive_rate": tp / actual_pos if actual_pos else 0.0,
                "true_negative_rate": tn / actual_neg if actual_neg else 0.0,
                "false_positive_rate": 1.0 - tn / actual_neg if actual_neg else 0.0,
                "false_negative_rate": 1.0 - tp / actual_pos if actual_pos else 0.0}

    def scalars(constant: bool):
        def on(fn):
            return lambda t, p: fn(t, np.ones_like(t) if constant else p)
        base = {"recall": on(lambda t, p: float(recall_score(t, p, zero_division=0))),
                "precision": on(lambda t, p: float(precision_score(t, p, zero_division=0))),
                "accuracy": on(lambda t, p: float(np.mean(t == p)))}
        base.update({name: on(lambda t, p, b=beta: float(fbeta_score(t, p, beta=b,
                                                                     zero_division=0)))
                     for name, beta in _BETAS.items()})
        return base

    section: dict[str, Any] = with_deviation(scalars(False), y, predicted, seed)
    section.update({f"{name}_best_constant_classifier": figure for name, figure in
                    with_deviation(scalars(True), y, predicted, seed).items()})
    section.update(with_deviation(
        {name: (lambda t, p, n=name: rates(t, p)[n]) for name in rates(y, predicted)},
        y, predicted, seed))
    both = len(np.unique(y)) == 2
    section["auc"] = (with_deviation({"auc": lambda t, s: _auc(t, s)}, y, score, seed)["auc"]
                      if both else {"value": "NaN", "standard_deviation": "NaN"})
    fpr, tpr, _ = roc_curve(y, score) if both else (np.array([0.0, 1.0]),) * 2 + (None,)
    precisions, recalls, _ = precision_recall_curve(y, score) if np.any(y == 1) else (
        np.array([1.0]), np.array([0.0]), None)
    section["receiver_operating_characteristic_curve"] = {
        "false_positive_rates": _thin(fpr), "true_positive_rates": _thin(tpr)}
    section["precision_recall_curve"] = {"precisions": _thin(precisions),
                                         "recalls": _thin(recalls)}
    return section


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC; 0.5 for a bootstrap sample that happens to hold a single class."""
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else 0.5


def _multiclass(y: np.ndarray, predicted: np.ndarray, classes: int,
                seed: int) -> dict[str, Any]:
    majority = int(np.argmax(np.bincount(y, minlength=classes)))
    labels = list(range(classes))

    def scalars(constant: bool):
        def on(fn):
            return lambda t, p: fn(t, np.full(len(t), majority) if constant else p)
        base = {"accuracy": on(lambda t, p: float(np.mean(t == p))),
                "weighted_recall": on(lambda t, p: float(recall_score(
                    t, p, labels=labels, average="weighted", zero_division=0))),
                "weighted_precision": on(lambda t, p: float(precision_score(
                    t, p, labels=labels, average="weighted", zero_division=0)))}
        base.update({f"weighted_{name}": on(lambda t, p, b=beta: float(fbeta_score(
            t, p, beta=b, labels=labels, average="weighted", zero_division=0)))
            for name, beta in _BETAS.items()})
        return base

    section: dict[str, Any] = with_deviation(scalars(False), y, predicted, seed)
    section.update({f"{name}_best_constant_classifier": figure for name, figure in
                    with_deviation(scalars(True), y, predicted, seed).items()})
    return section


def _thin(values: np.ndarray) -> list[float]:
    """At most MAX_CURVE_POINTS evenly spaced points of a curve, both ends kept."""
    if len(values) > MAX_CURVE_POINTS:
        values = values[np.linspace(0, len(values) - 1, MAX_CURVE_POINTS).round().astype(int)]
    return [float(v) for v in values]
