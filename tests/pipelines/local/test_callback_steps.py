"""Callback steps: SageMaker's message, delivered as SQS events to the project's real Lambda.

The consumer is `lambdas.mapping_callback.handler.handle_event` with the local ports the
runner passes (LocalObjectStore, FileCallbacks); a wrapper records each event it receives.
"""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from lambdas.mapping_callback.handler import handle_event
from pipelines.local import CallbackOptions, run_local_pipeline
from pipelines.local.sqs_events import InvalidQueueUrl, parse_queue_url
from pipelines.local.store import local_store
from runtime.ports.local_callbacks import read_callback
from runtime.ports.object_store import LocalObjectStore, TransientStoreError

from . import definitions as d
from . import runner_fixtures as f

pytestmark = pytest.mark.integration

FAST = CallbackOptions(visibility_timeout_s=0.05, batch_window_s=0.5)


class _FlakyStore(LocalObjectStore):
    """The first read of one object fails as a throttled S3 GetObject would."""

    def __init__(self, root: Path, flaky_uri: str, failed: set[str]):
        super().__init__(root)
        self._flaky_uri, self._failed = flaky_uri, failed

    def read_bytes(self, uri: str) -> bytes:
        if uri == self._flaky_uri and uri not in self._failed:
            self._failed.add(uri)
            raise TransientStoreError(f"SlowDown on {uri}")
        return super().read_bytes(uri)


def recording_lambda(events: list[dict], flaky_suffix: str | None = None):
    """The project's Lambda, recording its events; optionally one archive read fails once."""
    failed: set[str] = set()

    def consumer(event, context, *, store, callbacks, max_receive_count):
        events.append(json.loads(json.dumps(event)))
        if flaky_suffix:
            flaky = next((json.loads(r["body"])["arguments"]["model_artifact"]
                          for r in event["Records"]
                          if flaky_suffix in json.loads(r["body"])["arguments"]["step_name"]),
                         None)
            if flaky:
                store = _FlakyStore(store.root, flaky.replace("model.tar.gz", "output.tar.gz"),
                                    failed)
        return handle_event(event, context, store=store, callbacks=callbacks,
                            max_receive_count=max_receive_count)

    return consumer


def _run(definition, root, consumer, **kwargs):
    kwargs.setdefault("callback_options", FAST)
    return run_local_pipeline(definition, local_root=root, live=False, max_workers=2,
                              callback_consumers={f.QUEUE_URL: consumer}, **kwargs)


def _model_member(root: Path, model_uri: str, member: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(local_store(root).read_bytes(model_uri))) as archive:
        return archive.extractfile(member).read()


@pytest.fixture
def topics_root(local_root: Path) -> Path:
    f.seed_summary(local_store(local_root))
    return local_root


class TestCallbackOutputFeedsTraining:
    def test_mapping_uri_reaches_the_next_training_channel(self, topics_root: Path):
        events: list[dict] = []
        execution = _run(f.topics_definition(), topics_root, recording_lambda(events))

        assert execution.status == "Succeeded", execution.failure_reason
        outputs = execution.steps["MapLayer1"].properties["OutputParameters"]
        expected = (f"s3://{d.BUCKET}/topics/executions/{execution.execution_id}/MapLayer1/"
                    "layer-1/mapping.json")
        assert outputs == {"mapping_uri": expected, "topics": "2", "recluster_count": "1"}
        mapping = local_store(topics_root).read_bytes(expected)
        layer2 = execution.steps["Layer2"].properties["ModelArtifacts"]["S3ModelArtifacts"]
        assert _model_member(topics_root, layer2, "mapping/mapping.json") == mapping
        assert json.loads(mapping)["layer"] == 1

    def test_the_event_is_what_sqs_delivers_for_sagemakers_message(self, topics_root: Path):
        events: list[dict] = []
        execution = _run(f.topics_definition(), topics_root, recording_lambda(events))

        (record,) = events[0]["Records"]
        body = json.loads(record["body"])
        token = body["token"]
        assert len(token) == 10 and token.isalnum()
        layer1_model = execution.steps["Layer1"].properties["ModelArtifacts"]["S3ModelArtifacts"]
        assert body == {"token": token, "pipelineExecutionArn": execution.execution_arn,
                        "status": "Executing", "arguments": {
                            "step_name": "MapLayer1", "layer": "1",
                            "model_artifact": layer1_model, "previous_mapping": "",
                            "overrides": "", "review_mode": "false",
                            "output_prefix": f"s3://{d.BUCKET}/topics/executions/"
                                             f"{execution.execution_id}"}}
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == f.QUEUE_ARN
        assert record["awsRegion"] == "us-east-1"
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["messageId"] and record["receiptHandle"]
        assert read_callback(topics_root, token)["status"] == "Succeeded"


