"""The mapping callback handler on SQS events from tests/events: moto S3, stubbed SageMaker."""
from __future__ import annotations

import hashlib
import io
import json
import logging
from types import SimpleNamespace

import boto3
import pytest

from lambdas.mapping_callback import handler
from lambdas.mapping_callback.messages import sqs_event
from runtime.ports.local_callbacks import FileCallbacks, read_callback
from runtime.ports.object_store import LocalObjectStore
from tests.lambdas.mapping_callback.mapping_fixtures import (
    ARTIFACT_1,
    ARTIFACT_2,
    BUCKET,
    EXECUTION_ARN,
    MAPPING_1,
    MAPPING_2,
    OUTPUT_PREFIX,
    OVERRIDES,
    REGION,
    layer1_summary,
    layer2_summary,
    load_event,
    output_archive,
    summary_uri,
    throttle,
)

NO_FAILURES = {"batchItemFailures": []}


def run(event_name: str, store, callbacks, max_receive_count: int = 3) -> dict:
    return handler.handle_event(load_event(event_name), None, store=store, callbacks=callbacks,
                                max_receive_count=max_receive_count)


def crt(token: str, outcome: str, detail: str) -> str:
    return hashlib.sha256(f"{token}|{outcome}|{detail}".encode()).hexdigest()


def expect_success(stubber, token: str, uri: str, topics: str, recluster: str,
                   error: str | None = None) -> None:
    params = {"CallbackToken": token, "ClientRequestToken": crt(token, "success", uri),
              "OutputParameters": [{"Name": "mapping_uri", "Value": uri},
                                   {"Name": "topics", "Value": topics},
                                   {"Name": "recluster_count", "Value": recluster}]}
    if error:
        stubber.add_client_error("send_pipeline_execution_step_success", service_error_code=error,
                                 http_status_code=400, expected_params=params)
    else:
        stubber.add_response("send_pipeline_execution_step_success",
                             {"PipelineExecutionArn": EXECUTION_ARN}, params)


def expect_failure(stubber, token: str, reason: str, sent: str | None = None) -> None:
    stubber.add_response(
        "send_pipeline_execution_step_failure", {"PipelineExecutionArn": EXECUTION_ARN},
        {"CallbackToken": token, "FailureReason": reason if sent is None else sent,
         "ClientRequestToken": crt(token, "failure", reason)})


