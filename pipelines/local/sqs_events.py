"""SQS shapes for local callback delivery: a queue URL's ARN, and events as Lambda receives them."""
from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

_ACCOUNT = re.compile(r"\d{12}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}(\.fifo)?")


class InvalidQueueUrl(ValueError):
    """The step's SqsQueueUrl is not an SQS queue URL."""


@dataclass(frozen=True)
class QueueRef:
    url: str
    arn: str
    region: str
    name: str


def parse_queue_url(url: str) -> QueueRef:
    """`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (or the legacy and local forms) -> ARN."""
    parsed = urlparse(str(url))
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme not in ("http", "https") or len(parts) != 2 \
            or not _ACCOUNT.fullmatch(parts[0]) or not _QUEUE_NAME.fullmatch(parts[1]):
        raise InvalidQueueUrl(f"callback queue URL {url!r} is not an SQS queue URL; expected "
                              "https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE_NAME")
    host = parsed.hostname or ""
    labels = host.split(".")
    if host.startswith("sqs.") and len(labels) >= 4:
        region = labels[1]
    elif ".queue.amazonaws.com" in host:
        region = labels[0]
    elif host == "queue.amazonaws.com":
        region = "us-east-1"
    else:  # localstack, elasticmq, ...: no region in the host
        region = "local"
    partition = "aws-cn" if host.endswith(".com.cn") else "aws"
    account, name = parts
    return QueueRef(url=str(url), arn=f"arn:{partition}:sqs:{region}:{account}:{name}",
                    region=region, name=name)


@dataclass
class QueuedMessage:
    """One message on a local queue; `receive_count` grows with each delivery."""

    body: str
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    receive_count: int = 0
    first_receive_ms: int = 0


def sqs_record(message: QueuedMessage, queue: QueueRef) -> dict[str, Any]:
    """The record for the message's current receive (a new receipt handle each time)."""
    digest = hashlib.md5(message.body.encode("utf-8"), usedforsecurity=False).hexdigest()
    return {
        "messageId": message.message_id,
        "receiptHandle": f"local-{message.message_id}-{message.receive_count}-{uuid.uuid4().hex}",
        "body": message.body,
        "attributes": {"ApproximateReceiveCount": str(message.receive_count),
                       "SentTimestamp": str(message.sent_ms), "SenderId": "local-runner",
                       "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms)},
        "messageAttributes": {},
        "md5OfBody": digest,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": queue.region,
    }


@dataclass
class LocalLambdaContext:
    """What a Lambda handler reads from its context object."""

    function_name: str
    invoked_function_arn: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"
    timeout_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