class TestRedelivery:
    def test_mixed_batch_transient_failure_is_redelivered_then_succeeds(self, topics_root):
        events: list[dict] = []
        # a long batching window, so both messages surely land in one event
        execution = _run(f.two_layers_definition(), topics_root,
                         recording_lambda(events, flaky_suffix="MapA"),
                         callback_options=CallbackOptions(visibility_timeout_s=0.05,
                                                          batch_window_s=1.5))

        assert execution.status == "Succeeded", execution.failure_reason
        first, second = events
        bodies = {json.loads(r["body"])["arguments"]["step_name"]: r for r in first["Records"]}
        assert sorted(bodies) == ["MapA", "MapB"]
        assert [r["attributes"]["ApproximateReceiveCount"] for r in first["Records"]] == ["1", "1"]
        (again,) = second["Records"]
        assert again["messageId"] == bodies["MapA"]["messageId"]
        assert again["receiptHandle"] != bodies["MapA"]["receiptHandle"]
        assert again["attributes"]["ApproximateReceiveCount"] == "2"
        for step in ("MapA", "MapB"):
            uri = execution.steps[step].properties["OutputParameters"]["mapping_uri"]
            assert local_store(topics_root).exists(uri)

    def test_failures_on_every_receive_dead_letter_the_message(self, topics_root: Path):
        receives = []

        def always_failing(event, context):
            receives.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                          for r in event["Records"]]}

        execution = _run(f.topics_definition(), topics_root, always_failing,
                         callback_options=CallbackOptions(max_receive_count=4,
                                                          visibility_timeout_s=0.05))

        assert receives == ["1", "2", "3", "4"]
        record = execution.steps["MapLayer1"]
        assert record.status == "Failed"
        assert record.failure_reason == (
            "the consumer of mapping-updates failed the message on all 4 receives (moved to "
            "the dead-letter queue): reported as a batch item failure")
        assert execution.steps["Layer2"].status == "NotRun"


class TestPermanentFailure:
    def test_the_lambdas_reason_fails_the_step(self, topics_root: Path):
        definition = f.topics_definition()
        definition["Steps"][0] = f.relay_training("Layer1", {"data": d.DATA})  # no summary
        execution = _run(definition, topics_root, recording_lambda([]))

        record = execution.steps["MapLayer1"]
        assert execution.status == "Failed"
        assert record.status == "Failed"
        assert record.failure_reason.startswith("the callback was answered with a failure: s3://")
        assert record.failure_reason.endswith("/output/output.tar.gz holds no topic_summary.json:"
                                              " the layer's training job must write it to "
                                              "SM_OUTPUT_DATA_DIR")
        assert execution.steps["Layer2"].status == "NotRun"

    def test_a_queue_without_consumer_says_how_to_register_one(self, topics_root: Path):
        other = "https://sqs.eu-west-1.amazonaws.com/123456789012/elsewhere"
        execution = _run(f.topics_definition(), topics_root, recording_lambda([]),
                         parameters={"MappingQueueUrl": other})

        assert execution.steps["MapLayer1"].failure_reason == (
            f"no callback consumer is registered for queue {other} (registered: {f.QUEUE_URL});"
            f" register one with run-pipeline --local --callback '{other}=module:function' or "
            f"run_local_pipeline(callback_consumers={{'{other}': handler}})")

    def test_a_malformed_queue_url_fails_the_step(self, topics_root: Path):
        execution = run_local_pipeline(
            f.topics_definition(), local_root=topics_root, live=False,
            parameters={"MappingQueueUrl": "mapping-updates"},
            callback_consumers={"mapping-updates": recording_lambda([])})

        assert execution.steps["MapLayer1"].failure_reason == (
            "callback queue URL 'mapping-updates' is not an SQS queue URL; expected "
            "https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE_NAME")


