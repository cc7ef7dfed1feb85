"""The WSGI application: SageMaker's `/ping` and `/invocations` over a ModelSource.

Errors are JSON `{"error": ..., "status": ..., "request_id": ...}`, never a stack trace. An
exception with an integer `status` attribute in 400-499 (the handlers' InvalidRequest,
UnsupportedMediaType, ...) answers that status and its message; anything else answers 500 with
a generic message, and the traceback goes to the log under the same request id.

What the hooks receive: `input_fn(body, content_type)` gets the body as bytes and the bare
media type (`text/csv`, parameters dropped, lower case); `output_fn(prediction, accept)` gets
the first Accept type, or the request's content type when Accept is absent or `*/*`. It
returns a `(body, content_type)` pair, or the body (bytes or str) labelled with the handler's
optional `response_content_type(accept)` hook, else with the accept type itself.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from steps.common.errors import HttpError
from steps.serve.models import ModelSource

LOG = logging.getLogger(__name__)
TARGET_MODEL_HEADER = "HTTP_X_AMZN_SAGEMAKER_TARGET_MODEL"
REQUEST_ID_KEY = "steps.serve.request_id"
DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024  # SageMaker's real-time invocation payload limit
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            406: "Not Acceptable", 413: "Content Too Large", 415: "Unsupported Media Type",
            422: "Unprocessable Content", 500: "Internal Server Error",
            503: "Service Unavailable", 507: "Insufficient Storage"}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ServingApp:
    """WSGI callable; `max_request_bytes` bounds the body of an invocation (413 above)."""

    def __init__(self, source: ModelSource, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 json_routes: Mapping[str, Callable[[], Any]] | None = None):
        """`json_routes` adds GET routes answering `json.dumps(route())`, e.g. a multi-model
        endpoint's `/models`."""
        if max_request_bytes < 1:
            raise ValueError(f"max_request_bytes must be positive, got {max_request_bytes}")
        self.source = source
        self.max_request_bytes = max_request_bytes
        self._routes: dict[str, tuple[str, Callable[[dict[str, Any]], tuple[int, str, bytes]]]]
        self._routes = {"/ping": ("GET", self._ping), "/invocations": ("POST", self._invoke)}
        for path, route in (json_routes or {}).items():
            if path in self._routes or not path.startswith("/"):
                raise ValueError(f"json route {path!r} must start with '/' and not replace "
                                 f"{' or '.join(self._routes)}")
            self._routes[path] = ("GET", _json_answer(route))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = environ[REQUEST_ID_KEY] = uuid.uuid4().hex
        try:
            status, content_type, body = self._route(environ)
            headers: list[tuple[str, str]] = [("Content-Type", content_type)]
        except Exception as exc:  # the HTTP boundary: every failure becomes a JSON answer
            if not isinstance(exc, HttpError):
                LOG.exception("request %s failed", request_id)
                exc = HttpError("internal error; see the endpoint's log", 500)
            status, body = exc.status, _error_body(exc.status, str(exc), request_id)
            headers = [("Content-Type", "application/json"), *exc.headers]
        headers += [("Content-Length", str(len(body))), ("X-Request-Id", request_id)]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _route(self, environ: dict[str, Any]) -> tuple[int, str, bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path not in self._routes:
            *others, last = [f"{verb} {route}" for route, (verb, _) in self._routes.items()]
            raise HttpError(f"no route {path!r}: this server answers "
                            f"{', '.join(others)} and {last}", 404)
        allowed, action = self._routes[path]
        if method != allowed:
            raise HttpError(f"{path} accepts {allowed}, not {method}", 405,
                            [("Allow", allowed)])
        return action(environ)

    def _ping(self, environ: dict[str, Any]) -> tuple[int, str, bytes]:
        if not self.source.healthy():
            raise HttpError("model is not loaded", 503)
        return 200, "application/json", b'{"status": "healthy"}'

    def _invoke(self, environ: dict[str, Any]) -> tuple[int, str, bytes]:
        body = self._read_body(environ)
        content_type = _media_type(environ.get("CONTENT_TYPE"))
        if not content_type:
            raise HttpError("the request has no Content-Type header", 415)
        accept = _media_type(environ.get("HTTP_ACCEPT"))
        accept = content_type if accept in ("", "*/*") else accept
        request_id = environ[REQUEST_ID_KEY]
        phase = "model"
        try:
            loaded = self.source.get(environ.get(TARGET_MODEL_HEADER))
            handler = loaded.handler
            phase = "input_fn"
            data = handler.input_fn(body, content_type)
            phase = "predict_fn"
            prediction = handler.predict_fn(data, loaded.model)
            phase = "output_fn"
            result = handler.output_fn(prediction, accept)
            if isinstance(result, tuple) and len(result) == 2:
                result, response_type = result
            elif handler.response_content_type is not None:
                response_type = handler.response_content_type(accept)
            else:
                response_type = accept
        except Exception as exc:  # the HTTP boundary: every failure becomes a JSON answer
            raise _as_http_error(exc, phase, request_id) from exc
        return 200, response_type, _encode_body(result, request_id)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        limit = self.max_request_bytes
        too_large = HttpError(f"request body exceeds the {limit}-byte limit", 413)
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise too_large
        if not body:
            raise HttpError("the request body is empty", 400)
        return body


def _json_answer(route: Callable[[], Any]) -> Callable[[dict[str, Any]], tuple[int, str, bytes]]:
    def answer(environ: dict[str, Any]) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(route()).encode("utf-8")
    return answer


def _media_type(header: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'; first entry of an Accept list."""
    return (header or "").split(",")[0].split(";")[0].strip().lower()


def _as_http_error(exc: Exception, phase: str, request_id: str) -> HttpError:
    status = getattr(exc, "status", None)
    if isinstance(exc, HttpError) or (isinstance(status, int) and 400 <= status < 500):
        LOG.warning("request %s: %s answered %s: %s", request_id, phase, status, exc)
        return HttpError(str(exc), int(status))
    LOG.exception("request %s: %s failed", request_id, phase)
    return HttpError(f"internal error in {phase}; see the endpoint's log", 500)


def _encode_body(result: Any, request_id: str) -> bytes:
    if isinstance(result, str):
        return result.encode("utf-8")
    if isinstance(result, (bytes, bytearray)):
        return bytes(result)
    LOG.error("request %s: output_fn returned %s, not bytes or str", request_id,
              type(result).__name__)
    raise HttpError("internal error in output_fn; see the endpoint's log", 500)


def _error_body(status: int, message: str, request_id: str) -> bytes:
    return json.dumps({"error": message, "status": status, "request_id": request_id}).encode()
