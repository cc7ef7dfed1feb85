"""Pipeline-callback port: complete a CallbackStep by its token, with success or failure.

`SageMakerCallbacks` sends SendPipelineExecutionStepSuccess/Failure; the local runner
provides its own implementation that completes the waiting step in-process.
"""
from __future__ import annotations

import abc
from typing import Any

MAX_FAILURE_REASON = 256
MAX_OUTPUT_PARAMETERS = 50
MAX_OUTPUT_VALUE = 1024


class CallbackAlreadyCompleted(RuntimeError):
    """The step this token belongs to has already completed (a duplicate delivery)."""


class CallbackTokenRejected(RuntimeError):
    """SageMaker does not know the token, or it has expired: no answer can ever land."""


class TransientCallbackError(RuntimeError):
    """Throttling or a timeout: the caller may try again later."""


class PipelineCallbacks(abc.ABC):
    """Answer a CallbackStep. Implementations raise CallbackAlreadyCompleted on conflicts and
    CallbackTokenRejected for a token the service rejects as invalid or expired."""

    @abc.abstractmethod
    def send_success(self, token: str, outputs: dict[str, str], client_request_token: str) -> None:
        """Complete the step successfully with flat string output parameters."""

    @abc.abstractmethod
    def send_failure(self, token: str, reason: str, client_request_token: str) -> None:
        """Fail the step with a reason (truncated to 256 characters)."""


def check_outputs(outputs: dict[str, str]) -> list[dict[str, str]]:
    """Validate output parameters against SageMaker's limits and return them in API shape."""
    if len(outputs) > MAX_OUTPUT_PARAMETERS:
        raise ValueError(f"{len(outputs)} output parameters; SageMaker allows {MAX_OUTPUT_PARAMETERS}")
    shaped = []
    for name, value in outputs.items():
        if not isinstance(value, str):
            raise ValueError(f"output parameter {name!r} must be a string, got {type(value).__name__}")
        if len(value) > MAX_OUTPUT_VALUE:
            raise ValueError(
                f"output parameter {name!r} is {len(value)} characters; the limit is "
                f"{MAX_OUTPUT_VALUE}: pass an S3 URI instead of content")
        shaped.append({"Name": name, "Value": value})
    return shaped


def truncate_reason(reason: str) -> str:
    """SageMaker rejects failure reasons over 256 characters; keep the start, mark the cut."""
    if len(reason) <= MAX_FAILURE_REASON:
        return reason
    return reason[: MAX_FAILURE_REASON - 3] + "..."


# What SendPipelineExecutionStep* answers for a malformed, unknown or expired token.
_REJECTED_TOKEN_CODES = frozenset({"ValidationException", "ResourceNotFound",
                                   "ResourceNotFoundException"})
_THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "ServiceUnavailable",
                             "InternalFailure", "RequestTimeout"})


class SageMakerCallbacks(PipelineCallbacks):
    """The AWS implementation over a boto3 SageMaker client (passed in)."""

    def __init__(self, sagemaker_client: Any):
        self._sm = sagemaker_client

    def send_success(self, token: str, outputs: dict[str, str], client_request_token: str) -> None:
        self._call("send_pipeline_execution_step_success", CallbackToken=token,
                   OutputParameters=check_outputs(outputs),
                   ClientRequestToken=client_request_token)

    def send_failure(self, token: str, reason: str, client_request_token: str) -> None:
        self._call("send_pipeline_execution_step_failure", CallbackToken=token,
                   FailureReason=truncate_reason(reason),
                   ClientRequestToken=client_request_token)

    def _call(self, operation: str, **kwargs: Any) -> None:
        try:
            getattr(self._sm, operation)(**kwargs)
        except Exception as exc:
            code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
            if code == "ConflictException":
                raise CallbackAlreadyCompleted(str(exc)) from exc
            if code in _REJECTED_TOKEN_CODES:
                raise CallbackTokenRejected(f"{operation}: {exc}") from exc
            if code in _THROTTLE_CODES or type(exc).__name__ in (
                    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
                raise TransientCallbackError(f"{operation}: {exc}") from exc
            raise
