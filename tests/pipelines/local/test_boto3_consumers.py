"""AWS code runs unchanged locally: a template-style module whose Lambda function and callback
consumer use plain boto3 (module-level clients, no ports, no credentials) runs end to end,
its S3 calls against the local store and its SendPipelineExecutionStepSuccess against the
waiting step; a call to any other service is refused, naming it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local import CallbackOptions, capture_definition, run_local_pipeline
from pipelines.local.store import local_store

from . import boto3_pipeline as module

pytestmark = pytest.mark.integration


def _run(root: Path, consumer, **parameters):
    definition = capture_definition(lambda: module.get_pipeline().definition(), root)
    return run_local_pipeline(definition, parameters, local_root=root, live=False,
                              callback_consumers={module.QUEUE_URL: consumer},
                              lambda_functions={"seed-rows": module.seed_rows})


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")


class TestBoto3Code:
    def test_lambda_and_consumer_run_against_the_local_store(self, tmp_path, no_credentials):
        execution = _run(tmp_path, module.summarise_rows)

        assert execution.status == "Succeeded", execution.failure_reason
        prefix = f"s3://boto3-bucket/runs/{execution.execution_id}"
        outputs = execution.steps["Map"].properties["OutputParameters"]
        assert outputs == {"summary_uri": f"{prefix}/summary.json", "row_count": 5}
        store = local_store(tmp_path)
        assert json.loads(store.read_bytes(f"{prefix}/summary.json")) == {
            "rows": 5, "bytes": len(store.read_bytes(f"{prefix}/rows.jsonl"))}
        assert store.list_uris(prefix + "/") == [f"{prefix}/rows.jsonl", f"{prefix}/summary.json"]

    def test_the_condition_reads_the_callbacks_output(self, tmp_path, no_credentials):
        execution = _run(tmp_path, module.summarise_rows, Rows=2)

        assert execution.status == "Failed"
        assert execution.steps["TooFew"].status == "Failed"
        assert "fewer rows than MinimumRows" in execution.failure_reason

    def test_a_call_to_another_service_is_refused_naming_it(self, tmp_path, no_credentials):
        definition = capture_definition(lambda: module.get_pipeline().definition(), tmp_path)
        execution = run_local_pipeline(
            definition, local_root=tmp_path, live=False,
            callback_consumers={module.QUEUE_URL: module.summarise_with_a_queue},
            callback_options=CallbackOptions(max_receive_count=1),
            lambda_functions={"seed-rows": module.seed_rows})

        assert execution.status == "Failed"
        reason = execution.steps["Map"].failure_reason
        assert "sqs:SendMessage is not available in a local run" in reason


class TestTheProjectsLambdaBothWays:
    """The mapping Lambda's AWS entry point (`lambda_handler`: boto3 ports, built lazily) runs
    locally unchanged and answers as its port-taking entry point (`handle_event`) does."""

    def _run(self, root: Path, consumer):
        from pipelines.local.store import local_store as store_of

        from . import definitions as d
        from . import runner_fixtures as f

        d.upload_code(store_of(root))
        f.seed_summary(store_of(root))
        return run_local_pipeline(f.topics_definition(), local_root=root, live=False,
                                  callback_consumers={f.QUEUE_URL: consumer},
                                  callback_options=CallbackOptions(batch_window_s=0.05))

    def test_lambda_handler_and_handle_event_give_the_same_mapping(self, tmp_path, local_root,
                                                                   no_credentials, monkeypatch):
        from lambdas.mapping_callback import handler

        monkeypatch.setenv(handler.MAX_RECEIVE_COUNT_ENV, "3")
        handler._aws_ports.cache_clear()
        aws = self._run(local_root, handler.lambda_handler)
        handler._aws_ports.cache_clear()
        ports = self._run(tmp_path / "ports", handler.handle_event)

        assert aws.status == "Succeeded", aws.failure_reason
        assert ports.status == "Succeeded", ports.failure_reason
        outputs = [e.steps["MapLayer1"].properties["OutputParameters"] for e in (aws, ports)]
        assert {k: v for k, v in outputs[0].items() if k != "mapping_uri"} == {
            k: v for k, v in outputs[1].items() if k != "mapping_uri"}
        mappings = [json.loads(local_store(root).read_bytes(o["mapping_uri"]))
                    for root, o in ((local_root, outputs[0]), (tmp_path / "ports", outputs[1]))]
        assert mappings[0]["topics"] == mappings[1]["topics"]
