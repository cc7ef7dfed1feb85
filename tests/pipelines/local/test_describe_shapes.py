"""Executor properties have the shapes of SageMaker's Describe* responses (botocore models)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from pipelines.local import run_local_pipeline

from . import definitions as d

pytestmark = pytest.mark.integration


def shape_errors(value: Any, shape, path: str = "") -> list[str]:
    """A small validator: member names, required members, scalar types, enums."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected structure, got {type(value).__name__}"]
        errors = [f"{path}.{k}: not a member of {shape.name}" for k in value
                  if k not in shape.members]
        errors += [f"{path}.{k}: required" for k in shape.required_members if k not in value]
        for key, item in value.items():
            if key in shape.members:
                errors += shape_errors(item, shape.members[key], f"{path}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        return [e for i, item in enumerate(value)
                for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map"]
        return [e for k, item in value.items() for e in shape_errors(item, shape.value,
                                                                     f"{path}[{k}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {value!r}"]
        enum = shape.metadata.get("enum")
        return [f"{path}: {value!r} not in {enum}"] if enum and value not in enum else []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "timestamp":
        try:
            dt.datetime.fromisoformat(value)
            ok = True
        except (TypeError, ValueError):
            ok = False
    else:
        ok = True
    return [] if ok else [f"{path}: expected {kind}, got {value!r}"]


@pytest.fixture(scope="module")
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _output(model, operation: str):
    return model.operation_model(operation).output_shape


class TestDescribeShapes:
    def test_processing_and_training(self, local_root: Path, sagemaker_model):
        execution = run_local_pipeline(d.chain_definition(), local_root=local_root)

        processing = execution.steps["Evaluate"].properties
        training = execution.steps["Train"].properties
        assert shape_errors(processing, _output(sagemaker_model, "DescribeProcessingJob")) == []
        assert shape_errors(training, _output(sagemaker_model, "DescribeTrainingJob")) == []

    def test_tuning(self, local_root: Path, sagemaker_model):
        execution = run_local_pipeline(d.tuning_definition("Random", max_jobs=2),
                                       local_root=local_root)

        tuning = dict(execution.steps["Tune"].properties)
        summaries = tuning.pop("TrainingJobSummaries")
        list_shape = _output(sagemaker_model, "ListTrainingJobsForHyperParameterTuningJob")
        assert shape_errors(tuning, _output(sagemaker_model,
                                            "DescribeHyperParameterTuningJob")) == []
        assert shape_errors({"TrainingJobSummaries": summaries}, list_shape) == []

    def test_validator_catches_bad_properties(self, sagemaker_model):
        shape = _output(sagemaker_model, "DescribeTrainingJob")
        errors = shape_errors({"TrainingJobName": 3, "Bogus": 1}, shape)
        assert ".TrainingJobName: expected string, got 3" in errors
        assert ".Bogus: not a member of DescribeTrainingJobResponse" in errors
        assert ".ModelArtifacts: required" in errors
