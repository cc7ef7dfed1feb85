"""The exceptions that mean "the input is wrong", as opposed to a bug in our code.

Step scripts turn `InvalidData` into SageMaker's failure file and a non-zero exit. Every HTTP
answer other than 200 is an `HttpError` (the one hierarchy: handlers raise its
`RequestError`s, the serve module its own subclasses), which the serve apps turn into a JSON
response with its `status` and one-line message.
"""
from __future__ import annotations

from steps.common.structure import bounded


class InvalidData(ValueError):
    """Data or arguments a step cannot use; the message says what is wrong and how to fix it."""


class HttpError(Exception):
    """A request answered with `status` (the class's, or one given) and extra `headers`.

    The message may quote the request, so it is cut to one bounded line: a hostile body never
    makes a long error answer or log line. It is safe to show to the caller.
    """

    status = 500

    def __init__(self, message: str, status: int | None = None,
                 headers: list[tuple[str, str]] | None = None):
        super().__init__(bounded(message))
        if status is not None:
            self.status = status
        self.headers = list(headers or [])


class RequestError(HttpError, ValueError):
    """An inference request the handler refuses."""

    status = 400


class InvalidRequest(RequestError):
    """The request body does not fit the model: wrong columns, unknown names, bad values."""

    status = 400


class UnsupportedMediaType(RequestError):
    """The request's content type is not one the handler reads."""

    status = 415


class NotAcceptable(RequestError):
    """The request's Accept type is not one the handler writes."""

    status = 406
