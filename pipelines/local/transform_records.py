"""What a batch transform does to records, as SageMaker documents it: split an input object into
records (`SplitType`), pick fields (`InputFilter`/`OutputFilter`: SageMaker's JSONPath
subset), pack records into requests (`BatchStrategy`, `MaxPayloadInMB`), join each output to
its input (`JoinSource`) and assemble the output object (`AssembleWith`).

The JSONPath subset (SageMaker's "Associate Prediction Results with Input Records"): `$`,
`.name` or `['name']`, `['a','b']` (an object of those members), `[i]`, `[i,j]`, `[i:j]`
(a list), `*` / `[*]`. A CSV record is a list of its fields, so `$[1:]` drops the first
column. Those result shapes are SageMaker's own, which no general JSONPath library gives
(they return a flat list of matches), hence this small evaluator.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

_TOKEN = re.compile(r"\.(\*|[A-Za-z_][\w-]*)|\[([^\]]*)\]")
_NAMES = re.compile(r"\s*'([^']*)'\s*(?:,|$)")
MEGABYTE = 1024 * 1024
JOINED_OUTPUT_KEY = "SageMakerOutput"


class RecordError(ValueError):
    """A record, filter or output that does not fit the transform's settings; says which."""


def split_records(data: bytes, split_type: str) -> list[bytes]:
    """`Line`: one record per non-empty line; `None`: the whole object is one record."""
    if split_type == "None":
        return [data]
    if split_type == "Line":
        return [line for line in data.splitlines() if line.strip()]
    raise RecordError(f"SplitType {split_type!r} is not run locally (Line and None are)")


def batches(records: list[bytes], strategy: str, max_payload_mb: int) -> Iterator[list[bytes]]:
    """SingleRecord: one record per request; MultiRecord: as many as fit in MaxPayloadInMB
    (0: no limit), lines joined by newlines. A record larger than the limit is an error."""
    limit = max_payload_mb * MEGABYTE
    batch: list[bytes] = []
    size = 0
    for record in records:
        if limit and len(record) > limit:
            raise RecordError(f"a record of {len(record)} bytes exceeds MaxPayloadInMB "
                              f"{max_payload_mb}")
        if batch and (strategy == "SingleRecord" or (limit and size + len(record) + 1 > limit)):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield batch


def parse_record(record: bytes, content_type: str) -> Any:
    """A record as a value: a CSV line is the list of its fields, JSON is parsed."""
    text = record.decode("utf-8")
    if _is_csv(content_type):
        return next(csv.reader([text]), [])
    try:
        return json.loads(text)
    except ValueError as exc:
        raise RecordError(f"record {text[:60]!r} is not JSON ({content_type}): {exc}") from None


def render_record(value: Any, content_type: str) -> bytes:
    """The inverse of parse_record: a list as a CSV line, anything else as JSON."""
    if _is_csv(content_type):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(value if isinstance(value, list)
                                                       else [value])
        return buffer.getvalue().encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def select(value: Any, path: str) -> Any:
    """`value` filtered by a JSONPath of SageMaker's subset; RecordError naming the path."""
    text = path.strip()
    if not text.startswith("$"):
        raise RecordError(f"filter {path!r} must start with $")
    position = 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise RecordError(f"filter {path!r}: cannot read {text[position:]!r} (supported: "
                              "$, .name, ['a','b'], [i], [i,j], [i:j], *)")
        value = _step(value, match[1], match[2], path)
        position = match.end()
    return value


def join_output(source: Any, output: Any, content_type: str) -> Any:
    """JoinSource Input: a CSV record's fields then the output's; a JSON object gets the output
    under SageMakerOutput; a JSON list gets it appended."""
    if isinstance(source, list):
        return source + (output if isinstance(output, list) else [output])
    if isinstance(source, dict):
        return {**source, JOINED_OUTPUT_KEY: output}
    raise RecordError(f"JoinSource Input needs CSV, JSON object or JSON array records; got "
                      f"{type(source).__name__} ({content_type})")


def assemble(records: list[bytes], assemble_with: str) -> bytes:
    """`Line`: each record on its own line; `None`: the records' bytes back to back."""
    if assemble_with == "Line":
        return b"".join(record.rstrip(b"\n") + b"\n" for record in records)
    return b"".join(records)


def _step(value: Any, name: str | None, bracket: str | None, path: str) -> Any:
    try:
        if name == "*" or bracket == "*":
            return list(value.values()) if isinstance(value, dict) else list(value)
        if name is not None:
            return value[name]
        inner = (bracket or "").strip()
        if inner.startswith("'"):
            names = _NAMES.findall(inner)
            return value[names[0]] if len(names) == 1 else {n: value[n] for n in names}
        if ":" in inner:
            start, _, end = inner.partition(":")
            return value[int(start) if start.strip() else None:
                         int(end) if end.strip() else None]
        indexes = [int(part) for part in inner.split(",")]
        return value[indexes[0]] if len(indexes) == 1 else [value[i] for i in indexes]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise RecordError(f"filter {path!r} does not apply to the record "
                          f"{json.dumps(value, default=str)[:80]}: {type(exc).__name__} "
                          f"{exc}") from None


def _is_csv(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "text/csv"
