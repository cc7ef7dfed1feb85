"""Local SQS for Callback steps: each queue URL has a consumer that gets real SQS events.

A consumer is a Lambda handler returning a partial batch response
(`{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`, or None for all succeeded),
as behind an SQS event source mapping with ReportBatchItemFailures, in one of two shapes
(checked when the run starts; any other signature is an InvalidConsumer naming it):
- `consumer(event, context)`: a plain handler written for AWS: its boto3 calls are answered
  locally while it runs (aws_routing.py: S3 objects from the local store,
  SendPipelineExecutionStepSuccess/Failure to the local callbacks, anything else refused
  naming the call), so it runs unchanged and without credentials;
- `consumer(event, context, *, store, callbacks, max_receive_count)`: a handler that takes
  its ports (`lambdas.mapping_callback.handler.handle_event`'s shape). It is given the run's
  `ConsumerPorts`: the local object store, `FileCallbacks(root)` (whose answers the waiting
  step reads) and the queue's maximum receive count.

Per queue one dispatcher thread plays the event source mapping: it waits `batch_window_s`
after the first visible message to gather up to 10, invokes the consumer once with all of
them, deletes what succeeded and makes each failed record visible again after
`visibility_timeout_s` with its ApproximateReceiveCount one higher. A consumer that raises
fails its whole batch, as a Lambda function error does. After `max_receive_count` receives a
record goes to the dead-letter queue and its step fails. Consumers run one at a time (the
project's handler keeps per-record log keys that are not thread-safe).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.local.aws_routing import LocalAws, routed_to_local
from pipelines.local.sqs_events import (
    LocalLambdaContext,
    QueuedMessage,
    QueueRef,
    parse_queue_url,
    sqs_record,
)
from runtime.errors import UserError
from runtime.ports.local_callbacks import FileCallbacks
from runtime.ports.object_store import LocalObjectStore

Consumer = Callable[..., Any]
MAX_BATCH = 10
_IDLE_WAIT_SECONDS = 0.5


@dataclass(frozen=True)
class CallbackOptions:
    """How local queues behave; the defaults follow SQS and SageMaker, sped up for a laptop.

    answer_timeout_s: how long a delivered Callback step waits for its answer (None: until
    answered or stopped; SageMaker waits up to 7 days).
    """

    max_receive_count: int = 3
    visibility_timeout_s: float = 1.0
    batch_window_s: float = 0.05
    answer_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_receive_count < 1:
            raise ValueError(f"max_receive_count must be at least 1, got "
                             f"{self.max_receive_count}")
        if self.answer_timeout_s is not None and self.answer_timeout_s <= 0:
            raise ValueError(f"the callback answer timeout must be positive, got "
                             f"{self.answer_timeout_s}")


@dataclass(frozen=True)
class ConsumerPorts:
    """What a port-taking consumer is given: the local ports and the queue's redrive limit."""

    store: LocalObjectStore
    callbacks: FileCallbacks
    max_receive_count: int


class InvalidConsumer(UserError):
    """A registered consumer fits neither consumer shape; the message says both."""


class NoConsumer(LookupError):
    """No consumer is registered for a Callback step's queue; the message says how to add one."""


class Delivery:
    """One message's fate: settled once a consumer processed it or it was dead-lettered."""

    def __init__(self, message: QueuedMessage, label: str):
        self.message = message
        self.label = label  # for logs: the step and token
        self.settled = threading.Event()
        self.dead_reason: str | None = None
        self.visible_at = 0.0


class CallbackQueues:
    """The local queues of one run; `close()` stops their dispatcher threads."""

    def __init__(self, consumers: Mapping[str, Consumer], local_root: Path,
                 options: CallbackOptions, logger: logging.Logger):
        self.options = options
        self.local_root = local_root
        self._logger = logger
        ports = ConsumerPorts(LocalObjectStore(local_root), FileCallbacks(local_root),
                              options.max_receive_count)
        self._consumers = {_key(url): bind_consumer(fn, ports, url)
                           for url, fn in consumers.items()}
        self.local_aws = LocalAws(ports.store, ports.callbacks)
        self._queues: dict[str, _Queue] = {}
        self._lock = threading.Lock()
        self._invoke_lock = threading.Lock()
        self._closed = threading.Event()

    def send(self, queue_url: str, body: str, label: str) -> Delivery:
        """Put a message on the queue; raise NoConsumer or InvalidQueueUrl."""
        consumer = self._consumers.get(_key(queue_url))
        if consumer is None:
            registered = ", ".join(sorted(self._consumers)) or "none"
            raise NoConsumer(
                f"no callback consumer is registered for queue {queue_url} (registered: "
                f"{registered}); register one with run-pipeline --local --callback "
                f"'{queue_url}=module:function' or run_local_pipeline(callback_consumers="
                f"{{'{queue_url}': handler}})")
        ref = parse_queue_url(queue_url)
        with self._lock:
            queue = self._queues.get(_key(queue_url))
            if queue is None:
                queue = _Queue(ref, consumer, self)
                self._queues[_key(queue_url)] = queue
        return queue.put(QueuedMessage(body=body), label)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            queues = list(self._queues.values())
        for queue in queues:
            queue.join()


