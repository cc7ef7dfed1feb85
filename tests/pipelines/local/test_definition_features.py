"""Definition features the SDK v3 can emit, each run or refused at load naming step and field:
run conditions in DependsOn, every execution variable, PipelineDefinitionConfig's custom job
prefix, and step types the local runner does not run."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local import InvalidDefinition, run_local_pipeline

from . import definitions as d

pytestmark = pytest.mark.integration

VARIABLES = ("PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "PipelineArn",
             "StartDateTime", "CurrentDateTime")


def _lambda(name: str, depends_on=None, **arguments) -> dict:
    step = {"Name": name, "Type": "Lambda", "FunctionArn": name.lower(),
            "OutputParameters": [{"OutputName": "seen"}], "Arguments": arguments}
    if depends_on is not None:
        step["DependsOn"] = depends_on
    return step


def _run(steps: list, root: Path, calls: list, fail: bool = False, **kwargs):
    def work(event, context):
        calls.append(context.function_name)
        if fail:
            raise RuntimeError("work went wrong")
        return {"seen": "work"}

    def record(event, context):
        calls.append(context.function_name)
        return {"seen": context.function_name}

    functions = {s["FunctionArn"]: record for s in steps if s["Type"] == "Lambda"}
    functions["work"] = work
    return run_local_pipeline({"Version": "2020-12-01", "Parameters": [], "Steps": steps},
                              local_root=root, live=False, lambda_functions=functions, **kwargs)


RUN_CONDITIONS = [
    _lambda("Work"),
    _lambda("Notify", [{"Step": "Work", "Trigger": "Failed"}]),
    _lambda("Always", [{"Step": "Work", "Trigger": "Any"}]),
    _lambda("After", ["Work"]),
    _lambda("AfterNotify", ["Notify"]),
]


class TestRunConditions:
    def test_a_failure_runs_its_handlers_and_ends_completed_with_failures(self, tmp_path):
        calls: list = []
        execution = _run(RUN_CONDITIONS, tmp_path, calls, fail=True)

        statuses = {n: r.status for n, r in execution.steps.items()}
        assert statuses == {"Work": "Failed", "Notify": "Succeeded", "Always": "Succeeded",
                            "After": "NotRun", "AfterNotify": "Succeeded"}
        assert execution.status == "CompletedWithFailures"
        assert "work went wrong" in execution.failure_reason

    def test_success_skips_the_failure_handler_and_what_follows_it(self, tmp_path):
        calls: list = []
        execution = _run(RUN_CONDITIONS, tmp_path, calls)

        statuses = {n: r.status for n, r in execution.steps.items()}
        assert statuses == {"Work": "Succeeded", "Notify": "Skipped", "Always": "Succeeded",
                            "After": "Succeeded", "AfterNotify": "Skipped"}
        assert execution.steps["Notify"].summary == ("run condition not met: Work ended "
                                                     "Succeeded, not Failed")
        assert execution.status == "Succeeded"
        assert sorted(calls) == ["after", "always", "work"]

    def test_a_failure_without_handlers_still_fails(self, tmp_path):
        execution = _run([_lambda("Work"), _lambda("After", ["Work"])], tmp_path, [], fail=True)
        assert execution.status == "Failed"
        assert execution.steps["After"].status == "NotRun"

    @pytest.mark.parametrize(("entry", "message"), [
        ({"Step": "Work", "Trigger": "Sometimes"},
         r"step 'Notify': DependsOn entry \{\"Step\": \"Work\", \"Trigger\": \"Sometimes\"\} is "
         r"neither a step name nor a run condition \{\"Step\": name, \"Trigger\": Completed \| "
         r"Failed \| Stopped \| Any\}"),
        ({"Step": "Ghost", "Trigger": "Failed"},
         r"step 'Notify' depends on unknown step\(s\) Ghost"),
        (7, r"step 'Notify': DependsOn entry 7 is neither a step name nor a run condition"),
    ])
    def test_a_malformed_run_condition_is_refused_at_load(self, tmp_path, entry, message):
        steps = [_lambda("Work"), _lambda("Notify", [entry])]
        with pytest.raises(InvalidDefinition, match=message):
            _run(steps, tmp_path, [])
        assert not (tmp_path / "jobs").exists()


class TestExecutionVariables:
    def test_every_pipeline_variable_resolves(self, tmp_path):
        events: list = []
        step = _lambda("Echo", **{v: {"Get": f"Execution.{v}"} for v in VARIABLES})

        def echo(event, context):
            events.append(event)
            return {"seen": "yes"}

        execution = run_local_pipeline(
            {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}, local_root=tmp_path,
            live=False, pipeline_name="vars", lambda_functions={"echo": echo})

        assert execution.status == "Succeeded", execution.failure_reason
        event = events[0]
        pipeline_arn = "arn:aws:sagemaker:local:000000000000:pipeline/vars"
        assert {k: event[k] for k in ("PipelineExecutionId", "PipelineExecutionArn",
                                      "PipelineName", "PipelineArn")} == {
            "PipelineExecutionId": execution.execution_id,
            "PipelineExecutionArn": execution.execution_arn,
            "PipelineName": "vars", "PipelineArn": pipeline_arn}
        assert execution.execution_arn.startswith(pipeline_arn + "/execution/")
        assert event["StartDateTime"] == execution.start_time
        assert event["CurrentDateTime"] >= event["StartDateTime"]

    def test_a_processing_step_reads_its_own_job_name(self, local_root: Path):
        step = d.preprocess_step()
        step["Arguments"]["Environment"] = {"JOB": {"Get": "Execution.ProcessingJobName"}}
        execution = run_local_pipeline({"Version": "2020-12-01", "Parameters": d.parameters(),
                                        "Steps": [step]}, local_root=local_root, live=False)

        assert execution.status == "Succeeded", execution.failure_reason
        properties = execution.steps["Preprocess"].properties
        assert properties["Environment"]["JOB"] == properties["ProcessingJobName"]

    def test_a_job_name_variable_outside_its_step_type_is_refused(self, tmp_path):
        step = _lambda("Echo", job={"Get": "Execution.TrainingJobName"})
        with pytest.raises(InvalidDefinition, match=r"step 'Echo' \(Lambda\) reads "
                           r"Execution.TrainingJobName, the name of a Training step's own job: "
                           r"SageMaker resolves it only in Training steps"):
            _run([step], tmp_path, [])


class TestPipelineDefinitionConfig:
    def test_a_custom_job_prefix_names_the_job(self, local_root: Path):
        step = d.preprocess_step()
        step["Arguments"]["ProcessingJobName"] = "nightly-prep"
        execution = run_local_pipeline({"Version": "2020-12-01", "Parameters": d.parameters(),
                                        "Steps": [step]}, local_root=local_root, live=False)

        assert execution.status == "Succeeded", execution.failure_reason
        name = execution.steps["Preprocess"].properties["ProcessingJobName"]
        assert name == f"nightly-prep-{execution.execution_id}"


@pytest.mark.parametrize("step_type", ["ForEach", "EMR", "EMRServerless", "QualityCheck",
                                       "ClarifyCheck", "AutoML", "Notebook", "Endpoint",
                                       "EndpointConfig"])
def test_a_step_type_not_run_locally_is_refused_at_load(tmp_path, step_type):
    steps = [_lambda("Work"), {"Name": "Other", "Type": step_type, "Arguments": {}}]
    with pytest.raises(InvalidDefinition, match=rf"step 'Other' has type '{step_type}', which "
                                                r"the local runner does not support"):
        _run(steps, tmp_path, [])


def test_a_processing_input_that_does_not_run_locally_is_refused_at_load(local_root: Path):
    step = d.preprocess_step()
    step["Arguments"]["ProcessingInputs"][0] = {
        "InputName": "raw", "DatasetDefinition": {"AthenaDatasetDefinition": {}}}
    with pytest.raises(InvalidDefinition, match=r"step 'Preprocess' \(Processing\): "
                       r"ProcessingInputs\[0\] \('raw'\): only S3Input inputs run locally, "
                       r"not DatasetDefinition"):
        run_local_pipeline({"Version": "2020-12-01", "Parameters": d.parameters(),
                            "Steps": [step]}, local_root=local_root, live=False)
