"""The callback message at the edge: what is accepted, and the one-line reasons for the rest."""
from __future__ import annotations

import json

import pytest

from lambdas.mapping_callback.messages import (
    log_fields,
    parse_arguments,
    parse_message,
    sqs_event,
)
from runtime.topic_mapping.errors import InvalidMessage, UnanswerableMessage
from tests.lambdas.mapping_callback.mapping_fixtures import ARTIFACT_1, EXECUTION_ARN, OUTPUT_PREFIX

ARGUMENTS = {"step_name": "MapLayer1", "layer": "1", "model_artifact": ARTIFACT_1,
             "previous_mapping": "", "overrides": "", "output_prefix": OUTPUT_PREFIX + "/",
             "review_mode": "false"}


def body(**changes) -> str:
    message = {"token": "Layer1Tok1", "pipelineExecutionArn": EXECUTION_ARN,
               "arguments": ARGUMENTS, "status": "Executing"}
    return json.dumps({**message, **changes})


def test_a_good_message_parses():
    args = parse_arguments(parse_message(body(arguments={**ARGUMENTS, "review_mode": "True"})))
    assert (args.layer, args.review_mode, args.output_prefix) == (1, True, OUTPUT_PREFIX)


@pytest.mark.parametrize(("change", "reason"), [
    ({"layer": "first"}, "layer: expected a layer number such as '1', got 'first'"),
    ({"layer": "0"}, "layer: Input should be greater than or equal to 1"),
    ({"review_mode": "yes"}, "review_mode: expected 'true' or 'false', got 'yes'"),
    ({"model_artifact": "s3://b/job/output/model.tar"},
     "model_artifact: expected the training job's .../model.tar.gz "
     "(ModelArtifacts.S3ModelArtifacts), got 's3://b/job/output/model.tar'"),
    ({"overrides": "overrides.json"},
     "overrides: expected an s3://bucket/key URI, got 'overrides.json'"),
    ({"previous_mapping": "s3://b/prefix/"},
     "previous_mapping: previous_mapping must name an object, not a prefix: "
     "'s3://b/prefix/'"),
    ({"step_name": "../evil"}, "step_name: String should match pattern "
                               "'^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$'"),
])
def test_bad_arguments_fail_the_step_with_the_field_named(change, reason):
    message = parse_message(body(arguments={**ARGUMENTS, **change}))
    with pytest.raises(InvalidMessage) as caught:
        parse_arguments(message)
    assert (str(caught.value), caught.value.token) == (f"invalid callback arguments: {reason}",
                                                       "Layer1Tok1")


@pytest.mark.parametrize(("text", "reason"), [
    (body(status="Running"), "invalid callback message: status: Input should be 'Executing' or "
                             "'Stopping'"),
    (body(pipelineExecutionArn=""), "invalid callback message: pipelineExecutionArn: String "
                                    "should have at least 1 character"),
])
def test_a_bad_envelope_with_a_token_fails_the_step(text, reason):
    with pytest.raises(InvalidMessage) as caught:
        parse_message(text)
    assert str(caught.value) == reason


@pytest.mark.parametrize(("text", "reason"), [
    ("[1, 2]", "callback message is JSON list, not an object"),
    ("nonsense", "callback message is not valid JSON (Expecting value at line 1 column 1) and names no "
                 "callback token"),
    (body(token="short"), "invalid callback message: token: String should match pattern "
                          "'^[A-Za-z0-9]{10}$'"),
])
def test_a_message_without_a_usable_token_cannot_be_answered(text, reason):
    with pytest.raises(UnanswerableMessage) as caught:
        parse_message(text)
    assert str(caught.value) == reason


def test_log_fields_are_read_even_from_broken_json():
    assert log_fields(body()[:-40]) == {"execution_arn": EXECUTION_ARN, "step_name": "MapLayer1"}
    assert log_fields("[]") == {"execution_arn": "unknown", "step_name": "unknown"}


def test_sqs_event_has_lambdas_shape():
    event = sqs_event([body(), "x"], queue_arn="arn:aws:sqs:eu-west-1:111122223333:q",
                      receive_count=2)
    first, second = event["Records"]
    assert (first["body"], first["eventSource"], first["awsRegion"]) == (body(), "aws:sqs",
                                                                         "eu-west-1")
    assert first["attributes"]["ApproximateReceiveCount"] == "2"
    assert first["messageId"] != second["messageId"]
