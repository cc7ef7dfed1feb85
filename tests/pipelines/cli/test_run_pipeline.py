"""`run-pipeline` against moto: upsert, start, tags, parameters and every error path."""
from __future__ import annotations

import hashlib
import json

import boto3
import botocore.handlers
import pytest
from moto import mock_aws

from pipelines.cli import run_pipeline
from pipelines.execution_poller import wait_for_execution

MODULE = "pipelines.stacked_ensemble.pipeline"
ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerRole"
PROJECT_TAGS = [{"Key": "sagemaker:project-name", "Value": "demo"},
                {"Key": "sagemaker:project-id", "Value": "p-abc123"}]


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


def _run(*extra: str) -> int:
    return run_pipeline.main(["-n", MODULE, "--role-arn", ROLE, "--no-wait",
                              "--kwargs", json.dumps({"region": "us-east-1",
                                                      "role": ROLE}), *extra])


class TestUpsertAndStart:
    def test_creates_then_updates_and_starts_with_parameters(self, aws, capsys):
        assert _run("--tags", json.dumps(PROJECT_TAGS)) == 0
        arn = aws.describe_pipeline(PipelineName="StackedEnsemblePipeline")["PipelineArn"]
        assert _run("--parameters", '{"MaxTuningJobs": 2, "QualityThreshold": 60.5}',
                    "--description", "second run") == 0
        described = aws.describe_pipeline(PipelineName="StackedEnsemblePipeline")
        assert described["PipelineArn"] == arn
        assert described["PipelineDescription"] == "second run"
        executions = aws.list_pipeline_executions(PipelineName="StackedEnsemblePipeline")[
            "PipelineExecutionSummaries"]
        assert len(executions) == 2
        latest = max(executions, key=lambda e: e["StartTime"])["PipelineExecutionArn"]
        params = aws.list_pipeline_parameters_for_execution(PipelineExecutionArn=latest)
        assert {p["Name"]: p["Value"] for p in params["PipelineParameters"]} == {
            "MaxTuningJobs": "2", "QualityThreshold": "60.5"}
        out = capsys.readouterr().out
        assert "Upserted pipeline StackedEnsemblePipeline" in out
        assert "Started execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/" in out

    def test_tags_from_the_command_line_and_the_module_hook_are_merged(self, aws, monkeypatch):
        import pipelines.stacked_ensemble.pipeline as module

        def project_tags(new_tags, region, project_arn):
            return new_tags + [{"Key": "team", "Value": "ml"}]

        monkeypatch.setattr(module, "get_pipeline_custom_tags", project_tags)
        assert _run("--tags", "{'sagemaker:project-name': 'demo'}") == 0
        arn = aws.describe_pipeline(PipelineName="StackedEnsemblePipeline")["PipelineArn"]
        tags = {t["Key"]: t["Value"] for t in aws.list_tags(ResourceArn=arn)["Tags"]}
        assert tags == {"sagemaker:project-name": "demo", "team": "ml"}

    def test_definition_upserted_is_the_one_built(self, aws):
        assert _run() == 0
        definition = json.loads(aws.describe_pipeline(
            PipelineName="StackedEnsemblePipeline")["PipelineDefinition"])
        assert [s["Name"] for s in definition["Steps"]][0] == "PreprocessData"
        code = definition["Steps"][0]["Arguments"]["ProcessingInputs"][-1]["S3Input"]["S3Uri"]
        bucket, _, prefix = code[len("s3://"):].partition("/")
        listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for o in listed.get("Contents", [])]
        assert any(k.endswith("steps/stacked_ensemble/train.py") for k in keys)