class _Queue:
    def __init__(self, ref: QueueRef, consumer: Consumer, owner: CallbackQueues):
        self.ref = ref
        self._consumer = consumer
        self._owner = owner
        self._pending: list[Delivery] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name=f"sqs-{ref.name}", daemon=True)
        self._thread.start()

    def put(self, message: QueuedMessage, label: str) -> Delivery:
        delivery = Delivery(message, label)
        with self._cond:
            self._pending.append(delivery)
            self._cond.notify()
        return delivery

    def join(self) -> None:
        with self._cond:
            self._cond.notify()
        self._thread.join()

    def _visible(self) -> list[Delivery]:
        now = time.monotonic()
        return [d for d in self._pending if d.visible_at <= now][:MAX_BATCH]

    def _loop(self) -> None:
        closed = self._owner._closed
        while not closed.is_set():
            with self._cond:
                if not self._visible():
                    waits = [d.visible_at - time.monotonic() for d in self._pending]
                    self._cond.wait(max(0.01, min([_IDLE_WAIT_SECONDS, *waits])))
                    continue
            closed.wait(self._owner.options.batch_window_s)
            with self._cond:
                batch = self._visible()
            if batch:
                self._deliver(batch)

    def _deliver(self, batch: list[Delivery]) -> None:
        options, logger = self._owner.options, self._owner._logger
        now_ms = int(time.time() * 1000)
        for delivery in batch:
            delivery.message.receive_count += 1
            delivery.message.first_receive_ms = delivery.message.first_receive_ms or now_ms
        event = {"Records": [sqs_record(d.message, self.ref) for d in batch]}
        context = LocalLambdaContext(
            function_name=f"local-consumer-{self.ref.name}",
            invoked_function_arn=(f"arn:aws:lambda:{self.ref.region}:000000000000:function:"
                                  f"local-consumer-{self.ref.name}"))
        try:
            with self._owner._invoke_lock, routed_to_local(self._owner.local_aws):
                response = self._consumer(event, context)
            failed, why = _failed_ids(response, {d.message.message_id for d in batch})
        except Exception as exc:  # a function error returns the whole batch to the queue
            logger.warning("callback consumer for %s raised %s: %s", self.ref.name,
                           type(exc).__name__, exc, exc_info=True)
            failed, why = {d.message.message_id for d in batch}, f"{type(exc).__name__}: {exc}"
        with self._cond:
            for delivery in batch:
                count = delivery.message.receive_count
                if delivery.message.message_id not in failed:
                    logger.info("callback message for %s processed by the consumer of %s "
                                "(receive %d)", delivery.label, self.ref.name, count)
                elif count < options.max_receive_count:
                    logger.warning("callback message for %s failed on receive %d of %d (%s); "
                                   "redelivering in %.1fs", delivery.label, count,
                                   options.max_receive_count, why, options.visibility_timeout_s)
                    delivery.visible_at = time.monotonic() + options.visibility_timeout_s
                    continue
                else:
                    delivery.dead_reason = (f"the consumer of {self.ref.name} failed the message "
                                            f"on all {count} receives (moved to the dead-letter "
                                            f"queue): {why}")
                self._pending.remove(delivery)
                delivery.settled.set()


def _failed_ids(response: Any, batch_ids: set[str]) -> tuple[set[str], str]:
    """Lambda's rule: an invalid partial batch response fails the whole batch."""
    if response is None:
        return set(), ""
    failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
    if failures is None and isinstance(response, Mapping):
        return set(), ""
    ids = {item.get("itemIdentifier") for item in failures or [] if isinstance(item, Mapping)}
    if not isinstance(failures, list) or not ids <= batch_ids or len(ids) != len(failures):
        return batch_ids, f"invalid partial batch response {response!r}"
    return ids, "reported as a batch item failure"


def _key(queue_url: str) -> str:
    return str(queue_url).rstrip("/")


def bind_consumer(consumer: Consumer, ports: ConsumerPorts, queue_url: str = "") -> Consumer:
    """`consumer` as a plain `(event, context)` handler: a port-taking one gets `ports`."""
    try:
        signature = inspect.signature(consumer)
    except (TypeError, ValueError):  # a builtin or C callable: it can only be a plain handler
        return consumer
    try:
        signature.bind(None, None, **{f.name: None for f in dataclasses.fields(ports)})
    except TypeError:
        pass
    else:
        return functools.partial(consumer, store=ports.store, callbacks=ports.callbacks,
                                 max_receive_count=ports.max_receive_count)
    try:
        signature.bind(None, None)
    except TypeError:
        raise InvalidConsumer(
            f"the callback consumer {getattr(consumer, '__qualname__', consumer)!r} for queue "
            f"{queue_url} has the signature {signature}; a consumer is a Lambda handler "
            "(event, context), or (event, context, *, store, callbacks, max_receive_count) to "
            "receive the local ports") from None
    return consumer
