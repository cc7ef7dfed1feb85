"""Regression tests for issue 14's failure classes 1-3 at the callback Lambda (moto S3, stubbed
SageMaker): each hostile message is answered once, on its first delivery, and never retried."""
from __future__ import annotations

import json

from lambdas.mapping_callback import handler
from lambdas.mapping_callback.messages import sqs_event
from tests.lambdas.mapping_callback.mapping_fixtures import (
    ARTIFACT_1,
    ARTIFACT_2,
    MAPPING_1,
    layer1_summary,
    layer2_summary,
    load_event,
    output_archive,
    summary_uri,
)
from tests.lambdas.mapping_callback.test_handler import NO_FAILURES, crt, expect_failure, run

QUEUE_ARN = "arn:aws:sqs:us-east-1:111122223333:mapping-callbacks"


def layer1_body(**arguments) -> str:
    body = json.loads(load_event("mapping_layer1")["Records"][0]["body"])
    body["arguments"].update(arguments)
    return json.dumps(body)


def deliver(body: str, store, callbacks) -> dict:
    return handler.handle_event(sqs_event([body], queue_arn=QUEUE_ARN), None, store=store,
                                callbacks=callbacks, max_receive_count=3)


class TestClass1PathologicalStructure:
    def test_arguments_nested_thousands_deep_fail_the_step_once(self, store, callbacks,
                                                                stubber):
        body = layer1_body().replace('"layer": "1"', '"layer": ' + "[" * 5000 + "]" * 5000)
        expect_failure(stubber, "Layer1Tok1",
                       "callback message is JSON nested deeper than 64 levels")
        assert deliver(body, store, callbacks) == NO_FAILURES

    def test_nesting_past_the_bound_but_parseable_names_where(self, store, callbacks, stubber):
        body = layer1_body(overrides=json.loads("[" * 100 + "]" * 100))
        where = "arguments.overrides" + "[0]" * 62
        expect_failure(stubber, "Layer1Tok1", "callback message is nested deeper than 64 "
                       f"levels (at {where[:57]}...)")
        assert deliver(body, store, callbacks) == NO_FAILURES

    def test_a_deep_body_without_a_readable_token_is_dropped_not_retried(self, store,
                                                                       callbacks):
        assert deliver("[" * 100_000, store, callbacks) == NO_FAILURES


class TestClass2PermanentVersusTransient:
    def test_a_truncated_gzip_fails_the_step_on_its_first_delivery(self, store, callbacks,
                                                                   stubber):
        archive = output_archive(layer1_summary())
        store.write_bytes(summary_uri(ARTIFACT_1), archive[: len(archive) // 2])
        expect_failure(stubber, "Layer1Tok1", f"{summary_uri(ARTIFACT_1)} is not a readable "
                       "tar archive (EOFError); SageMaker writes output.tar.gz as a "
                       "gzip-compressed tar")
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES

    def test_bad_deflate_data_fails_the_step_on_its_first_delivery(self, store, callbacks,
                                                                   stubber):
        archive = bytearray(output_archive(layer1_summary()))
        archive[30:40] = b"\xff" * 10
        store.write_bytes(summary_uri(ARTIFACT_1), bytes(archive))
        stubber.add_response("send_pipeline_execution_step_failure", {})
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES

    def test_a_token_sagemaker_rejects_is_logged_and_acknowledged(self, store, callbacks,
                                                                  stubber, caplog):
        reason = "no layer output archive at " + summary_uri(ARTIFACT_1)
        stubber.add_client_error(
            "send_pipeline_execution_step_failure", service_error_code="ValidationException",
            service_message="Invalid callback token", http_status_code=400,
            expected_params={"CallbackToken": "Layer1Tok1", "FailureReason": reason,
                             "ClientRequestToken": crt("Layer1Tok1", "failure", reason)})
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES

    def test_an_expired_token_on_success_is_acknowledged_and_the_mapping_kept(
            self, layer1_inputs, callbacks, stubber):
        stubber.add_client_error("send_pipeline_execution_step_success",
                                 service_error_code="ResourceNotFound", http_status_code=400)
        assert run("mapping_layer1", layer1_inputs, callbacks) == NO_FAILURES
        assert json.loads(layer1_inputs.read_bytes(MAPPING_1))["layer"] == 1


class TestClass3ConsistencyChecks:
    def test_a_summary_of_another_layer_fails_naming_both(self, store, callbacks, stubber):
        store.write_bytes(summary_uri(ARTIFACT_1), output_archive(layer2_summary()))
        expect_failure(stubber, "Layer1Tok1", f"the step is for layer 1 but "
                       f"{summary_uri(ARTIFACT_1)} summarises layer 2: pass the model_artifact "
                       "of the layer 1 training step")
        assert run("mapping_layer1", store, callbacks) == NO_FAILURES
        assert not store.exists(MAPPING_1)

    def test_a_previous_mapping_of_the_wrong_layer_fails_naming_both(
            self, layer1_inputs, callbacks, stubber):
        layer1_inputs.write_bytes(summary_uri(ARTIFACT_2), output_archive(layer2_summary()))
        mapping_2 = json.dumps({"layer": 2, "topics": [], "recluster": []}).encode()
        layer1_inputs.write_bytes(MAPPING_1, mapping_2)  # a layer-2 mapping where 1 belongs
        expect_failure(stubber, "Layer2Tok1", f"the step is for layer 2 but previous_mapping "
                       f"{MAPPING_1} is a layer 2 mapping; pass the layer 1 mapping")
        assert run("mapping_layer2", layer1_inputs, callbacks) == NO_FAILURES

    def test_layer_one_with_a_previous_mapping_fails(self, layer1_inputs, callbacks, stubber):
        layer1_inputs.write_bytes(MAPPING_1, json.dumps(
            {"layer": 1, "topics": [], "recluster": []}).encode())
        expect_failure(stubber, "Layer1Tok1",
                       f"layer 1 takes no previous_mapping, got {MAPPING_1}")
        assert deliver(layer1_body(previous_mapping=MAPPING_1), layer1_inputs,
                       callbacks) == NO_FAILURES