class TestErrors:
    def _error(self, capsys) -> str:
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err
        return err

    def test_unknown_module_lists_the_pipelines(self, capsys):
        assert run_pipeline.main(["-n", "pipelines.nope.pipeline", "--no-wait"]) == 2
        assert self._error(capsys) == (
            "run-pipeline: error: no pipeline module 'pipelines.nope.pipeline'; available: "
            + ", ".join(__import__("pipelines.discovery", fromlist=["x"])
                        .available_pipeline_modules()))

    def test_malformed_kwargs_names_the_text(self, capsys):
        assert run_pipeline.main(["-n", MODULE, "--kwargs", "{region: us-east-1"]) == 2
        assert "--kwargs is neither JSON nor a Python literal: '{region: us-east-1'" in \
            self._error(capsys)

    def test_tags_of_the_wrong_shape(self, capsys):
        assert run_pipeline.main(["-n", MODULE, "--tags", "[1, 2]"]) == 2
        assert "tags must be a dict or a list of" in self._error(capsys)

    def test_missing_role_says_how_to_pass_it(self, capsys, monkeypatch):
        monkeypatch.delenv("SAGEMAKER_PIPELINE_ROLE_ARN", raising=False)
        assert run_pipeline.main(["-n", MODULE]) == 2
        assert "no role ARN: pass --role-arn" in self._error(capsys)

    def test_unknown_parameter_lists_the_declared_ones(self, aws, capsys):
        assert _run("--parameters", '{"MaxTuningJob": 2}') == 2
        prefix = "run-pipeline: error: unknown parameter(s) MaxTuningJob; this pipeline declares: "
        err = self._error(capsys)
        assert err.startswith(prefix)
        declared = err[len(prefix):].split(", ")
        assert declared == sorted(declared)
        assert {"InputDataUrl", "MaxParallelTuningJobs", "MaxTuningJobs"} <= set(declared)
        assert aws.list_pipelines()["PipelineSummaries"] == []

    def test_a_definition_sagemaker_would_refuse_is_not_upserted(self, aws, capsys):
        image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + "x" * 250 + ":1"
        assert run_pipeline.main(["-n", MODULE, "--role-arn", ROLE, "--no-wait", "--kwargs",
                                  json.dumps({"region": "us-east-1", "role": ROLE,
                                              "image_uri": image})]) == 2
        err = self._error(capsys).splitlines()[-1]
        assert err.startswith(f"run-pipeline: error: the definition of {MODULE} has ")
        assert ("the first: PreprocessData: AppSpecification.ImageUri: "
                in err) and "at most 255 (CreateProcessingJob)" in err
        assert aws.list_pipelines()["PipelineSummaries"] == []

    @pytest.mark.parametrize("parameters, message", [
        ('{"MaxTuningJobs": "two"}', "parameter MaxTuningJobs expects Integer, received str 'two'"),
        ('{"MaxTuningJobs": true}', "parameter MaxTuningJobs expects Integer, received bool True"),
        ('{"ModelApprovalStatus": "Yes"}', "parameter ModelApprovalStatus: 'Yes' is not one of"),
    ])
    def test_bad_parameters_fail_before_anything_is_sent(self, aws, capsys, parameters, message):
        assert _run("--parameters", parameters) == 2
        assert message in self._error(capsys)
        assert aws.list_pipelines()["PipelineSummaries"] == []

    def test_failing_tag_hook_is_reported_not_swallowed(self, aws, capsys, monkeypatch):
        import pipelines.stacked_ensemble.pipeline as module

        def broken(new_tags, region, project_arn):
            raise RuntimeError("project not found")

        monkeypatch.setattr(module, "get_pipeline_custom_tags", broken)
        assert _run() == 2
        assert self._error(capsys) == ("run-pipeline: error: pipelines.stacked_ensemble.pipeline"
                                       ".get_pipeline_custom_tags failed: RuntimeError: project "
                                       "not found")

    def test_aws_errors_show_code_and_message(self, aws, capsys, monkeypatch):
        from botocore.exceptions import ClientError
        from sagemaker.mlops.workflow.pipeline import Pipeline

        def denied(self, **kwargs):
            raise ClientError({"Error": {"Code": "AccessDeniedException",
                                         "Message": "not authorized to CreatePipeline"}},
                              "CreatePipeline")

        monkeypatch.setattr(Pipeline, "upsert", denied)
        assert _run() == 1
        # the line before it says the default InputDataUrl was seeded with sample data
        assert self._error(capsys).splitlines()[-1] == (
            "run-pipeline: AWS error: AccessDeniedException: not authorized to CreatePipeline")


class _ScriptedClient:
    """A SageMaker client whose execution moves through statuses we choose."""

    def __init__(self, timeline):
        self.timeline = list(timeline)
        self.calls = 0

    def describe_pipeline_execution(self, PipelineExecutionArn):
        status, _ = self.timeline[min(self.calls, len(self.timeline) - 1)]
        return {"PipelineExecutionStatus": status,
                "FailureReason": "Step failure: One or more steps failed." if status == "Failed"
                else None}

    def list_pipeline_execution_steps(self, PipelineExecutionArn, SortOrder):
        _, steps = self.timeline[min(self.calls, len(self.timeline) - 1)]
        self.calls += 1
        return {"PipelineExecutionSteps": steps}


