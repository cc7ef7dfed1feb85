"""The stacked-ensemble definition: shape, references, parameters, determinism, schema."""
from __future__ import annotations

import copy
import json
import socket

import pytest

import pipelines.stacked_ensemble.pipeline as stacked
from steps.stacked_ensemble import contract
from tests.pipelines.definition.helpers import (
    SCHEMA_PATH,
    all_steps,
    build_definition,
    build_definition_uncached,
    normalized,
    schema_errors,
)

pytestmark = pytest.mark.definition


@pytest.fixture(scope="module")
def regression_text() -> str:
    return build_definition(stacked)


@pytest.fixture(scope="module")
def regression(regression_text) -> dict:
    return json.loads(regression_text)


@pytest.fixture(scope="module")
def classification() -> dict:
    return json.loads(build_definition(stacked, problem_type="classification"))


def _step(definition: dict, name: str) -> dict:
    return next(s for s in all_steps(definition) if s["Name"] == name)


class TestShape:
    def test_steps_in_order_with_types(self, regression):
        assert [(s["Name"], s["Type"]) for s in regression["Steps"]] == [
            ("PreprocessData", "Processing"), ("TuneEnsemble", "Tuning"),
            ("EvaluateEnsemble", "Processing"), ("CheckQuality", "Condition")]
        check = _step(regression, "CheckQuality")["Arguments"]
        assert [s["Name"] for s in check["IfSteps"]] == ["RegisterEnsemble"]
        assert [s["Type"] for s in check["ElseSteps"]] == ["Fail"]

    def test_parameters_have_shared_names_and_defaults(self, regression):
        params = {p["Name"]: p for p in regression["Parameters"]}
        assert list(params) == ["InputDataUrl", "TargetColumn", "IgnoreColumns",
                                "TargetTransform", "ProcessingInstanceType", "TrainingInstanceType",
                                "MaxTuningJobs", "MaxParallelTuningJobs", "ModelApprovalStatus",
                                "MinImprovementOverBaseline", "BestLearnerTolerance",
                                "QualityThreshold"]
        assert params["IgnoreColumns"]["DefaultValue"] == ""
        assert params["TargetTransform"] == {"Name": "TargetTransform", "Type": "String",
                                             "DefaultValue": "none",
                                             "EnumValues": ["none", "log"]}
        assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
        assert params["MaxTuningJobs"] == {"Name": "MaxTuningJobs", "Type": "Integer",
                                           "DefaultValue": 4}
        assert {name: (params[name]["Type"], params[name]["DefaultValue"]) for name in (
            "MinImprovementOverBaseline", "BestLearnerTolerance", "QualityThreshold")} == {
            "MinImprovementOverBaseline": ("Float", 0.1), "BestLearnerTolerance": ("Float", 0.05),
            "QualityThreshold": ("Float", 0.0)}
        assert params["InputDataUrl"]["DefaultValue"].endswith("/sample-data/diabetes.csv")

    def test_tuning_reads_preprocess_outputs_and_parameters(self, regression):
        tuning = _step(regression, "TuneEnsemble")["Arguments"]
        channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                    for c in tuning["TrainingJobDefinition"]["InputDataConfig"]}
        assert channels == {
            "train": {"Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['train']"
                             ".S3Output.S3Uri"},
            "validation": {"Get": "Steps.PreprocessData.ProcessingOutputConfig."
                                  "Outputs['validation'].S3Output.S3Uri"}}
        config = tuning["HyperParameterTuningJobConfig"]
        assert config["ResourceLimits"] == {
            "MaxParallelTrainingJobs": {"Get": "Parameters.MaxParallelTuningJobs"},
            "MaxNumberOfTrainingJobs": {"Get": "Parameters.MaxTuningJobs"}}
        assert config["Strategy"] == "Bayesian"
        assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize",
                                                              "MetricName": "validation:rmse"}
        ranges = config["ParameterRanges"]
        tuned = {r["Name"] for kind in ranges.values() for r in kind}
        assert tuned == {"eta", "max_depth", "catboost_learning_rate", "catboost_depth"}
        static = tuning["TrainingJobDefinition"]["StaticHyperParameters"]
        assert static["sagemaker_program"] == "steps/stacked_ensemble/train.py"
        assert static["target_column"] == {"Get": "Parameters.TargetColumn"}
        assert static["target_transform"] == {"Get": "Parameters.TargetTransform"}

    def test_metric_regexes_match_the_training_line_format(self, regression):
        import re

        algorithm = _step(regression, "TuneEnsemble")["Arguments"]["TrainingJobDefinition"][
            "AlgorithmSpecification"]
        regexes = {m["Name"]: m["Regex"] for m in algorithm["MetricDefinitions"]}
        line = contract.METRIC_LINE.format(name="validation-rmse", value=54.25)
        other = contract.METRIC_LINE.format(name="validation-rmse-catboost", value=56.0)
        log = f"{other}\n{line}\n"
        assert re.search(regexes["validation:rmse"], log).group(1) == "54.250000"
        assert re.search(regexes["validation:rmse-catboost"], log).group(1) == "56.000000"

    def test_evaluation_uses_best_model_and_condition_reads_report(self, regression):
        evaluate = _step(regression, "EvaluateEnsemble")
        model_input = next(i for i in evaluate["Arguments"]["ProcessingInputs"]
                           if i["InputName"] == "model")
        values = model_input["S3Input"]["S3Uri"]["Std:Join"]["Values"]
        assert {"Get": "Steps.TuneEnsemble.TrainingJobSummaries[0].TrainingJobName"} in values
        assert evaluate["PropertyFiles"] == [{"PropertyFileName": "EvaluationReport",
                                              "OutputName": "evaluation",
                                              "FilePath": "evaluation.json"}]
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"]
                  for i in evaluate["Arguments"]["ProcessingInputs"]}
        assert inputs["train"] == {"Get": "Steps.PreprocessData.ProcessingOutputConfig."
                                          "Outputs['train'].S3Output.S3Uri"}
        arguments = evaluate["Arguments"]["AppSpecification"]["ContainerArguments"]
        for flag, parameter in (("--min-improvement", "MinImprovementOverBaseline"),
                                ("--best-learner-tolerance", "BestLearnerTolerance"),
                                ("--quality-threshold", "QualityThreshold")):
            assert arguments[arguments.index(flag) + 1] == {"Std:Join": {
                "On": "", "Values": [{"Get": f"Parameters.{parameter}"}]}}  # a string
        condition = _step(regression, "CheckQuality")["Arguments"]["Conditions"][0]
        assert condition["Type"] == "Equals"
        assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "gate.failed"
        assert condition["RightValue"] == 0

    def test_registration_attaches_reports_and_approval_parameter(self, regression):
        register = _step(regression, "RegisterEnsemble")["Arguments"]
        assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
        evaluation = {"Get": "Steps.EvaluateEnsemble.ProcessingOutputConfig.Outputs"
                             "['evaluation'].S3Output.S3Uri"}
        # SageMaker's model-quality file is what Studio charts; our own report is named beside
        assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == {
            "Std:Join": {"On": "/", "Values": [evaluation, "model_quality.json"]}}
        assert register["CustomerMetadataProperties"]["EvaluationReport"] == {
            "Std:Join": {"On": "/", "Values": [evaluation, "evaluation.json"]}}
        container = register["InferenceSpecification"]["Containers"][0]
        assert container["Environment"]["SERVE_HANDLER"] == \
            "steps.stacked_ensemble.inference"
        assert register["ModelPackageGroupName"] == "StackedEnsemblePackageGroup"

    def test_fail_step_quotes_the_gate_message(self, regression):
        fail = _step(regression, "QualityTooLow")["Arguments"]["ErrorMessage"]["Std:Join"]
        assert fail["Values"][0] == "The model was not registered:"
        assert fail["Values"][1]["Std:JsonGet"]["Path"] == "gate.message"


