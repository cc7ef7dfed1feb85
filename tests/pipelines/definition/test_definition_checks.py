"""Reference checks that CodeBuild runs before upserting (no schema, no AWS); the request
shapes themselves are tested in test_api_shape_checks.py."""
import pytest

from pipelines.definition_checks import check_definition

pytestmark = pytest.mark.definition

PROCESSING = {
    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                              "VolumeSizeInGB": 30}},
    "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    "RoleArn": "arn:aws:iam::123456789012:role/PipelineRole",
}


def _processing(name, arguments, **step):
    return {"Name": name, "Type": "Processing", **step,
            "Arguments": {**PROCESSING, "Environment": arguments}}


def _definition(steps, parameters=("InputDataUrl",)):
    return {"Parameters": [{"Name": n, "Type": "String"} for n in parameters], "Steps": steps}


def test_consistent_definition_has_no_problems():
    steps = [
        _processing("A", {"X": {"Get": "Parameters.InputDataUrl"},
                          "Y": {"Get": "Execution.PipelineExecutionId"},
                          "Z": {"Get": "Execution.PipelineArn"}}),
        {"Name": "B", "Type": "Condition", "DependsOn": ["A"],
         "Arguments": {"Conditions": [{"LeftValue": {"Get": "Steps.A.ProcessingJobStatus"}}],
                       "IfSteps": [{"Name": "C", "Type": "Fail", "Arguments": {}}],
                       "ElseSteps": []}},
        {"Name": "D", "Type": "Fail", "Arguments": {},
         "DependsOn": [{"Step": "A", "Trigger": "Failed"}, "B"]},
    ]
    assert check_definition(_definition(steps)) == []


def test_every_kind_of_broken_reference_is_named():
    steps = [
        _processing("A", {"X": {"Get": "Parameters.Missing"},
                          "Y": {"Get": "Steps.Nowhere.ProcessingOutputConfig.Outputs['x']"},
                          "Z": {"Std:Join": {"On": "/",
                                             "Values": [{"Get": "Execution.Tomorrow"}]}}},
                    DependsOn=["Ghost", {"Step": "A", "Trigger": "Sometimes"},
                               {"Step": "Phantom", "Trigger": "Any"}]),
        {"Name": "A", "Type": "Fail", "Arguments": {}},
    ]
    assert check_definition(_definition(steps)) == [
        "step name 'A' is used more than once",
        "A: DependsOn names unknown step 'Ghost'",
        "A: DependsOn {'Step': 'A', 'Trigger': 'Sometimes'}: Trigger must be one of Completed, "
        "Failed, Stopped, Any",
        "A: DependsOn names unknown step 'Phantom'",
        "A: Parameters.Missing is not a declared parameter",
        "A: Steps.Nowhere.ProcessingOutputConfig.Outputs['x'] names an unknown step",
        "A: Execution.Tomorrow is not an execution variable",
    ]


def test_request_shape_problems_follow_the_reference_problems():
    definition = {
        "Parameters": [{"Name": "Threshold", "Type": "Float"}],
        "Steps": [_processing("Evaluate", {"THRESHOLD": {"Get": "Parameters.Threshold"}},
                              DependsOn=["Ghost"])]}
    assert check_definition(definition) == [
        "Evaluate: DependsOn names unknown step 'Ghost'",
        "Evaluate: Environment['THRESHOLD']: {\"Get\": \"Parameters.Threshold\"}: a float where "
        "the API takes a string; pass it as text: parameter.to_string() (CreateProcessingJob)",
    ]