class TestPoller:
    def test_prints_each_change_once_and_returns_the_failure(self):
        timeline = [
            ("Executing", [{"StepName": "PreprocessData", "StepStatus": "Executing"}]),
            ("Executing", [{"StepName": "PreprocessData", "StepStatus": "Executing"}]),
            ("Executing", [{"StepName": "PreprocessData", "StepStatus": "Succeeded"},
                           {"StepName": "TuneEnsemble", "StepStatus": "Executing"}]),
            ("Failed", [{"StepName": "PreprocessData", "StepStatus": "Succeeded"},
                        {"StepName": "TuneEnsemble", "StepStatus": "Failed",
                         "FailureReason": "AlgorithmError: bad eta"}]),
        ]
        lines, sleeps = [], []
        outcome = wait_for_execution(_ScriptedClient(timeline), "arn:x", poll_seconds=5,
                                     echo=lines.append, sleep=sleeps.append)
        assert lines == ["  PreprocessData: Executing", "  PreprocessData: Succeeded",
                         "  TuneEnsemble: Executing",
                         "  TuneEnsemble: Failed (AlgorithmError: bad eta)"]
        assert outcome.status == "Failed"
        assert outcome.failed_steps == [("TuneEnsemble", "AlgorithmError: bad eta")]
        assert sleeps == [5, 5, 5]

    def test_wait_is_the_default_and_exit_status_follows_the_outcome(self, aws, monkeypatch):
        seen = {}

        def fake_wait(client, arn, poll_seconds):
            seen["arn"] = arn
            from pipelines.execution_poller import ExecutionOutcome
            return ExecutionOutcome("Failed", "Step failure", [("TuneEnsemble", "x")])

        monkeypatch.setattr(run_pipeline, "wait_for_execution", fake_wait)
        code = run_pipeline.main(["-n", MODULE, "--role-arn", ROLE,
                                  "--kwargs", json.dumps({"region": "us-east-1", "role": ROLE})])
        assert code == 1
        assert seen["arn"].startswith("arn:aws:sagemaker:us-east-1:123456789012:pipeline/")


    def test_a_tracker_that_cannot_be_reached_after_the_wait_is_one_warning(
            self, aws, monkeypatch, capsys):
        from pipelines.execution_poller import ExecutionOutcome

        monkeypatch.setattr(run_pipeline, "wait_for_execution",
                            lambda client, arn, poll_seconds: ExecutionOutcome(
                                "Succeeded", None, []))
        uri = "http://127.0.0.1:9"  # the discard port: nothing listens
        code = run_pipeline.main(["-n", MODULE, "--role-arn", ROLE, "--tracking-uri", uri,
                                  "--kwargs", json.dumps({"region": "us-east-1", "role": ROLE})])
        assert code == 0
        warnings = [line for line in capsys.readouterr().err.splitlines()
                    if line.startswith("tracking:")]
        assert len(warnings) == 1
        assert warnings[0].startswith(f"tracking: the execution was not logged to MLflow at {uri}")

