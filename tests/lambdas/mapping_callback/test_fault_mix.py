"""The Lambda under a generated mix of good, duplicate, malformed, corrupt and transiently
failing messages, delivered as SQS would (at least once, batches, redrive to a DLQ).

moto serves S3 (with injected, passing SlowDowns); `FakeSageMaker` answers the step-callback
calls as SageMaker does: the first answer completes the step, a repeat with the same
ClientRequestToken is idempotent, another answer gets ConflictException. Counted per mix:
messages lost (0), accepted answers per token (exactly 1), inputs changed (0), dead-letter
entries for permanent errors (0).
"""
from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from lambdas.mapping_callback import handler
from lambdas.mapping_callback.messages import sqs_event
from runtime.ports.callbacks import SageMakerCallbacks
from tests.hostile_inputs import SLOW
from tests.lambdas.mapping_callback.mapping_fixtures import (
    BUCKET,
    EXECUTION_ARN,
    layer1_summary,
    output_archive,
)

MAX_RECEIVE_COUNT = 3
QUEUE_ARN = "arn:aws:sqs:us-east-1:111122223333:mapping-callbacks"
KINDS = ("good", "duplicate", "malformed_json", "missing_arguments", "deeply_nested",
         "corrupt_archive", "truncated_archive", "wrong_layer", "flaky_store",
         "flaky_callback", "rejected_token", "no_token")
PERMANENT = {"malformed_json", "missing_arguments", "deeply_nested", "corrupt_archive",
             "truncated_archive", "wrong_layer"}
SUCCEEDS = {"good", "duplicate", "flaky_store", "flaky_callback"}


class FakeSageMaker:
    """SendPipelineExecutionStepSuccess/Failure with SageMaker's answers, and injected faults."""

    def __init__(self) -> None:
        self.completed: dict[str, tuple[str, str]] = {}  # token -> (status, request token)
        self.accepted: collections.Counter[str] = collections.Counter()
        self.throttle: collections.Counter[str] = collections.Counter()  # token -> times left
        self.rejected: set[str] = set()

    def send_pipeline_execution_step_success(self, *, CallbackToken: str,
                                             OutputParameters: list, ClientRequestToken: str):
        return self._answer(CallbackToken, "Succeeded", ClientRequestToken, "Success")

    def send_pipeline_execution_step_failure(self, *, CallbackToken: str, FailureReason: str,
                                             ClientRequestToken: str):
        assert len(FailureReason) <= 256
        return self._answer(CallbackToken, "Failed", ClientRequestToken, "Failure")

    def _answer(self, token: str, status: str, request: str, operation: str) -> dict:
        name = f"SendPipelineExecutionStep{operation}"
        if token in self.rejected:
            raise _error("ValidationException", "Invalid callback token", name)
        if self.throttle[token] > 0:
            self.throttle[token] -= 1
            raise _error("ThrottlingException", "Rate exceeded", name)
        if token in self.completed:
            if self.completed[token][1] == request:
                return {"PipelineExecutionArn": EXECUTION_ARN}
            raise _error("ConflictException", "The step has already completed", name)
        self.completed[token] = (status, request)
        self.accepted[token] += 1
        return {"PipelineExecutionArn": EXECUTION_ARN}


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class FlakyGets:
    """GetObject on chosen keys answers 503 SlowDown a set number of times, then reaches moto."""

    def __init__(self, s3_client: Any) -> None:
        self.left: collections.Counter[str] = collections.Counter()
        s3_client.meta.events.register("before-call.s3.GetObject", self._maybe_fail)

    def _maybe_fail(self, params: dict, **_: Any):
        key = next((k for k in self.left if params.get("url_path", "").endswith("/" + k)), None)
        if key is None or self.left[key] == 0:
            return None
        self.left[key] -= 1
        return _Http503(), {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate."},
                            "ResponseMetadata": {"HTTPStatusCode": 503}}


class _Http503:
    status_code = 503
    headers: dict = {}
    content = b""


@dataclasses.dataclass
class Message:
    kind: str
    token: str
    body: str
    receives: int = 0


