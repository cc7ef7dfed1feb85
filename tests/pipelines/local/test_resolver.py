"""The resolver alone: Get paths, Std:Join, Std:JsonGet and execution variables."""
from __future__ import annotations

import pytest

from pipelines.local.errors import ResolutionError
from pipelines.local.resolver import Resolver, parse_path, step_references

PROPERTIES = {
    "Prep": {"ProcessingOutputConfig": {"Outputs": [
        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
        {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}}]}},
    "Tune": {"TrainingJobSummaries": [{"TrainingJobName": "best-001"},
                                      {"TrainingJobName": "next-002"}]},
}
REPORT = {"regression_metrics": {"rmse": {"value": 53.2}}, "folds": [{"rmse": 50.0}]}


def _resolver() -> Resolver:
    return Resolver({"Threshold": 0.5, "Flag": True}, {"PipelineExecutionId": "abc123",
                                                       "CurrentDateTime": lambda: "now"},
                    PROPERTIES.__getitem__, lambda step, name: REPORT,
                    lambda uri: {"uri": uri})


class TestPaths:
    def test_parse_mixes_attributes_keys_and_indexes(self):
        assert parse_path("Outputs['train'].S3Output.S3Uri") == [
            "Outputs", "train", "S3Output", "S3Uri"]
        assert parse_path("TrainingJobSummaries[1].TrainingJobName") == [
            "TrainingJobSummaries", 1, "TrainingJobName"]

    def test_step_references_include_nested_values(self):
        value = {"Std:Join": {"On": "/", "Values": [
            {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"},
            {"Get": "Parameters.Threshold"}]}}
        assert step_references(value) == {"Tune"}


class TestResolve:
    def test_get_by_output_name_and_index(self):
        resolver = _resolver()
        assert resolver.resolve({"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['test']"
                                        ".S3Output.S3Uri"}) == "s3://b/test"
        assert resolver.resolve({"Get": "Steps.Tune.TrainingJobSummaries[1]"
                                        ".TrainingJobName"}) == "next-002"

    def test_join_renders_numbers_booleans_and_execution_variables(self):
        value = {"Std:Join": {"On": "-", "Values": [
            {"Get": "Parameters.Threshold"}, {"Get": "Parameters.Flag"},
            {"Get": "Execution.PipelineExecutionId"}, {"Get": "Execution.CurrentDateTime"}]}}
        assert _resolver().resolve(value) == "0.5-true-abc123-now"

    def test_json_get_property_file_and_s3_uri(self):
        resolver = _resolver()
        report = {"Get": "Steps.Eval.PropertyFiles.Report"}
        assert resolver.resolve({"Std:JsonGet": {"PropertyFile": report,
                                                 "Path": "regression_metrics.rmse.value"}}) == 53.2
        assert resolver.resolve({"Std:JsonGet": {"PropertyFile": report,
                                                 "Path": "folds[0].rmse"}}) == 50.0
        assert resolver.resolve({"Std:JsonGet": {"S3Uri": "s3://b/x.json", "Path": "uri"}}) == (
            "s3://b/x.json")

    def test_missing_json_key_names_what_is_available(self):
        value = {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                                 "Path": "regression_metrics.mae.value"}}
        with pytest.raises(ResolutionError, match=r"JsonGet Report \(step Eval\) path "
                                                  r"'regression_metrics.mae.value': no 'mae' "
                                                  r"\(available: rmse\)"):
            _resolver().resolve(value)

    def test_plain_values_and_containers_pass_through_unchanged(self):
        value = {"A": [1, "x", {"B": None}], "Get": "not a reference", "C": 2}
        assert _resolver().resolve(value) == value
