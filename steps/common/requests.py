"""Reading an inference request's body: the part every handler does the same way."""
from __future__ import annotations

import csv
import io
from typing import Any

from steps.common.errors import InvalidRequest, NotAcceptable, UnsupportedMediaType
from steps.common.structure import StructureError, load_json


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


def response_media_type(accept: str | None, supported: tuple[str, ...], default: str) -> str:
    """The media type to answer in for `accept` (`default` for none or a wildcard);
    NotAcceptable (406) if the handler writes none of them."""
    media = media_type(accept)
    if media in ("", "*/*", "application/*"):
        return default
    if media in supported:
        return media
    raise NotAcceptable(f"accept type {accept!r} is not supported; ask for "
                        f"{' or '.join(supported)}")


def json_document(text: str) -> Any:
    """A JSON body's value; InvalidRequest (400) for bad JSON, deep nesting or a bad key."""
    try:
        return load_json(text)
    except StructureError as error:
        raise InvalidRequest(f"the request body is {error}") from None


def csv_rows(text: str) -> list[list[str]]:
    """Every row of a CSV body (any line ending); InvalidRequest (400) for a field beyond the
    csv module's size limit or any other unreadable CSV."""
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise InvalidRequest(f"the request body is not readable CSV ({error})") from None


def json_instances(text: str, expected: str) -> list[Any]:
    """The non-empty `instances` list of a JSON body; `expected` says what an instance is."""
    document = json_document(text)
    instances = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(instances, list) or not instances:
        raise InvalidRequest(f'the JSON body must be {{"instances": [...]}} with at least one '
                             f"{expected}")
    return instances
