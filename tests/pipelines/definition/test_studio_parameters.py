"""Every pipeline can be started from the Studio UI without editing code.

All knobs are pipeline parameters with working defaults, and a knob that several pipelines
share has one name and one type everywhere (DESIGN.md's shared names).
"""
from __future__ import annotations

import importlib
import json

import pytest

from pipelines.discovery import available_pipeline_modules
from tests.pipelines.definition.helpers import build_definition

pytestmark = pytest.mark.definition

SHARED = {
    "InputDataUrl": "String", "ProcessingInstanceType": "String",
    "ProcessingInstanceCount": "Integer", "TrainingInstanceType": "String",
    "MaxTuningJobs": "Integer", "MaxParallelTuningJobs": "Integer",
    "ModelApprovalStatus": "String", "QualityThreshold": "Float",
    "TargetColumn": "String", "SegmentColumn": "String", "IgnoreColumns": "String",
    "TextColumns": "String", "IdColumn": "String", "LabelColumn": "String",
    "MinImprovementOverBaseline": "Float", "BestLearnerTolerance": "Float",
    "MappingQueueUrl": "String", "MappingOverridesUrl": "String",
}
EVERY_PIPELINE = {"InputDataUrl", "ModelApprovalStatus", "QualityThreshold"}


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict]:
    return {name: json.loads(build_definition(importlib.import_module(name)))
            for name in available_pipeline_modules()}


def test_every_pipeline_is_discovered(definitions):
    assert {"pipelines.stacked_ensemble.pipeline", "pipelines.multi_model.pipeline"} <= \
        set(definitions)


def test_every_parameter_has_a_default_and_shared_names_keep_their_type(definitions):
    for module, definition in definitions.items():
        parameters = {p["Name"]: p for p in definition["Parameters"]}
        assert EVERY_PIPELINE <= parameters.keys(), module
        for name, parameter in parameters.items():
            assert "DefaultValue" in parameter, f"{module}: {name} has no default"
            assert name[0].isupper() and name.isalnum(), f"{module}: {name} is not PascalCase"
            if name in SHARED:
                assert parameter["Type"] == SHARED[name], f"{module}: {name}"
        assert parameters["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"


def test_every_pipeline_carries_a_description():
    for name in available_pipeline_modules():
        description = getattr(importlib.import_module(name), "PIPELINE_DESCRIPTION", "")
        assert 20 < len(description) <= 3072, name
