"""The two shapes of a callback consumer, checked when the run's queues are built."""
from __future__ import annotations

import logging

import pytest

from pipelines.local.callback_queues import (
    CallbackOptions,
    CallbackQueues,
    ConsumerPorts,
    InvalidConsumer,
    bind_consumer,
)
from runtime.ports.local_callbacks import FileCallbacks
from runtime.ports.object_store import LocalObjectStore

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/mapping-updates"


@pytest.fixture
def ports(tmp_path) -> ConsumerPorts:
    return ConsumerPorts(LocalObjectStore(tmp_path), FileCallbacks(tmp_path), 4)


def test_a_plain_handler_is_called_as_it_is(ports):
    def handler(event, context):
        return {"batchItemFailures": [], "seen": event}

    assert bind_consumer(handler, ports)({"Records": []}, None)["seen"] == {"Records": []}


def test_a_port_taking_handler_receives_the_runs_ports(ports):
    def handler(event, context, *, store, callbacks, max_receive_count):
        return store, callbacks, max_receive_count

    assert bind_consumer(handler, ports)({}, None) == (ports.store, ports.callbacks, 4)


def test_any_other_shape_is_refused_when_the_queues_are_built(tmp_path):
    def half(event, context, *, store):
        return None

    with pytest.raises(InvalidConsumer, match=r"the callback consumer '.*half' for queue "
                                              rf"{QUEUE} has the signature \(event, context, \*, "
                                              r"store\); a consumer is a Lambda handler"):
        CallbackQueues({QUEUE: half}, tmp_path, CallbackOptions(), logging.getLogger("test"))