def _message(kind: str, index: int, run: str, store, sagemaker: FakeSageMaker,
             flaky_keys: list[str]) -> Message:
    token = f"T{run}{index:03d}".ljust(10, "x")[:10]
    prefix = f"s3://{BUCKET}/mix/{run}/{index}"
    artifact = f"{prefix}/job/output/model.tar.gz"
    archive = output_archive(layer1_summary())
    if kind == "corrupt_archive":
        archive = archive[:20] + bytes(b ^ 0x5A for b in archive[20:60]) + archive[60:]
    elif kind == "truncated_archive":
        archive = archive[: len(archive) // 2]
    elif kind == "wrong_layer":
        archive = output_archive({**layer1_summary(), "layer": 2})
    store.write_bytes(artifact.replace("model.tar.gz", "output.tar.gz"), archive)
    arguments = {"step_name": "MapLayer1", "layer": "1", "model_artifact": artifact,
                 "previous_mapping": "", "overrides": "", "output_prefix": f"{prefix}/maps",
                 "review_mode": "false"}
    message = {"token": token, "pipelineExecutionArn": EXECUTION_ARN, "status": "Executing",
               "arguments": arguments}
    body = json.dumps(message)
    if kind == "malformed_json":
        body = body[:-7]
    elif kind == "missing_arguments":
        body = json.dumps({**message, "arguments": {"step_name": "MapLayer1"}})
    elif kind == "deeply_nested":
        body = json.dumps({**message, "arguments": "@"}).replace('"@"', "[" * 50_000 + "]" * 50_000)
    elif kind == "no_token":
        body = json.dumps({**message, "token": None})
    elif kind == "flaky_store":  # armed once the inputs are recorded
        flaky_keys.append(artifact.split(f"{BUCKET}/", 1)[1].replace("model.tar.gz",
                                                                     "output.tar.gz"))
    elif kind == "flaky_callback":
        sagemaker.throttle[token] = MAX_RECEIVE_COUNT - 1
    elif kind == "rejected_token":
        sagemaker.rejected.add(token)
    return Message(kind, token, body)


def deliver(messages: list[Message], batch_size: int, store, callbacks) -> list[Message]:
    """Deliver until the queue is empty, as SQS and Lambda do; return the dead-lettered."""
    queue = collections.deque(messages)
    dead: list[Message] = []
    while queue:
        batch = [queue.popleft() for _ in range(min(batch_size, len(queue)))]
        for message in batch:
            message.receives += 1
        event = {"Records": []}
        for number, message in enumerate(batch):
            record = sqs_event([message.body], queue_arn=QUEUE_ARN,
                               receive_count=message.receives)["Records"][0]
            event["Records"].append({**record, "messageId": f"m-{number}"})
        response = handler.handle_event(event, None, store=store, callbacks=callbacks,
                                        max_receive_count=MAX_RECEIVE_COUNT)
        failed = {int(f["itemIdentifier"][2:]) for f in response["batchItemFailures"]}
        for number in sorted(failed):
            message = batch[number]
            (queue if message.receives < MAX_RECEIVE_COUNT else dead).append(message)
    return dead


mixes = st.lists(st.sampled_from(KINDS), min_size=6, max_size=24)
TOTALS: collections.Counter[str] = collections.Counter()


@SLOW
@given(kinds=mixes, batch_size=st.integers(1, 10), run=st.uuids())
def test_a_mix_loses_nothing_answers_once_and_changes_no_input(s3, store, kinds, batch_size,
                                                              run):
    sagemaker, flaky_keys = FakeSageMaker(), []
    tag = run.hex[:5]
    messages = []
    for index, kind in enumerate(kinds):
        messages.append(_message(kind, index, tag, store, sagemaker, flaky_keys))
        if kind == "duplicate":  # at-least-once: the same body delivered again
            messages.append(dataclasses.replace(messages[-1], receives=0))
    inputs = {uri: store.read_bytes(uri) for uri in store.list_uris(f"s3://{BUCKET}/mix/{tag}/")}
    FlakyGets(s3).left.update(dict.fromkeys(flaky_keys, MAX_RECEIVE_COUNT - 1))

    dead = deliver(messages, batch_size, store, SageMakerCallbacks(sagemaker))

    answerable = {m.token: m.kind for m in messages if m.kind not in ("no_token",
                                                                     "rejected_token")}
    lost = [t for t in answerable if t not in sagemaker.completed]
    assert lost == []
    assert {t: sagemaker.accepted[t] for t in answerable} == dict.fromkeys(answerable, 1)
    changed = [u for u, data in inputs.items() if store.read_bytes(u) != data]
    assert changed == []
    assert [m.kind for m in dead if m.kind in PERMANENT] == []
    assert dead == []  # transient faults pass within the receive limit; rejected tokens are acked
    for token, kind in answerable.items():
        expected = "Succeeded" if kind in SUCCEEDS else "Failed"
        assert sagemaker.completed[token][0] == expected, (kind, token)
    first_delivery = {m.token for m in messages if m.kind in PERMANENT and m.receives == 1}
    assert first_delivery == {t for t, k in answerable.items() if k in PERMANENT}
    assert all(m.receives == 1 for m in messages if m.kind in ("no_token", "rejected_token"))
    TOTALS.update(mixes=1, messages=len(messages), lost=len(lost), changed_inputs=len(changed),
                  dead_lettered=len(dead), receives=sum(m.receives for m in messages))
    TOTALS.update(m.kind for m in messages)


def test_the_mixes_covered_every_kind_of_message(capsys):
    """Runs after the mix test (file order) and prints its totals (visible with -s)."""
    with capsys.disabled():
        print(f"\nfault mix totals: {dict(sorted(TOTALS.items()))}")
    assert TOTALS["mixes"] > 0 and all(TOTALS[kind] > 0 for kind in KINDS)
    assert (TOTALS["lost"], TOTALS["changed_inputs"], TOTALS["dead_lettered"]) == (0, 0, 0)