class TestParallelism:
    def test_max_parallel_steps_is_set_on_the_pipeline_and_the_execution(self, aws):
        assert _run("--max-parallel-steps", "3") == 0
        described = aws.describe_pipeline(PipelineName="StackedEnsemblePipeline")
        assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 3}

    def test_max_parallel_steps_must_be_positive(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            run_pipeline.main(["-n", MODULE, "--max-parallel-steps", "0"])
        assert exit_info.value.code == 2
        assert "must be a whole number of at least 1, got '0'" in capsys.readouterr().err


DEFAULT_BUCKET = "sagemaker-us-east-1-123456789012"  # the SDK's default bucket under moto
PIPELINE = "StackedEnsemblePipeline"


def _input(value: str) -> tuple[str, str]:
    return "--parameters", json.dumps({"InputDataUrl": value})


def _keys(bucket: str, prefix: str = "") -> list[str]:
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=bucket,
                                                                          Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def _execution_parameters(aws) -> dict[str, str]:
    (execution,) = aws.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"]
    listed = aws.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"])
    return {p["Name"]: p["Value"] for p in listed["PipelineParameters"]}


class TestInputDataOnAws:
    def test_local_path_is_uploaded_under_its_hash_before_the_execution_starts(
            self, aws, tmp_path, monkeypatch, capsys):
        from sagemaker.mlops.workflow.pipeline import Pipeline

        data = tmp_path / "houses.csv"
        data.write_text("size,price\n50,100\n70,140\n")
        digest = hashlib.sha256(data.read_bytes()).hexdigest()[:16]
        key = f"{PIPELINE}/input-data/{digest}/houses.csv"
        present_at_start = []
        start = Pipeline.start

        def recording_start(self, **kwargs):
            present_at_start.append(_keys(DEFAULT_BUCKET, key) == [key])
            return start(self, **kwargs)

        monkeypatch.setattr(Pipeline, "start", recording_start)
        assert _run(*_input(str(data))) == 0

        assert present_at_start == [True]
        body = boto3.client("s3").get_object(Bucket=DEFAULT_BUCKET, Key=key)["Body"].read()
        assert body == data.read_bytes()
        assert _execution_parameters(aws) == {"InputDataUrl": f"s3://{DEFAULT_BUCKET}/{key}"}
        assert _keys(DEFAULT_BUCKET, f"{PIPELINE}/sample-data/") == []
        assert f"InputDataUrl {data} -> s3://{DEFAULT_BUCKET}/{key} (staged 1 of 1" in (
            capsys.readouterr().err)

    @pytest.mark.parametrize("uri", ["s3://user-data/missing.csv", "s3://user-data/folder/",
                                     "s3://no-such-bucket/data.csv"])
    def test_missing_s3_data_is_refused_before_anything_is_sent(self, aws, capsys, uri):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="user-data")
        s3.put_object(Bucket="user-data", Key="folder/", Body=b"")  # the console's marker
        assert _run(*_input(uri)) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"run-pipeline: error: InputDataUrl {uri} does not exist in S3: pass a local "
            "path (--parameters '{\"InputDataUrl\": "
            f"\"./data.csv\"}}') or upload it yourself (aws s3 cp data.csv {uri})"]
        assert aws.list_pipelines()["PipelineSummaries"] == []
        assert _keys("user-data") == ["folder/"]
        assert _keys(DEFAULT_BUCKET, f"{PIPELINE}/sample-data/") == []

    def test_s3_failing_after_its_retries_is_exit_1_in_one_line(self, aws, capsys, monkeypatch):
        from botocore.exceptions import ClientError

        def throttle(params, **_):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your rate"}},
                              "ListObjectsV2")

        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [
            *botocore.handlers.BUILTIN_HANDLERS, ("before-call.s3.ListObjectsV2", throttle)])
        assert _run(*_input("s3://user-data/data.csv")) == 1
        [line] = capsys.readouterr().err.splitlines()[-1:]
        assert line.startswith("run-pipeline: AWS error (S3 still failing after retries; run "
                               "again): SlowDown on s3://user-data/data.csv")
        assert aws.list_pipelines()["PipelineSummaries"] == []

    def test_access_denied_on_the_check_warns_and_starts(self, aws, capsys, monkeypatch):
        from botocore.exceptions import ClientError

        def deny_listing(params, **_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                              "ListObjectsV2")

        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [
            *botocore.handlers.BUILTIN_HANDLERS, ("before-call.s3.ListObjectsV2", deny_listing)])
        uri = "s3://someone-elses-bucket/data.csv"
        assert _run(*_input(uri)) == 0

        assert _execution_parameters(aws) == {"InputDataUrl": uri}
        assert (f"InputDataUrl {uri}: could not check that it exists (AccessDenied: Access "
                "Denied); starting anyway") in capsys.readouterr().err

    def test_the_default_is_seeded_with_sample_data_once(self, aws, capsys):
        from pipelines.stacked_ensemble.sample_data import sample_csv

        assert _run() == 0
        assert _run() == 0

        key = f"{PIPELINE}/sample-data/diabetes.csv"
        body = boto3.client("s3").get_object(Bucket=DEFAULT_BUCKET, Key=key)["Body"].read()
        assert body == sample_csv("regression")
        assert capsys.readouterr().err.count(
            f"seeded s3://{DEFAULT_BUCKET}/{key} with sample data") == 1


class TestSelectiveExecutionOnAws:
    def test_steps_start_a_selective_execution_from_the_source(self, aws, monkeypatch):
        sent: list[dict] = []
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [
            *botocore.handlers.BUILTIN_HANDLERS,
            ("before-parameter-build.sagemaker.StartPipelineExecution",
             lambda params, **_: sent.append(params))])
        source = ("arn:aws:sagemaker:us-east-1:123456789012:pipeline/stackedensemblepipeline/"
                  "execution/abc123")
        assert _run("--steps", "TuneEnsemble,EvaluateEnsemble", "--source-execution",
                    source) == 0
        assert sent[-1]["SelectiveExecutionConfig"] == {
            "SourcePipelineExecutionArn": source,
            "SelectedSteps": [{"StepName": "TuneEnsemble"}, {"StepName": "EvaluateEnsemble"}]}

    def test_unknown_steps_are_refused_before_anything_starts(self, aws, capsys):
        assert _run("--steps", "Train") == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err == ("run-pipeline: error: --steps Train: not step(s) of "
                       "StackedEnsemblePipeline; its steps: PreprocessData, TuneEnsemble, "
                       "EvaluateEnsemble, CheckQuality, RegisterEnsemble, QualityTooLow")
        assert aws.list_pipelines()["PipelineSummaries"] == []
