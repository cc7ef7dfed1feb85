"""The API-shape checker: one planted fault per rule, each named by step, path, value and rule;
clean passes for a valid request and for every pipeline of ours."""
import copy
import importlib
import json

import pytest

from pipelines.api_shape_checks import check_request_shapes
from tests.pipelines.definition.helpers import build_definition

pytestmark = pytest.mark.definition

ROLE = "arn:aws:iam::123456789012:role/PipelineRole"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ensemble:1"
PROCESSING = {
    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                              "VolumeSizeInGB": 30}},
    "AppSpecification": {"ImageUri": IMAGE, "ContainerArguments": ["--rows", "10"]},
    "Environment": {"MODE": "fast"},
    "RoleArn": ROLE,
}
PARAMETERS = [
    {"Name": "Rounds", "Type": "Integer", "DefaultValue": 3},
    {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
    {"Name": "BadInstanceType", "Type": "String", "DefaultValue": "ml.m5.huge"},
    {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
]


def _problems(edit, step_type="Processing", arguments=PROCESSING):
    """The problems of a one-step definition whose (copied) Arguments `edit` changed."""
    arguments = copy.deepcopy(arguments)
    edit(arguments)
    definition = {"Parameters": PARAMETERS,
                  "Steps": [{"Name": "Prep", "Type": step_type, "Arguments": arguments}]}
    return check_request_shapes(definition)


def _set(path, value):
    def edit(arguments):
        *parents, last = path
        for key in parents:
            arguments = arguments[key]
        arguments[last] = value
    return edit


def test_a_valid_request_passes():
    assert _problems(lambda a: None) == []


def test_the_generated_job_name_is_not_required_but_others_are():
    assert _problems(lambda a: a.pop("RoleArn")) == [
        "Prep: RoleArn: null: required member missing (CreateProcessingJob)"]


@pytest.mark.parametrize(("edit", "problem"), [
    (_set(("AppSpecification", "Entrypoint"), ["python"]),
     'Prep: AppSpecification.Entrypoint: ["python"]: unknown member of AppSpecification '
     "(members: ContainerArguments, ContainerEntrypoint, ImageUri) (CreateProcessingJob)"),
    (_set(("RoleArn",), 42),
     "Prep: RoleArn: 42: expected a string, got int (CreateProcessingJob)"),
    (_set(("ProcessingResources", "ClusterConfig", "InstanceCount"), "1"),
     'Prep: ProcessingResources.ClusterConfig.InstanceCount: "1": expected a whole number '
     "(CreateProcessingJob)"),
    (_set(("AppSpecification",), ["x"]),
     'Prep: AppSpecification: ["x"]: expected an object (AppSpecification) '
     "(CreateProcessingJob)"),
    (_set(("AppSpecification", "ContainerArguments"), "--rows 10"),
     'Prep: AppSpecification.ContainerArguments: "--rows 10": expected a list '
     "(CreateProcessingJob)"),
    (_set(("Environment",), ["MODE=fast"]),
     'Prep: Environment: ["MODE=fast"]: expected an object (a map) (CreateProcessingJob)'),
], ids=["unknown-member", "string", "integer", "structure", "list", "map"])
def test_wrong_types_are_named(edit, problem):
    assert _problems(edit) == [problem]


def test_a_string_longer_than_the_api_allows():
    problems = _problems(_set(("AppSpecification", "ContainerArguments"), ["a" * 257]))
    assert problems == ['Prep: AppSpecification.ContainerArguments[0]: '
                        f'"{"a" * 59}...{"a" * 11}" (259 chars): 257 characters; at most 256 '
                        "(CreateProcessingJob)"]


def test_a_string_shorter_than_the_api_allows():
    problems = _problems(_set(("RoleArn",), "arn:aws:iam::1:role"))
    assert problems == ['Prep: RoleArn: "arn:aws:iam::1:role": 19 characters; at least 20 '
                        "(CreateProcessingJob)",
                        'Prep: RoleArn: "arn:aws:iam::1:role": does not match the pattern '
                        r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
                        " (CreateProcessingJob)"]


def test_a_pattern_must_match_the_whole_value():
    problems = _problems(lambda a: a.update(ExperimentConfig={"ExperimentName": "my_run"}))
    assert problems == ['Prep: ExperimentConfig.ExperimentName: "my_run": does not match the '
                        "pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,119} (CreateProcessingJob)"]


def test_a_pattern_is_enforced():
    problems = _problems(_set(("RoleArn",), "arn:aws:iam::123456789012:user/someone"))
    assert problems == ['Prep: RoleArn: "arn:aws:iam::123456789012:user/someone": does not '
                        r"match the pattern arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
                        " (CreateProcessingJob)"]


def test_an_enum_names_the_closest_allowed_values():
    problems = _problems(_set(("ProcessingResources", "ClusterConfig", "InstanceType"),
                              "ml.m5.xlarg"))
    assert len(problems) == 1
    assert problems[0].startswith('Prep: ProcessingResources.ClusterConfig.InstanceType: '
                                  '"ml.m5.xlarg": not one of the ')
    assert "values the API accepts; closest: ml.m5.xlarge" in problems[0]


def test_a_boolean_given_as_text():
    bad = _problems(_set(("NetworkConfig",), {"EnableInterContainerTrafficEncryption": "yes"}))
    assert bad == ['Prep: NetworkConfig.EnableInterContainerTrafficEncryption: "yes": expected '
                   "true or false (CreateProcessingJob)"]


@pytest.mark.parametrize(("value", "rule"), [(0, "below the minimum 1"),
                                             (100000, "above the maximum 16384")])
def test_a_number_outside_its_range(value, rule):
    problems = _problems(_set(("ProcessingResources", "ClusterConfig", "VolumeSizeInGB"), value))
    assert problems == [f"Prep: ProcessingResources.ClusterConfig.VolumeSizeInGB: {value}: "
                        f"{rule} (CreateProcessingJob)"]


def test_a_list_with_more_items_than_allowed():
    problems = _problems(_set(("AppSpecification", "ContainerArguments"), ["x"] * 101))
    assert len(problems) == 1
    assert problems[0].startswith("Prep: AppSpecification.ContainerArguments: ")
    assert problems[0].endswith(": 101 items; at most 100 allowed (CreateProcessingJob)")


def test_a_list_with_fewer_items_than_allowed():
    problems = _problems(_set(("AppSpecification", "ContainerArguments"), []))
    assert problems == ["Prep: AppSpecification.ContainerArguments: []: 0 items; at least 1 "
                        "allowed (CreateProcessingJob)"]


def test_a_map_with_more_entries_than_allowed():
    problems = _problems(_set(("Environment",), {f"K{i}": "v" for i in range(101)}))
    assert len(problems) == 1
    assert problems[0].endswith(": 101 entries; at most 100 allowed (CreateProcessingJob)")


def test_an_enum_with_few_values_is_listed():
    training = {"AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "Stream"},
                "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
                "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                   "VolumeSizeInGB": 30},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
    assert _problems(lambda a: None, "Training", training) == [
        'Prep: AlgorithmSpecification.TrainingInputMode: "Stream": not one of Pipe, File, '
        "FastFile (CreateTrainingJob)"]


class TestPipelineExpressions:
    def test_a_bare_integer_parameter_where_a_string_belongs(self):
        problems = _problems(_set(("AppSpecification", "ContainerArguments"),
                                  ["--rounds", {"Get": "Parameters.Rounds"}]))
        assert problems == [
            'Prep: AppSpecification.ContainerArguments[1]: {"Get": "Parameters.Rounds"}: an '
            "integer where the API takes a string; pass it as text: parameter.to_string() "
            "(CreateProcessingJob)"]

    def test_the_start_time_where_a_string_belongs(self):
        problems = _problems(_set(("Environment",), {"START": {"Get": "Execution.StartDateTime"}}))
        assert problems == [
            "Prep: Environment['START']: {\"Get\": \"Execution.StartDateTime\"}: a timestamp "
            "where the API takes a string; pass it as text: Join(on='', values=[...]) "
            "(CreateProcessingJob)"]

    def test_a_join_where_a_number_belongs(self):
        join = {"Std:Join": {"On": "", "Values": ["1"]}}
        problems = _problems(_set(("ProcessingResources", "ClusterConfig", "InstanceCount"),
                                  join))
        assert problems == [
            "Prep: ProcessingResources.ClusterConfig.InstanceCount: "
            f"{json.dumps(join)}: a string where the API takes an integer (CreateProcessingJob)"]

    def test_a_parameter_default_is_checked_against_the_field_rules(self):
        problems = _problems(_set(("ProcessingResources", "ClusterConfig", "InstanceType"),
                                  {"Get": "Parameters.BadInstanceType"}))
        assert len(problems) == 1
        assert problems[0].startswith(
            'Prep: ProcessingResources.ClusterConfig.InstanceType: "ml.m5.huge": parameter '
            "BadInstanceType's default: not one of the ")

    def test_well_typed_expressions_pass(self):
        def edit(arguments):
            arguments["ProcessingResources"]["ClusterConfig"].update(
                InstanceType={"Get": "Parameters.InstanceType"},
                InstanceCount={"Get": "Parameters.Rounds"})
            arguments["AppSpecification"]["ContainerArguments"] = [
                {"Get": "Execution.PipelineExecutionId"},
                {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Threshold"}]}},
                {"Std:JsonGet": {"PropertyFile": "x", "Path": "y"}}]
        assert _problems(edit) == []

    def test_a_step_property_has_the_type_of_its_describe_member(self):
        definition = {"Parameters": [], "Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": {}},
            {"Name": "Prep", "Type": "Processing", "Arguments": {
                **copy.deepcopy(PROCESSING),
                "Environment": {
                    "SECONDS": {"Get": "Steps.Train.BillableTimeInSeconds"},
                    "MODEL": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}}}]}
        problems = [p for p in check_request_shapes(definition) if p.startswith("Prep")]
        assert problems == [
            "Prep: Environment['SECONDS']: {\"Get\": \"Steps.Train.BillableTimeInSeconds\"}: an "
            "integer where the API takes a string; pass it as text: Join(on='', values=[...]) "
            "(CreateProcessingJob)"]


@pytest.mark.parametrize(("module", "kwargs"), [
    ("pipelines.stacked_ensemble.pipeline", {}),
    ("pipelines.multi_model.pipeline", {}),
    ("pipelines.multi_model.pipeline",
     {"segments": [f"Neighbourhood number {i:02d}" for i in range(14)]}),
    ("pipelines.sequential_topics.pipeline", {}),
])
def test_every_pipeline_of_ours_passes(module, kwargs):
    definition = json.loads(build_definition(importlib.import_module(module), **kwargs))
    assert check_request_shapes(definition) == []