class TestProblemType:
    def test_classification_flips_the_objective(self, classification):
        config = _step(classification, "TuneEnsemble")["Arguments"][
            "HyperParameterTuningJobConfig"]
        assert config["HyperParameterTuningJobObjective"]["MetricName"] == "validation:logloss"
        defaults = {p["Name"]: p["DefaultValue"] for p in classification["Parameters"]}
        assert defaults["InputDataUrl"].endswith("/breast-cancer.csv")

    def test_unknown_problem_type_is_rejected(self):
        with pytest.raises(ValueError, match="problem_type 'ranking' is not one of"):
            build_definition(stacked, problem_type="ranking")


class TestDeterminism:
    def test_two_builds_are_byte_identical(self, regression_text):
        assert build_definition_uncached(stacked) == regression_text

    def test_code_is_staged_under_a_content_hash(self, regression):
        preprocess = _step(regression, "PreprocessData")["Arguments"]
        code = next(i for i in preprocess["ProcessingInputs"] if i["InputName"] == "code")
        assert "/code/" in code["S3Input"]["S3Uri"]
        from pipelines.code_staging import package_digest
        assert package_digest(("stacked_ensemble",)) in code["S3Input"]["S3Uri"]

    def test_offline_build_makes_no_network_call(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError(f"network call attempted: {args!r}")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        assert json.loads(build_definition_uncached(stacked))["Steps"]


class TestGolden:
    """Compared in every run: the schema below needs ../shared/, the golden file does not."""

    def test_golden_definition_matches(self, regression_text):
        from pathlib import Path

        golden = Path(__file__).parent / "golden" / "stacked_ensemble_regression.json"
        assert normalized(regression_text) == json.loads(golden.read_text()), (
            "definition changed: if intended, regenerate with "
            "`python -m tests.pipelines.definition.regenerate_golden`")


@pytest.mark.skipif(not SCHEMA_PATH.exists(),
                    reason=f"AWS's pipeline-definition schema is not at {SCHEMA_PATH} "
                           "(it lives in the shared/reference folder beside the checkout)")
class TestSchema:
    def test_both_problem_types_validate(self, regression, classification):
        assert schema_errors(regression) == []
        assert schema_errors(classification) == []

    def test_validator_catches_a_missing_required_field(self, regression):
        broken = copy.deepcopy(regression)
        tuning = _step(broken, "TuneEnsemble")["Arguments"]
        del tuning["HyperParameterTuningJobConfig"]
        errors = schema_errors(broken)
        assert any("HyperParameterTuningJobConfig" in e for e in errors), errors
