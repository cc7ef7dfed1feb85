"""Scores for one set of predictions (regression values or class probabilities), and the
test-set figures with their spread that SageMaker's model-quality reports hold.

Every pipeline scores with these: training (validation and out-of-fold scores) and evaluation
(test scores with a seeded bootstrap standard deviation) alike.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

BOOTSTRAP_SAMPLES = 200
Metric = Callable[[np.ndarray, np.ndarray], float]

# Probabilities are clipped so one confident mistake costs about 34.5, not infinity.
PROBABILITY_FLOOR = 1e-15


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination; 0.0 when the target is constant."""
    total = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else 0.0


def logloss(y: np.ndarray, proba: np.ndarray) -> float:
    picked = np.clip(proba[np.arange(len(y)), y], PROBABILITY_FLOOR, 1.0)
    return float(-np.mean(np.log(picked)))


def accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == y))


def f1_macro(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean over classes of F1 (a class never predicted nor present scores 0)."""
    predicted = np.argmax(proba, axis=1)
    classes = np.arange(proba.shape[1])
    hits = np.bincount(y[predicted == y], minlength=len(classes))
    actual = np.bincount(y, minlength=len(classes))
    guessed = np.bincount(predicted, minlength=len(classes))
    denominator = actual + guessed
    f1 = np.divide(2.0 * hits, denominator, out=np.zeros(len(classes)), where=denominator > 0)
    return float(f1.mean())


def row_losses(is_classification: bool, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Each row's share of the objective: squared error (rmse) or log loss."""
    if is_classification:
        return -np.log(np.clip(pred[np.arange(len(y)), y], PROBABILITY_FLOOR, 1.0))
    return (y - pred) ** 2


REGRESSION_METRICS = {"rmse": rmse, "mae": mae, "r2": r2}
CLASSIFICATION_METRICS = {"logloss": logloss, "accuracy": accuracy, "f1_macro": f1_macro}


def metric_functions(is_classification: bool) -> dict[str, Metric]:
    return CLASSIFICATION_METRICS if is_classification else REGRESSION_METRICS


def score(is_classification: bool, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric of the problem type, by name."""
    return {name: fn(y, pred) for name, fn in metric_functions(is_classification).items()}


def with_deviation(functions: Mapping[str, Metric], y: np.ndarray, pred: np.ndarray,
                   seed: int) -> dict[str, dict[str, float]]:
    """Each metric's {"value", "standard_deviation"}: the deviation over a seeded bootstrap of
    the test rows, so the same predictions always give the same report."""
    samples = np.random.default_rng(seed).integers(0, len(y), size=(BOOTSTRAP_SAMPLES, len(y)))
    return {name: {"value": fn(y, pred),
                   "standard_deviation": float(np.std([fn(y[rows], pred[rows])
                                                       for rows in samples]))}
            for name, fn in functions.items()}
