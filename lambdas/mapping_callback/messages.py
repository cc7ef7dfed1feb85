"""The message a CallbackStep puts on SQS, validated at the edge, and SQS events built from it.

SageMaker sends `{"token", "pipelineExecutionArn", "arguments", "status"}`; our topic pipeline's
arguments are the strings named in `mapping_schema.CALLBACK_ARGUMENTS`. A body that names no
usable token cannot be answered; any other problem fails the step.
"""
from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from runtime.ports.uris import split_s3_uri
from runtime.topic_mapping.errors import InvalidMessage, UnanswerableMessage
from runtime.topic_mapping.locations import MODEL_ARTIFACT_NAME
from steps.common.structure import StructureError, load_json
from steps.sequential_topics.mapping_schema import describe_validation_error

TOKEN_PATTERN = r"^[A-Za-z0-9]{10}$"  # SendPipelineExecutionStep*'s CallbackToken shape
_TOKEN_IN_TEXT = re.compile(r'"token"\s*:\s*"([A-Za-z0-9]{10})"')
_ARN_IN_TEXT = re.compile(r'"pipelineExecutionArn"\s*:\s*"([^"]+)"')
_STEP_IN_TEXT = re.compile(r'"step_name"\s*:\s*"([^"]+)"')


class CallbackMessage(BaseModel):
    """The envelope SageMaker sends; `arguments` is checked separately, and only when Executing."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    token: str = Field(pattern=TOKEN_PATTERN)
    execution_arn: str = Field(alias="pipelineExecutionArn", min_length=1)
    status: Literal["Executing", "Stopping"]
    arguments: dict[str, object] = Field(default_factory=dict)


def _s3_uri(value: str, field: str, *, optional: bool = False) -> str:
    if optional and value == "":
        return value
    split_s3_uri(value)  # raises InvalidS3Uri (a ValueError) with the value in its message
    if value.endswith("/") and field != "output_prefix":
        raise ValueError(f"{field} must name an object, not a prefix: {value!r}")
    return value


class StepArguments(BaseModel):
    """What the topic pipeline's CallbackStep sends; every key must be present."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$")
    layer: int = Field(ge=1)
    model_artifact: str
    previous_mapping: str
    overrides: str
    output_prefix: str
    review_mode: bool

    @field_validator("layer", mode="before")
    @classmethod
    def _layer_text(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError(f"expected a layer number such as '1', got {value!r}")
        return value

    @field_validator("review_mode", mode="before")
    @classmethod
    def _flag(cls, value: object) -> bool:
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"expected 'true' or 'false', got {value!r}")

    @field_validator("model_artifact")
    @classmethod
    def _artifact(cls, value: str) -> str:
        _s3_uri(value, "model_artifact")
        if not value.endswith("/" + MODEL_ARTIFACT_NAME):
            raise ValueError(f"expected the training job's .../{MODEL_ARTIFACT_NAME} "
                             f"(ModelArtifacts.S3ModelArtifacts), got {value!r}")
        return value

    @field_validator("previous_mapping", "overrides")
    @classmethod
    def _optional_uri(cls, value: str, info: ValidationInfo) -> str:
        return _s3_uri(value, info.field_name, optional=True)

    @field_validator("output_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _s3_uri(value, "output_prefix").rstrip("/")


def parse_message(body: str) -> CallbackMessage:
    """Validate the envelope; raise UnanswerableMessage without a token, else InvalidMessage."""
    try:
        raw = load_json(body)
    except StructureError as exc:
        found = _TOKEN_IN_TEXT.search(body)
        reason = f"callback message is {exc}"
        if found:
            raise InvalidMessage(reason, token=found[1]) from None
        raise UnanswerableMessage(reason + " and names no callback token") from None
    if not isinstance(raw, dict):
        raise UnanswerableMessage(f"callback message is JSON {type(raw).__name__}, not an object")
    try:
        return CallbackMessage.model_validate(raw)
    except ValidationError as exc:
        reason = f"invalid callback message: {describe_validation_error(exc)}"
        token = raw.get("token")
        if isinstance(token, str) and re.fullmatch(TOKEN_PATTERN, token):
            raise InvalidMessage(reason, token=token) from None
        raise UnanswerableMessage(reason) from None


def parse_arguments(message: CallbackMessage) -> StepArguments:
    try:
        return StepArguments.model_validate(message.arguments)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid callback arguments: {describe_validation_error(exc)}",
                               token=message.token) from None


def log_fields(body: str) -> dict[str, str]:
    """Execution ARN and step name read leniently, so that even a bad message's logs carry them."""
    try:
        raw = load_json(body)
    except StructureError:  # read what the broken text still shows
        arn, step = _ARN_IN_TEXT.search(body), _STEP_IN_TEXT.search(body)
        return {"execution_arn": arn[1] if arn else "unknown",
                "step_name": step[1] if step else "unknown"}
    raw = raw if isinstance(raw, dict) else {}
    arguments = raw.get("arguments") if isinstance(raw.get("arguments"), dict) else {}
    return {"execution_arn": str(raw.get("pipelineExecutionArn") or "unknown"),
            "step_name": str(arguments.get("step_name") or "unknown")}


def sqs_event(bodies: list[str], *, queue_arn: str, receive_count: int = 1) -> dict:
    """An SQS event as Lambda delivers it, for the local runner and tests."""
    region = queue_arn.split(":")[3]
    records = []
    for index, body in enumerate(bodies):
        digest = hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()
        records.append({
            "messageId": f"{digest[:8]}-{index:04d}-4000-8000-{digest[8:20]}",
            "receiptHandle": f"local-{digest}-{index}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": str(receive_count),
                           "SentTimestamp": "0", "SenderId": "local",
                           "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {},
            "md5OfBody": digest,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}
