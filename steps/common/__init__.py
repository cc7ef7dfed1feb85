"""Helpers every step script and inference handler shares: errors, failure reporting, CLI, files.

The serve module maps the request errors to HTTP statuses, so they are importable from here:
`from steps.common import InvalidRequest, UnsupportedMediaType, NotAcceptable, RequestError`.
"""
from steps.common.errors import (
    HttpError,
    InvalidData,
    InvalidRequest,
    NotAcceptable,
    RequestError,
    UnsupportedMediaType,
)

__all__ = [
    "HttpError",
    "InvalidData",
    "InvalidRequest",
    "NotAcceptable",
    "RequestError",
    "UnsupportedMediaType",
]