@pytest.fixture
def json_logs():
    """The handler's structured log lines, formatted exactly as Lambda would print them."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler.logger.registered_formatter)
    target = logging.getLogger(handler.logger.service)
    target.addHandler(capture)
    yield stream
    target.removeHandler(capture)


def read_json(store, uri: str) -> dict:
    return json.loads(store.read_bytes(uri))


class TestHappyPath:
    def test_layer_1_writes_the_mapping_and_answers_success(self, layer1_inputs, callbacks,
                                                            stubber):
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")

        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES

        mapping = read_json(layer1_inputs, MAPPING_1)
        assert mapping["layer"] == 1 and mapping["recluster"] == ["1:0"]
        assert [(t["id"], t["action"], t["merge_into"]) for t in mapping["topics"]] == [
            ("1:0", "split", None), ("1:1", "keep", None), ("1:2", "keep", None),
            ("1:3", "merge", "1:2"), ("1:4", "keep", None)]
        assert mapping["topics"][0]["label"] == "football, club, league"

    def test_the_mapping_records_the_breadth_figures_and_the_reason_for_each_action(
            self, layer1_inputs, callbacks, stubber):
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")

        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES

        topics = {t["id"]: t for t in read_json(layer1_inputs, MAPPING_1)["topics"]}
        assert {tid: (t["dispersion"], t["breadth"], t["split_silhouette"], t["subtopics"])
                for tid, t in topics.items()} == {
            "1:0": (0.62, 1.55, 0.21, 2), "1:1": (0.30, 0.75, 0.02, None),
            "1:2": (0.45, 1.125, None, None), "1:3": (0.35, 0.875, None, None),
            "1:4": (0.40, 1.0, None, None)}
        assert topics["1:0"]["reason"] == ("split: breadth 1.55 >= 1 (dispersion 0.620) and the "
                                           "k=2 split has silhouette 0.210 >= 0.1")
        assert topics["1:1"]["reason"] == "keep: breadth 0.75 < 1 (dispersion 0.300): a tight topic"
        assert topics["1:2"]["reason"] == ("keep: breadth 1.12 >= 1 (dispersion 0.450), but 25 "
                                           "documents, fewer than the 40 a split needs")
        assert topics["1:3"]["reason"].startswith("merge: its top keywords overlap 1:2's by 0.67")

    def test_layer_2_extends_the_layer_1_mapping(self, layer1_inputs, callbacks, stubber):
        layer1_inputs.write_bytes(summary_uri(ARTIFACT_2), output_archive(layer2_summary()))
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")
        expect_success(stubber, "Layer2Tok1", MAPPING_2, topics="2", recluster="0")

        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES
        assert run("mapping_layer2", layer1_inputs, callbacks) == NO_FAILURES

        mapping = read_json(layer1_inputs, MAPPING_2)
        assert mapping["layer"] == 2 and mapping["recluster"] == []
        assert [(t["id"], t["parent"], t["action"]) for t in mapping["topics"][-2:]] == [
            ("2:0", "1:0", "keep"), ("2:1", "1:0", "keep")]
        assert mapping["topics"][:5] == read_json(layer1_inputs, MAPPING_1)["topics"]

    def test_overrides_win_over_the_proposal(self, layer1_inputs, callbacks, stubber):
        layer1_inputs.write_bytes(OVERRIDES, json.dumps({"topics": {
            "1:0": {"action": "keep", "label": "sport"}, "1:3": {"action": "keep"}}}).encode())
        uri = f"{OUTPUT_PREFIX}/MapLayer1/layer-1/mapping.json"
        expect_success(stubber, "Layer1Tok2", uri, topics="5", recluster="0")

        assert run("mapping_layer1_overrides", layer1_inputs, callbacks) == NO_FAILURES

        topics = {t["id"]: t for t in read_json(layer1_inputs, uri)["topics"]}
        assert (topics["1:0"]["label"], topics["1:0"]["renamed_from"], topics["1:0"]["action"]) \
            == ("sport", "football, club, league", "keep")
        assert topics["1:3"]["action"] == "keep"

    def test_the_handler_runs_the_same_on_local_ports(self, tmp_path):
        store = LocalObjectStore(tmp_path)
        store.write_bytes(summary_uri(ARTIFACT_1), output_archive(layer1_summary()))

        assert run("mapping_layer1", store, FileCallbacks(tmp_path)) == NO_FAILURES

        answer = read_callback(tmp_path, "Layer1Tok1")
        assert answer == {"token": "Layer1Tok1", "status": "Succeeded",
                          "client_request_token": crt("Layer1Tok1", "success", MAPPING_1),
                          "outputs": {"mapping_uri": MAPPING_1, "topics": "5",
                                      "recluster_count": "1"}}
        assert (tmp_path / BUCKET / MAPPING_1.split(f"{BUCKET}/", 1)[1]).is_file()


class TestAtLeastOnce:
    def test_a_duplicate_gives_the_same_object_and_a_conflict_is_only_logged(
            self, layer1_inputs, callbacks, stubber):
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1",
                       error="ConflictException")

        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES
        first = layer1_inputs.read_bytes(MAPPING_1)
        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES

        assert layer1_inputs.read_bytes(MAPPING_1) == first
        assert layer1_inputs.list_uris(OUTPUT_PREFIX + "/") == [MAPPING_1]

    def test_a_different_existing_mapping_is_never_overwritten(self, layer1_inputs, callbacks,
                                                                stubber):
        layer1_inputs.write_bytes(MAPPING_1, b'{"someone": "else"}')
        reason = (f"a different mapping already exists at {MAPPING_1}; it is never overwritten")
        expect_failure(stubber, "Layer1Tok1", reason)

        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES
        assert layer1_inputs.read_bytes(MAPPING_1) == b'{"someone": "else"}'


class TestPermanentFailures:
    def test_stopping_fails_the_step(self, store, callbacks, stubber):
        expect_failure(stubber, "StopTok001", "the pipeline execution was stopped before this "
                                              "mapping step could complete")
        assert run("mapping_stopping", store, callbacks) == NO_FAILURES

    def test_malformed_json_with_a_readable_token_fails_the_step(self, store, callbacks,
                                                                   stubber):
        expect_failure(stubber, "BadJson001",
                       "callback message is not valid JSON (Expecting value at line 1 column 192)")
        assert run("mapping_malformed_json", store, callbacks) == NO_FAILURES

    def test_missing_fields_fail_the_step_naming_them(self, store, callbacks, stubber):
        expect_failure(stubber, "MissTok001", "invalid callback arguments: model_artifact: "
                                              "Field required; output_prefix: Field required")
        assert run("mapping_missing_fields", store, callbacks) == NO_FAILURES

    def test_a_missing_object_fails_the_step(self, store, callbacks, stubber):
        expect_failure(stubber, "NoObjTok01", f"no layer output archive at s3://{BUCKET}/"
                       "sequential-topics/jobs/never-ran/output/output.tar.gz")
        assert run("mapping_missing_object", store, callbacks) == NO_FAILURES

    def test_an_over_long_reason_is_cut_to_256_characters(self, store, callbacks, stubber):
        body = json.loads(load_event("mapping_long_reason")["Records"][0]["body"])
        archive = summary_uri(body["arguments"]["model_artifact"])
        reason = f"no layer output archive at {archive}"
        assert len(reason) > 256
        expect_failure(stubber, "LongTok001", reason, sent=reason[:253] + "...")
        assert run("mapping_long_reason", store, callbacks) == NO_FAILURES

    def test_an_archive_without_a_summary_fails_the_step(self, store, callbacks, stubber):
        store.write_bytes(summary_uri(ARTIFACT_1), output_archive(None, {"metrics.json": b"{}"}))
        expect_failure(stubber, "Layer1Tok1", f"{summary_uri(ARTIFACT_1)} holds no "
                       "topic_summary.json: the layer's training job must write it to "
                       "SM_OUTPUT_DATA_DIR")
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES

    def test_an_archive_that_is_not_a_tarball_fails_the_step(self, store, callbacks, stubber):
        store.write_bytes(summary_uri(ARTIFACT_1), b"not a tarball")
        expect_failure(stubber, "Layer1Tok1", f"{summary_uri(ARTIFACT_1)} is not a readable tar "
                                              "archive (ReadError); SageMaker writes "
                                              "output.tar.gz as a "
                                              "gzip-compressed tar")
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES

    def test_an_override_for_an_unknown_topic_fails_the_step(self, layer1_inputs, callbacks,
                                                             stubber):
        layer1_inputs.write_bytes(OVERRIDES, b'{"topics": {"1:9": {"label": "x"}}}')
        expect_failure(stubber, "Layer1Tok2", "overrides name topics ['1:9'] that layer 1 does "
                                              "not have (it has 1:0, 1:1, 1:2, 1:3, 1:4)")
        assert run("mapping_layer1_overrides", layer1_inputs, callbacks) == NO_FAILURES

    def test_an_override_file_that_does_not_validate_fails_the_step(self, layer1_inputs,
                                                                    callbacks, stubber):
        layer1_inputs.write_bytes(OVERRIDES, b'{"topics": {"1:0": {"action": "delete"}}}')
        expect_failure(stubber, "Layer1Tok2", f"overrides {OVERRIDES} is not a valid "
                       "MappingOverrides: topics.1:0.action: Input should be 'keep', 'split' or "
                       "'merge'")
        assert run("mapping_layer1_overrides", layer1_inputs, callbacks) == NO_FAILURES


class TestTransientFailures:
    def test_throttling_becomes_a_batch_item_failure_without_a_callback(self, s3, store,
                                                                        tmp_path):
        store.write_bytes(summary_uri(ARTIFACT_1), output_archive(None))
        throttle(s3, summary_uri(ARTIFACT_1).split(f"{BUCKET}/", 1)[1])

        response = run("mapping_layer1", store, FileCallbacks(tmp_path))

        assert response == {"batchItemFailures": [
            {"itemIdentifier": "00000001-aaaa-4bbb-8ccc-000000000001"}]}
        assert read_callback(tmp_path, "Layer1Tok1") is None

    def test_the_last_receive_sends_a_failure_callback(self, s3, store, callbacks, stubber):
        throttle(s3, summary_uri(ARTIFACT_1).split(f"{BUCKET}/", 1)[1])
        expect_failure(stubber, "Layer1Tok1",
                       f"gave up after 3 attempts: TransientStoreError: SlowDown on "
                       f"{summary_uri(ARTIFACT_1)}: An error occurred (SlowDown) when calling "
                       "the GetObject operation: Please reduce your request rate.")
        assert run("mapping_last_receive", store, callbacks) == NO_FAILURES

    def test_one_bad_record_never_fails_its_neighbours(self, s3, layer1_inputs, callbacks,
                                                       stubber, json_logs):
        throttled = summary_uri(ARTIFACT_1.replace("layer-1-", "layer-1b-"))
        throttle(s3, throttled.split(f"{BUCKET}/", 1)[1])
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")
        expect_failure(stubber, "MissTok001", "invalid callback arguments: model_artifact: "
                                              "Field required; output_prefix: Field required")

        response = run("mapping_mixed_batch", layer1_inputs, callbacks)

        assert response == {"batchItemFailures": [
            {"itemIdentifier": "00000004-aaaa-4bbb-8ccc-000000000004"}]}
        lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
        assert lines and all({"execution_arn", "step_name", "message_id"} <= set(line)
                             for line in lines)
        assert {(line["message_id"][-1], line["execution_arn"], line["step_name"])
                for line in lines} >= {("1", EXECUTION_ARN, "MapLayer1"), ("2", "unknown",
                                        "unknown"), ("4", EXECUTION_ARN, "MapLayer1b")}


class TestReviewMode:
    def test_the_lambda_proposes_and_mapping_review_accepts(self, layer1_inputs, callbacks,
                                                            stubber):
        from pipelines.cli import mapping_review

        assert run("mapping_layer1_review", layer1_inputs, callbacks) == NO_FAILURES
        proposal_uri = f"{OUTPUT_PREFIX}/MapLayer1/layer-1/proposal.json"
        proposal = read_json(layer1_inputs, proposal_uri)
        assert (proposal["token"], proposal["mapping_uri"]) == ("Layer1Tok3", MAPPING_1)
        assert not layer1_inputs.exists(MAPPING_1)

        expect_success(stubber, "Layer1Tok3", MAPPING_1, topics="5", recluster="1")
        assert mapping_review.main(["accept", proposal_uri],
                                   ports=(layer1_inputs, callbacks)) == 0

        accepted = read_json(layer1_inputs, MAPPING_1)
        assert accepted == {**proposal["mapping"], "reviewed": True}


class TestSqsRoundTrip:
    def test_a_message_from_a_moto_queue_is_processed_and_deleted(self, layer1_inputs, callbacks,
                                                                  stubber):
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="mapping-callbacks")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sqs.send_message(QueueUrl=queue_url,
                         MessageBody=load_event("mapping_layer1")["Records"][0]["body"])
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       MessageSystemAttributeNames=["All"])["Messages"]
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION}
            for m in received]}
        expect_success(stubber, "Layer1Tok1", MAPPING_1, topics="5", recluster="1")

        response = handler.handle_event(event, None, store=layer1_inputs, callbacks=callbacks,
                                        max_receive_count=3)

        assert response == NO_FAILURES
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in received:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        assert attributes == {"ApproximateNumberOfMessages": "0",
                              "ApproximateNumberOfMessagesNotVisible": "0"}
        assert read_json(layer1_inputs, MAPPING_1)["recluster"] == ["1:0"]


class TestLambdaHandler:
    CONTEXT = SimpleNamespace(function_name="mapping-callback", memory_limit_in_mb=512,
                              invoked_function_arn="arn:aws:lambda:us-east-1:111122223333:"
                                                   "function:mapping-callback",
                              aws_request_id="6f7e0c1e-0000-4000-8000-000000000000")

    def test_it_builds_aws_ports_on_first_use_and_reads_the_receive_limit(self, s3,
                                                                          monkeypatch):
        monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
        handler._aws_ports.cache_clear()
        event = sqs_event(["not JSON"], queue_arn="arn:aws:sqs:us-east-1:111122223333:q")

        assert handler.lambda_handler(event, self.CONTEXT) == NO_FAILURES
        assert handler._aws_ports.cache_info().currsize == 1
        handler._aws_ports.cache_clear()

    @pytest.mark.parametrize("value", ["", "0", "three"])
    def test_a_missing_receive_limit_is_a_clear_error(self, s3, monkeypatch, value):
        monkeypatch.setenv("MAX_RECEIVE_COUNT", value)
        event = sqs_event(["not JSON"], queue_arn="arn:aws:sqs:us-east-1:111122223333:q")
        with pytest.raises(RuntimeError, match="MAX_RECEIVE_COUNT=.*set it to the queue's "
                                               "redrive policy maxReceiveCount"):
            handler.lambda_handler(event, self.CONTEXT)
        handler._aws_ports.cache_clear()
