"""The local pipeline-callback port: one answer file per token under `<root>/callbacks/`.

A local run's CallbackStep polls `read_callback(root, token)`; whoever answers (the Lambda
handler invoked locally, `mapping-review`, another process) writes `<token>.json` with
write-if-absent, so the first answer wins and a second one raises CallbackAlreadyCompleted, as
SageMaker answers a completed step with a ConflictException.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from runtime.ports.callbacks import (
    CallbackAlreadyCompleted,
    CallbackTokenRejected,
    PipelineCallbacks,
    check_outputs,
    truncate_reason,
)
from steps.common.atomic import write_if_absent

CALLBACKS_DIR = "callbacks"
_TOKEN = re.compile(r"[A-Za-z0-9]{10}")  # SageMaker's CallbackToken shape


class FileCallbacks(PipelineCallbacks):
    """Answers as JSON files: {"token", "status": Succeeded|Failed, "outputs" | "failure_reason",
    "client_request_token"}."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def send_success(self, token: str, outputs: dict[str, str], client_request_token: str) -> None:
        check_outputs(outputs)
        self._answer(token, {"status": "Succeeded", "outputs": dict(outputs),
                             "client_request_token": client_request_token})

    def send_failure(self, token: str, reason: str, client_request_token: str) -> None:
        self._answer(token, {"status": "Failed", "failure_reason": truncate_reason(reason),
                             "client_request_token": client_request_token})

    def _answer(self, token: str, answer: dict[str, Any]) -> None:
        try:
            path = callback_path(self.root, token)
        except ValueError as exc:  # as SageMaker's ValidationException for a malformed token
            raise CallbackTokenRejected(str(exc)) from None
        data = json.dumps({"token": token, **answer}, indent=2, sort_keys=True).encode("utf-8")
        if not write_if_absent(path, data):  # the first answer wins
            previous = json.loads(path.read_text(encoding="utf-8"))["status"]
            raise CallbackAlreadyCompleted(
                f"the step of callback token {token} already completed ({previous})")


def callback_path(root: str | os.PathLike[str], token: str) -> Path:
    """`<root>/callbacks/<token>.json`; the token must have SageMaker's shape."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ValueError(f"callback token {token!r} must be 10 letters or digits, like "
                         "SageMaker's CallbackToken")
    return Path(root).resolve() / CALLBACKS_DIR / f"{token}.json"


def read_callback(root: str | os.PathLike[str], token: str) -> dict[str, Any] | None:
    """The answer for `token`, or None while the step still waits."""
    path = callback_path(root, token)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
