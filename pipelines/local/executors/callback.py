"""Callback steps: send SageMaker's message to the queue's local consumer, wait for the answer.

The message is what SageMaker puts on SQS: `{"token": <10 letters/digits>,
"pipelineExecutionArn", "arguments": <resolved Arguments>, "status": "Executing"}`. The step
completes when someone answers the token through the local callbacks port
(`<root>/callbacks/<token>.json`): the consumer itself, `mapping-review accept ... --local
ROOT`, or any code calling `FileCallbacks(root).send_success/send_failure`. A consumer that
returns without answering (review mode) leaves the step waiting, and the live view says for
what. If the execution is stopped meanwhile, the consumer gets a `"status": "Stopping"`
message and the step ends Stopped.
"""
from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

from pipelines.local.callback_queues import Delivery, NoConsumer
from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import StepFailed, StepStopped
from pipelines.local.executors.base import StepExecutor, register
from pipelines.local.output_parameters import declared_outputs, typed_outputs
from pipelines.local.sqs_events import InvalidQueueUrl
from runtime.ports.local_callbacks import read_callback

POLL_SECONDS = 0.2
STOPPING_DELIVERY_WAIT_S = 10.0
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_PROPOSAL = "/proposal.json"


def new_token() -> str:
    """A CallbackToken as SageMaker's: 10 letters or digits."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(10))


@register
class CallbackExecutor(StepExecutor):
    step_type = "Callback"
    cacheable = True
    cached_by_default = False
    waits = True

    def arguments(self, step: StepSpec) -> Any:
        return {"Arguments": step.arguments, "SqsQueueUrl": step.raw.get("SqsQueueUrl")}

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        queue_url = arguments["SqsQueueUrl"]
        if not isinstance(queue_url, str) or not queue_url:
            raise StepFailed(step.name, f"SqsQueueUrl must be a queue URL, got {queue_url!r}")
        if ctx.run.callbacks is None:
            raise StepFailed(step.name, "this run has no callback queues")
        token = new_token()
        label = f"step {step.name} (token {token})"
        try:
            delivery = ctx.run.callbacks.send(queue_url, self._body(token, arguments, ctx), label)
        except (NoConsumer, InvalidQueueUrl) as exc:
            raise StepFailed(step.name, str(exc)) from exc
        ctx.note(f"message sent to {queue_url} (token {token})")
        answer = self._wait(step, token, delivery, arguments, ctx)
        if answer.get("status") != "Succeeded":
            raise StepFailed(step.name, "the callback was answered with a failure: "
                             f"{answer.get('failure_reason') or 'no reason given'}")
        outputs = typed_outputs(step.name, declared_outputs(step.raw),
                                answer.get("outputs") or {}, f"the answer to token {token}")
        return {"OutputParameters": outputs, "CallbackToken": token, "SqsQueueUrl": queue_url}

    def _body(self, token: str, arguments: Any, ctx: StepContext, status: str = "Executing"
              ) -> str:
        return json.dumps({"token": token, "pipelineExecutionArn": ctx.run.execution_arn,
                           "arguments": arguments["Arguments"], "status": status})

    def _wait(self, step: StepSpec, token: str, delivery: Delivery, arguments: Any,
              ctx: StepContext) -> dict[str, Any]:
        timeout = ctx.run.callbacks.options.answer_timeout_s
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = False
        while True:
            answer = read_callback(ctx.run.root, token)
            if answer is not None:
                return answer
            if delivery.dead_reason:
                raise StepFailed(step.name, delivery.dead_reason)
            if ctx.run.stop is not None and ctx.run.stop.requested:
                self._send_stopping(step, token, arguments, ctx)
                raise StepStopped(step.name, f"the execution was stopped while the step "
                                             f"waited for token {token}")
            if deadline is not None and time.monotonic() > deadline:
                raise StepFailed(step.name, f"no answer to callback token {token} within "
                                 f"{timeout:g}s (the callback timeout)")
            if delivery.settled.is_set() and not announced:
                announced = True
                waiting = (f"waiting for an answer to token {token}: "
                           f"{_answer_hint(ctx, arguments['Arguments'], token)}")
                ctx.note(waiting)
                ctx.run.logger.warning("step %s is %s", step.name, waiting)
            time.sleep(POLL_SECONDS)

    def _send_stopping(self, step: StepSpec, token: str, arguments: Any,
                       ctx: StepContext) -> None:
        """Tell the consumer, as SageMaker does; wait briefly so it sees it before the run ends."""
        delivery = ctx.run.callbacks.send(arguments["SqsQueueUrl"],
                                      self._body(token, arguments, ctx, "Stopping"),
                                      f"step {step.name} (token {token}, Stopping)")
        if not delivery.settled.wait(STOPPING_DELIVERY_WAIT_S):
            ctx.run.logger.warning("step %s: the Stopping message was not processed within %.0fs",
                               step.name, STOPPING_DELIVERY_WAIT_S)

    def summary(self, properties: Mapping[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in properties.get("OutputParameters", {}).items())


def _answer_hint(ctx: StepContext, arguments: Any, token: str) -> str:
    """How to answer: `mapping-review accept` when a review proposal names the token."""
    root = ctx.run.root
    prefixes = [v for v in (arguments.values() if isinstance(arguments, Mapping) else [])
                if isinstance(v, str) and v.startswith("s3://")]
    for prefix in prefixes:
        for uri in ctx.run.store.list_uris(prefix.rstrip("/") + "/"):
            if uri.endswith(_PROPOSAL) and token.encode() in ctx.run.store.read_bytes(uri):
                return f"run `mapping-review accept {uri} --local {root}` (or reject)"
    return (f"answer it with runtime.ports.local_callbacks.FileCallbacks('{root}')"
            f".send_success('{token}', {{...}}) or .send_failure(...)")
