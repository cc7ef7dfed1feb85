"""evaluate.py's outputs beside its report: SageMaker's model-quality JSON and the plots."""
from __future__ import annotations

import json

import jsonschema
import pytest

from steps.common.model_quality import MODEL_QUALITY_REPORT
from steps.common.plots import PLOTS_DIR
from steps.stacked_ensemble import contract
from tests.images import assert_real_image
from tests.steps.common.model_quality_schema import SCHEMAS

pytestmark = pytest.mark.integration

PLOTS = {"regression": {"predicted_vs_actual.png", "residuals.png", "members.png"},
         "classification": {"roc.png", "precision_recall.png", "confusion_matrix.png",
                            "calibration.png", "members.png"}}


def _read(trained, name: str) -> dict:
    return json.loads((trained.evaluation_dir / name).read_text())


def test_regression_model_quality_is_the_chosen_ensembles(regression):
    quality = _read(regression, MODEL_QUALITY_REPORT)
    jsonschema.validate(quality, SCHEMAS["regression"])
    ours = _read(regression, contract.EVALUATION_REPORT)
    for name in ("rmse", "mae", "r2"):
        assert quality["regression_metrics"][name] == ours["regression_metrics"][name]
    assert quality["dataset"]["item_count"] == ours["rows"]


def test_binary_model_quality_agrees_with_our_report(classification):
    quality = _read(classification, MODEL_QUALITY_REPORT)
    jsonschema.validate(quality, SCHEMAS["binary"])
    ours = _read(classification, contract.EVALUATION_REPORT)
    figures = quality["binary_classification_metrics"]
    assert figures["accuracy"]["value"] == pytest.approx(ours["relative"]["accuracy"])
    assert figures["auc"]["value"] == pytest.approx(ours["relative"]["auc"])


@pytest.mark.parametrize("trained_name", ["regression", "classification"])
def test_plots_are_real_images(request, trained_name):
    trained = request.getfixturevalue(trained_name)
    folder = trained.evaluation_dir / PLOTS_DIR
    found = {path.name for path in folder.glob("*.png")}
    assert PLOTS[trained_name] <= found
    for path in folder.glob("*.png"):
        assert_real_image(path)


def test_the_weighted_or_stacked_combiner_shows_its_weights(regression):
    chosen = _read(regression, contract.EVALUATION_REPORT)["chosen_combiner"]
    has_weights = chosen in ("weighted", "stack")
    assert (regression.evaluation_dir / PLOTS_DIR / "combiner_weights.png").is_file() == has_weights
