"""The exceptions that mean "the input is wrong", as opposed to a bug in our code.

Step scripts turn `InvalidData` into SageMaker's failure file and a non-zero exit; the serve
module turns a `RequestError` into an HTTP response with its `status` and one-line message.
"""
from __future__ import annotations

from steps.common.structure import bounded


class InvalidData(ValueError):
    """Data or arguments a step cannot use; the message says what is wrong and how to fix it."""


class RequestError(ValueError):
    """An inference request the handler refuses; `status` is the HTTP status to answer with.

    The message quotes the request, so it is cut to one bounded line: a hostile body never
    makes a long error answer or log line.
    """

    status = 400

    def __init__(self, message: str):
        super().__init__(bounded(message))


class InvalidRequest(RequestError):
    """The request body does not fit the model: wrong columns, unknown names, bad values."""

    status = 400


class UnsupportedMediaType(RequestError):
    """The request's content type is not one the handler reads."""

    status = 415


class NotAcceptable(RequestError):
    """The request's Accept type is not one the handler writes."""

    status = 406
