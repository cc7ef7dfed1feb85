"""evaluate.py's outputs beside its report: SageMaker's model-quality JSON and the plots."""
from __future__ import annotations

import json

import jsonschema
import pytest

from steps.common.model_quality import MODEL_QUALITY_REPORT
from steps.common.plots import PLOTS_DIR
from steps.multi_model import contract
from tests.images import assert_real_image
from tests.steps.common.model_quality_schema import SCHEMAS
from tests.steps.multi_model.conftest import IDS

pytestmark = pytest.mark.integration


def test_each_segment_has_model_quality_and_plots(pipeline_run):
    for ident in IDS.values():
        folder = pipeline_run.evaluation_dir(ident)
        quality = json.loads((folder / MODEL_QUALITY_REPORT).read_text())
        jsonschema.validate(quality, SCHEMAS["regression"])
        ours = json.loads((folder / contract.EVALUATION_REPORT).read_text())
        assert quality["regression_metrics"]["rmse"] == ours["regression_metrics"]["rmse"]
        for name in ("predicted_vs_actual.png", "residuals.png", "error.png"):
            assert_real_image(folder / PLOTS_DIR / name)
