"""model_quality.py: SageMaker's model-quality layout for regression, binary and multiclass,
validated against the documented structure, with figures that agree with scikit-learn."""
from __future__ import annotations

import jsonschema
import numpy as np
import pytest
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from steps.common.model_quality import (
    BINARY_SECTION,
    MULTICLASS_SECTION,
    REGRESSION_SECTION,
    classification_report,
    regression_report,
    section_of,
)
from tests.steps.common.model_quality_schema import SCHEMAS

RNG = np.random.default_rng(7)


def probabilities(y: np.ndarray, classes: int, signal: float) -> np.ndarray:
    """Class probabilities leaning towards the true class by `signal`."""
    scores = RNG.random((len(y), classes)) + signal * np.eye(classes)[y]
    return scores / scores.sum(axis=1, keepdims=True)


def test_regression_report_is_the_documented_layout():
    y = RNG.normal(100, 20, 150)
    pred = y + RNG.normal(0, 10, 150)
    report = regression_report(y, pred, seed=1)
    jsonschema.validate(report, SCHEMAS["regression"])
    figures = report[REGRESSION_SECTION]
    assert figures["mse"]["value"] == pytest.approx(mean_squared_error(y, pred))
    assert figures["rmse"]["value"] == pytest.approx(np.sqrt(mean_squared_error(y, pred)))
    assert figures["rmse"]["standard_deviation"] > 0
    assert report["dataset"] == {"item_count": 150}
    assert section_of(report) == REGRESSION_SECTION


def test_binary_report_is_the_documented_layout():
    y = RNG.integers(0, 2, 200)
    proba = probabilities(y, 2, 0.8)
    report = classification_report(y, proba, ["benign", "malignant"], seed=1)
    jsonschema.validate(report, SCHEMAS["binary"])
    figures = report[BINARY_SECTION]
    predicted = proba.argmax(axis=1)
    assert figures["auc"]["value"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert figures["f1"]["value"] == pytest.approx(f1_score(y, predicted))
    matrix = figures["confusion_matrix"]
    assert matrix["malignant"]["malignant"] == int(np.sum((y == 1) & (predicted == 1)))
    assert sum(sum(row.values()) for row in matrix.values()) == 200
    # the best constant classifier always says "positive": its recall is 1, precision the share
    assert figures["recall_best_constant_classifier"]["value"] == 1.0
    assert figures["precision_best_constant_classifier"]["value"] == pytest.approx(y.mean())
    roc = figures["receiver_operating_characteristic_curve"]
    assert len(roc["false_positive_rates"]) == len(roc["true_positive_rates"]) >= 3
    assert roc["true_positive_rates"][-1] == 1.0


def test_multiclass_report_is_the_documented_layout():
    y = RNG.integers(0, 3, 180)
    report = classification_report(y, probabilities(y, 3, 0.5), [10, 20, 30], seed=1)
    jsonschema.validate(report, SCHEMAS["multiclass"])
    figures = report[MULTICLASS_SECTION]
    assert set(figures["confusion_matrix"]) == {"10", "20", "30"}
    majority_share = np.bincount(y).max() / len(y)
    assert figures["accuracy_best_constant_classifier"]["value"] == pytest.approx(majority_share)
    assert figures["accuracy"]["value"] > majority_share


def test_long_curves_are_thinned_keeping_their_ends():
    y = RNG.integers(0, 2, 5000)
    report = classification_report(y, probabilities(y, 2, 0.3), [0, 1], seed=1)
    curve = report[BINARY_SECTION]["precision_recall_curve"]
    assert len(curve["recalls"]) == 1000
    assert curve["recalls"][-1] == 0.0


def test_probabilities_must_match_the_labels():
    with pytest.raises(ValueError, match="one probability column per label"):
        classification_report(np.array([0, 1]), np.ones((2, 3)) / 3, ["a", "b"], seed=1)
