"""Structural checks that CodeBuild runs before upserting (no schema, no AWS)."""
import pytest

from pipelines.definition_checks import check_definition

pytestmark = pytest.mark.definition


def _definition(steps, parameters=("InputDataUrl",)):
    return {"Parameters": [{"Name": n, "Type": "String"} for n in parameters], "Steps": steps}


def test_consistent_definition_has_no_problems():
    steps = [
        {"Name": "A", "Type": "Processing",
         "Arguments": {"X": {"Get": "Parameters.InputDataUrl"},
                       "Y": {"Get": "Execution.PipelineExecutionId"}}},
        {"Name": "B", "Type": "Condition", "DependsOn": ["A"],
         "Arguments": {"Conditions": [{"LeftValue": {"Get": "Steps.A.ProcessingJobStatus"}}],
                       "IfSteps": [{"Name": "C", "Type": "Fail", "Arguments": {}}],
                       "ElseSteps": []}},
    ]
    assert check_definition(_definition(steps)) == []


def test_every_kind_of_broken_reference_is_named():
    steps = [
        {"Name": "A", "Type": "Processing", "DependsOn": ["Ghost"],
         "Arguments": {"X": {"Get": "Parameters.Missing"},
                       "Y": {"Get": "Steps.Nowhere.ProcessingOutputConfig.Outputs['x']"},
                       "Z": {"Std:Join": {"On": "/", "Values": [{"Get": "Execution.Tomorrow"}]}}}},
        {"Name": "A", "Type": "Fail", "Arguments": {}},
    ]
    assert check_definition(_definition(steps)) == [
        "step name 'A' is used more than once",
        "A: DependsOn names unknown step 'Ghost'",
        "A: Parameters.Missing is not a declared parameter",
        "A: Steps.Nowhere.ProcessingOutputConfig.Outputs['x'] names an unknown step",
        "A: Execution.Tomorrow is not an execution variable",
    ]


def test_a_bare_non_string_parameter_in_a_string_field_is_named():
    definition = {
        "Parameters": [{"Name": "Threshold", "Type": "Float"}, {"Name": "Rounds",
                                                               "Type": "Integer"},
                       {"Name": "Column", "Type": "String"}],
        "Steps": [
            {"Name": "Evaluate", "Type": "Processing", "Arguments": {
                "AppSpecification": {"ContainerArguments": [
                    "--threshold", {"Get": "Parameters.Threshold"},
                    "--column", {"Get": "Parameters.Column"},
                    "--as-text", {"Std:Join": {"On": "", "Values": [
                        {"Get": "Parameters.Threshold"}]}}]},
                "ProcessingResources": {"ClusterConfig": {
                    "InstanceCount": {"Get": "Parameters.Rounds"}}}}},
            {"Name": "Tune", "Type": "Tuning", "Arguments": {"TrainingJobDefinition": {
                "StaticHyperParameters": {"rounds": {"Get": "Parameters.Rounds"}}}}},
        ]}
    assert check_definition(definition) == [
        "Evaluate: AppSpecification.ContainerArguments holds the Float parameter Threshold "
        "bare; SageMaker takes only strings there: pass Threshold.to_string()",
        "Tune: TrainingJobDefinition.StaticHyperParameters holds the Integer parameter Rounds "
        "bare; SageMaker takes only strings there: pass Rounds.to_string()",
    ]