def _wait_for_proposal(root: Path, stop: threading.Event) -> str | None:
    store = local_store(root)
    while not stop.is_set():
        found = [u for u in store.list_uris(f"s3://{d.BUCKET}/topics/executions/")
                 if u.endswith("/proposal.json")]
        if found:
            return found[0]
        time.sleep(0.05)
    return None


class TestReviewMode:
    def test_waits_until_mapping_review_accepts_from_another_process(self, topics_root: Path,
                                                                     caplog):
        accepted: list[subprocess.CompletedProcess] = []
        done = threading.Event()

        def reviewer() -> None:
            proposal = _wait_for_proposal(topics_root, done)
            if proposal:
                accepted.append(subprocess.run(
                    [sys.executable, "-m", "pipelines.cli.mapping_review", "accept", proposal,
                     "--local", str(topics_root)], capture_output=True, text=True, timeout=120))

        thread = threading.Thread(target=reviewer)
        thread.start()
        try:
            with caplog.at_level(logging.INFO, logger="pipelines.local"):
                execution = _run(f.topics_definition(review=True), topics_root,
                                 recording_lambda([]))
        finally:
            done.set()
            thread.join()

        assert accepted and accepted[0].returncode == 0, accepted and accepted[0].stderr
        assert execution.status == "Succeeded", execution.failure_reason
        mapping_uri = execution.steps["MapLayer1"].properties["OutputParameters"]["mapping_uri"]
        proposal = mapping_uri.replace("mapping.json", "proposal.json")
        assert f"accepted: {mapping_uri}; the step goes on" in accepted[0].stdout
        assert json.loads(local_store(topics_root).read_bytes(mapping_uri))["reviewed"] is True
        token = json.loads(local_store(topics_root).read_bytes(proposal))["token"]
        assert (f"step MapLayer1 is waiting for an answer to token {token}: run "
                f"`mapping-review accept {proposal} --local {topics_root}` (or reject)"
                in caplog.text)

    def test_times_out_when_nobody_answers(self, topics_root: Path):
        options = CallbackOptions(visibility_timeout_s=0.05, answer_timeout_s=1.0)
        execution = _run(f.topics_definition(review=True), topics_root, recording_lambda([]),
                         callback_options=options)

        reason = execution.steps["MapLayer1"].failure_reason
        assert reason.startswith("no answer to callback token ")
        assert reason.endswith(" within 1s (the callback timeout)")


class TestQueueUrl:
    @pytest.mark.parametrize("url, arn", [
        (f.QUEUE_URL, f.QUEUE_ARN),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo",
         "arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo"),
        ("https://eu-west-1.queue.amazonaws.com/123456789012/q",
         "arn:aws:sqs:eu-west-1:123456789012:q"),
        ("https://queue.amazonaws.com/123456789012/q", "arn:aws:sqs:us-east-1:123456789012:q"),
        ("http://localhost:4566/000000000000/q", "arn:aws:sqs:local:000000000000:q"),
    ])
    def test_arn_is_derived_from_the_url(self, url, arn):
        assert parse_queue_url(url).arn == arn

    def test_not_a_queue_url(self):
        with pytest.raises(InvalidQueueUrl, match=r"callback queue URL 'https://example.com/q' "
                                                  r"is not an SQS queue URL"):
            parse_queue_url("https://example.com/q")
