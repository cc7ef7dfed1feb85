"""Reading an inference request's body: the part every handler does the same way."""
from __future__ import annotations

from steps.common.errors import InvalidRequest, UnsupportedMediaType


def media_type(value: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (value or "").split(";")[0].strip().lower()


def decode_body(body: bytes | str, content_type: str, supported: tuple[str, ...],
                expected: str) -> tuple[str, str]:
    """(media type, text) of a request; `expected` says what a body should hold.

    Raises UnsupportedMediaType (415) for another content type and InvalidRequest (400) for
    a body that is not UTF-8 or is empty.
    """
    media = media_type(content_type)
    if media not in supported:
        raise UnsupportedMediaType(f"content type {content_type!r} is not supported; send "
                                   f"{' or '.join(supported)}")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("the request body is not UTF-8 text") from None
    if not body.strip():
        raise InvalidRequest(f"the request body is empty; send {expected}")
    return media, body
