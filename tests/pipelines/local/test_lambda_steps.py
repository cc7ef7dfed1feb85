"""Lambda steps: a registered local function gets the resolved inputs; its outputs are typed."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.executors.lambda_step import function_name

pytestmark = pytest.mark.integration

SCORE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:score-model"
OUTPUTS = [{"OutputName": "score", "OutputType": "Float"},
           {"OutputName": "passed", "OutputType": "Boolean"},
           {"OutputName": "count", "OutputType": "Integer"},
           {"OutputName": "note", "OutputType": "String"}]


def definition() -> dict:
    score = {"Get": "Steps.Score.OutputParameters['score']"}
    return {"Version": "2020-12-01", "Parameters": [
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}], "Steps": [
        {"Name": "Score", "Type": "Lambda", "FunctionArn": SCORE_ARN, "OutputParameters": OUTPUTS,
         "Arguments": {"threshold": {"Get": "Parameters.Threshold"}, "label": "fixture",
                       "run": {"Get": "Execution.PipelineExecutionId"}}},
        {"Name": "Check", "Type": "Condition", "Arguments": {
            "Conditions": [{"Type": "GreaterThan", "LeftValue": score,
                            "RightValue": {"Get": "Parameters.Threshold"}}],
            "IfSteps": [{"Name": "Echo", "Type": "Lambda", "FunctionArn": "echo",
                         "OutputParameters": [{"OutputName": "seen"}],
                         "Arguments": {"score": score,
                                       "passed": {"Get": "Steps.Score.OutputParameters"
                                                         "['passed']"}}}],
            "ElseSteps": [{"Name": "TooLow", "Type": "Fail",
                           "Arguments": {"ErrorMessage": "score too low"}}]}}]}


def _run(root: Path, functions: dict, **kwargs):
    return run_local_pipeline(definition(), local_root=root, live=False,
                              lambda_functions=functions, **kwargs)


class TestLambdaStep:
    def test_inputs_in_typed_outputs_out(self, tmp_path: Path):
        calls = []

        def score(event, context):
            calls.append((event, context.function_name, context.invoked_function_arn))
            return {"score": "0.75", "passed": "true", "count": "3", "note": 7, "extra": "x"}

        def echo(event, context):
            calls.append((event, context.function_name, context.invoked_function_arn))
            return {"seen": f"{event['score']}/{event['passed']}"}

        execution = _run(tmp_path, {"score-model": score, "echo": echo})

        assert execution.status == "Succeeded", execution.failure_reason
        assert calls[0] == ({"threshold": 0.5, "label": "fixture",
                             "run": execution.execution_id}, "score-model", SCORE_ARN)
        assert execution.steps["Score"].properties["OutputParameters"] == {
            "score": 0.75, "passed": True, "count": 3, "note": "7"}
        assert calls[1] == ({"score": 0.75, "passed": True}, "echo", "echo")
        assert execution.steps["Echo"].properties["OutputParameters"] == {"seen": "0.75/True"}
        assert execution.steps["TooLow"].status == "Skipped"

    def test_registered_by_arn_and_the_else_branch(self, tmp_path: Path):
        execution = _run(tmp_path, {SCORE_ARN: lambda e, c: {
            "score": 0.1, "passed": False, "count": 0, "note": ""}},
            parameters={"Threshold": 0.2})
        assert execution.status == "Failed"
        assert execution.failure_reason == "score too low"

    def test_unregistered_function_says_how_to_register(self, tmp_path: Path):
        execution = _run(tmp_path, {})
        assert execution.steps["Score"].failure_reason == (
            f"no local function is registered for Lambda '{SCORE_ARN}'; register one with "
            "run-pipeline --local --lambda 'score-model=module:function' or "
            "run_local_pipeline(lambda_functions={'score-model': function})")

    def test_raising_function_fails_the_step_and_keeps_the_traceback(self, tmp_path: Path):
        def broken(event, context):
            raise KeyError("threshold_v2")

        execution = _run(tmp_path, {"score-model": broken})
        record = execution.steps["Score"]
        assert record.failure_reason == "Lambda score-model raised KeyError: 'threshold_v2'"
        assert "raise KeyError(\"threshold_v2\")" in Path(record.log_path).read_text()

    @pytest.mark.parametrize("returned, reason", [
        ({"score": 1.0, "passed": True}, "Lambda score-model returned no count, note "
         "(declared OutputParameters: score, passed, count, note; received: passed, score)"),
        ({"score": "high", "passed": True, "count": 1, "note": ""},
         "Lambda score-model returned score='high', which is not a valid Float: could not "
         "convert string to float: 'high'"),
        (["score"], "Lambda score-model returned list; it must return a JSON object with the "
                    "step's OutputParameters"),
    ])
    def test_bad_returns_fail_with_what_was_expected(self, tmp_path: Path, returned, reason):
        execution = _run(tmp_path, {"score-model": lambda e, c: returned})
        assert execution.steps["Score"].failure_reason == reason

    def test_function_name_from_arn(self):
        assert function_name(SCORE_ARN) == "score-model"
        assert function_name(SCORE_ARN + ":prod") == "score-model"
        assert function_name("score-model") == "score-model"
