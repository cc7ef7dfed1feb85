"""SQS-triggered Lambda: answer the topic pipeline's mapping CallbackSteps.

`lambda_handler` is thin: it builds the AWS ports once per container (never at import) and
calls `handle_event`, which the local runner calls with local ports. Each record ends in one of:
- success: the next mapping is written and the step answered (or, in review mode, a proposal
  is written and `mapping-review accept` answers later);
- a failure callback: permanent problems, Stopping messages, and transient problems on the
  record's last allowed receive, so the step never hangs while the message sits in the DLQ;
- a batch item failure (SQS retries it): transient problems before the last receive;
- dropped with an error log: a message that names no callback token, so nothing can be answered;
- acknowledged with an error log: a token SageMaker rejects as invalid or expired (retrying
  could never answer it, and would only fill the dead-letter queue and ring its alarm).
"""
from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdas.mapping_callback.messages import (
    CallbackMessage,
    StepArguments,
    log_fields,
    parse_arguments,
    parse_message,
)
from runtime.ports.callbacks import (
    CallbackTokenRejected,
    PipelineCallbacks,
    SageMakerCallbacks,
    TransientCallbackError,
)
from runtime.ports.object_store import ObjectStore, S3ObjectStore, TransientStoreError
from runtime.topic_mapping import locations
from runtime.topic_mapping.errors import (
    InvalidMessage,
    PermanentFailure,
    UnanswerableMessage,
)
from runtime.topic_mapping.inputs import check_layers, read_document, read_topic_summary
from runtime.topic_mapping.mapping_update import MappingError, update_mapping
from runtime.topic_mapping.proposal import Proposal
from runtime.topic_mapping.publish import publish_mapping, send_failure, write_once
from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    MappingOverrides,
    dump_document,
)

MAX_RECEIVE_COUNT_ENV = "MAX_RECEIVE_COUNT"

_TRANSIENT = (TransientStoreError, TransientCallbackError)

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "mapping-callback"))


class RetryLater(Exception):
    """Raised from the record handler so the batch processor reports the record as failed."""


def handle_event(event: dict[str, Any], context: Any, *, store: ObjectStore,
                 callbacks: PipelineCallbacks, max_receive_count: int) -> dict[str, Any]:
    """Process an SQS event with the given ports; return the partial batch response."""
    if max_receive_count < 1:
        raise ValueError(f"max_receive_count must be at least 1, got {max_receive_count}")
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    record_handler = functools.partial(_handle_record, store=store, callbacks=callbacks,
                                       max_receive_count=max_receive_count)
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store, callbacks = _aws_ports()
    return handle_event(event, context, store=store, callbacks=callbacks,
                        max_receive_count=_max_receive_count())


@functools.lru_cache(maxsize=1)
def _aws_ports() -> tuple[ObjectStore, PipelineCallbacks]:
    import boto3

    return S3ObjectStore(boto3.client("s3")), SageMakerCallbacks(boto3.client("sagemaker"))


def _max_receive_count() -> int:
    value = os.environ.get(MAX_RECEIVE_COUNT_ENV, "")
    if not value.isdigit() or int(value) < 1:
        raise RuntimeError(f"{MAX_RECEIVE_COUNT_ENV}={value!r}: set it to the queue's redrive "
                           "policy maxReceiveCount (lambdas/template.yaml does)")
    return int(value)


def _handle_record(record: SQSRecord, *, store: ObjectStore, callbacks: PipelineCallbacks,
                   max_receive_count: int) -> None:
    with logger.append_context_keys(message_id=record.message_id, **log_fields(record.body)):
        try:
            _answer_record(record, store, callbacks, max_receive_count)
        except CallbackTokenRejected as exc:  # no answer can ever land: retrying only fills the DLQ
            logger.error("SageMaker rejected the callback token (invalid or expired), so the "
                         "step cannot be answered; acknowledging the message: %s", exc)


def _answer_record(record: SQSRecord, store: ObjectStore, callbacks: PipelineCallbacks,
                   max_receive_count: int) -> None:
    receives = int(record.attributes.approximate_receive_count or "1")
    try:
        message = parse_message(record.body)
    except UnanswerableMessage as exc:
        logger.error("dropping message: %s; nothing can be answered", exc)
        return
    except InvalidMessage as exc:
        _fail(callbacks, exc.token, str(exc))
        return
    try:
        _run(message, store, callbacks)
    except (PermanentFailure, MappingError) as exc:
        _fail(callbacks, message.token, str(exc))
    except CallbackTokenRejected:
        raise
    except Exception as exc:  # transient or unexpected: retry until the last receive
        if receives < max_receive_count:
            logger.warning("receive %d of %d failed, SQS will retry: %s: %s", receives,
                           max_receive_count, type(exc).__name__, exc,
                           exc_info=not isinstance(exc, _TRANSIENT))
            raise RetryLater(str(exc)) from exc
        logger.exception("giving up on receive %d of %d", receives, max_receive_count)
        _fail(callbacks, message.token,
              f"gave up after {receives} attempts: {type(exc).__name__}: {exc}")


def _fail(callbacks: PipelineCallbacks, token: str, reason: str) -> None:
    logger.error("failing the step: %s", reason)
    if not send_failure(callbacks, token, reason):
        logger.info("the step had already completed; failure not recorded")


def _run(message: CallbackMessage, store: ObjectStore, callbacks: PipelineCallbacks) -> None:
    if message.status == "Stopping":
        _fail(callbacks, message.token, "the pipeline execution was stopped before this "
                                        "mapping step could complete")
        return
    args = parse_arguments(message)
    inputs = _inputs(args)
    previous = (read_document(store, args.previous_mapping, MappingDocument, "previous mapping")
                if args.previous_mapping else None)
    summary = read_topic_summary(store, inputs["topic_summary"])
    check_layers(args.layer, summary, inputs["topic_summary"], previous, args.previous_mapping)
    mapping = update_mapping(
        previous, summary,
        read_document(store, args.overrides, MappingOverrides, "overrides")
        if args.overrides else None)
    uri = locations.mapping_uri(args.output_prefix, args.step_name, args.layer)
    if args.review_mode:
        _propose(message, args, inputs, mapping, store)
        return
    outputs, already_done = publish_mapping(store, callbacks, token=message.token, uri=uri,
                                            mapping=mapping)
    if already_done:
        logger.info("the step had already completed (duplicate delivery); mapping at %s", uri)
    else:
        logger.info("mapping written and step answered: %s", outputs)


def _inputs(args: StepArguments) -> dict[str, str]:
    inputs = {"model_artifact": args.model_artifact,
              "topic_summary": locations.summary_archive_uri(args.model_artifact)}
    if args.previous_mapping:
        inputs["previous_mapping"] = args.previous_mapping
    if args.overrides:
        inputs["overrides"] = args.overrides
    return inputs


def _propose(message: CallbackMessage, args: StepArguments, inputs: dict[str, str],
             mapping: MappingDocument, store: ObjectStore) -> None:
    proposal = Proposal(token=message.token, execution_arn=message.execution_arn,
                        step_name=args.step_name, layer=args.layer,
                        mapping_uri=locations.mapping_uri(args.output_prefix, args.step_name,
                                                          args.layer),
                        inputs=inputs, mapping=mapping)
    uri = locations.proposal_uri(args.output_prefix, args.step_name, args.layer)
    if write_once(store, uri, dump_document(proposal), "proposal"):
        logger.info("review mode: proposal written to %s; the step waits for "
                    "`mapping-review accept %s`", uri, uri)
    else:
        logger.info("review mode: proposal already at %s (duplicate delivery)", uri)
