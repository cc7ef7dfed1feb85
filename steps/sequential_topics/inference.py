"""SageMaker inference handler for the sequential topic model: raw text in, a topic per layer out.

Requests (content type):
- application/json: {"instances": [{"title": ..., "description": ...}, ...]} with the model's
  text columns as keys (the value of its id column, the pipeline's IdColumn, is echoed back as
  "id"; other keys are ignored), or {"instances": ["text", ...]} where each string is one
  whole document.
- text/csv: a header row naming text columns (at least one of the model's), then one record
  per line; other columns are ignored, the id column's value is echoed back as "id".
The text and id columns are those preprocessing used (saved with the model); a model trained
without an id column echoes an "id" key.
Every record gets the same cleaning as training (text_cleaning), the saved representation and
the layers' models (served_model). Responses (accept; '*/*' or none means JSON):
- application/json: {"predictions": [{"status": "ok", "topic": "2:3", "label": "...",
  "layers": [{"layer": 1, "topic": "1:1", "label": ..., "action": "split", "merged_into":
  null}, ...]}, ...]} in request order; "id" is added when the record had one.
- text/csv: header id,status,topic,label,message,layer1_topic,layer1_label,... (as many
  layers as the deepest path in the batch), one line per record.
A record with no text, nothing left after cleaning, or a value that is not text gets status
"empty" or "invalid" with a "message" and null topic, instead of failing the batch. A body
that cannot be read at all raises steps.common errors (InvalidRequest 400,
UnsupportedMediaType 415, NotAcceptable 406).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from steps.common.errors import InvalidData, InvalidRequest
from steps.common.requests import csv_rows, decode_body, json_instances, response_media_type
from steps.sequential_topics import served_model, text_cleaning
from steps.sequential_topics.contract import ID_COLUMN
from steps.sequential_topics.served_model import TopicModel

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
OK, EMPTY, INVALID = "ok", "empty", "invalid"


@dataclass
class Record:
    """One request record: its fields (text columns, id, others) or one whole text."""

    fields: dict[str, Any] = field(default_factory=dict)
    text: Any = None


@dataclass
class Request:
    records: list[Record]


def model_fn(model_dir: str) -> TopicModel:
    return served_model.load(model_dir)



def _parse_json(text: str) -> Request:
    instances = json_instances(text, "record: an object of text fields or a string")
    records = []
    for item in instances:
        records.append(Record(fields=dict(item)) if isinstance(item, dict) else Record(text=item))
    return Request(records)


def _parse_csv(text: str) -> Request:
    rows = csv_rows(text)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InvalidRequest("the CSV body needs a header row naming its text columns")
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    if not body:
        raise InvalidRequest("the CSV has a header but no data rows")
    records = []
    for number, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise InvalidRequest(f"CSV row {number} has {len(row)} values; the header names "
                                 f"{len(header)}")
        records.append(Record(fields=dict(zip(header, row, strict=True))))
    return Request(records)


def input_fn(body: bytes | str, content_type: str) -> Request:
    media, text = decode_body(body, content_type, CONTENT_TYPES, "at least one record")
    return _parse_csv(text) if media == CSV else _parse_json(text)


def _combined(record: Record, columns: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(combined text, None) or (None, why the record is unusable)."""
    if record.text is not None or not record.fields:
        if record.text is None:
            return "", None
        if not isinstance(record.text, str):
            return None, f"a record must be a string or an object of text fields, got " \
                         f"{type(record.text).__name__}"
        return record.text.strip(), None
    values = []
    for column in columns:
        value = record.fields.get(column)
        if value is not None and not isinstance(value, (str, int, float)):
            return None, f"field {column!r} is a {type(value).__name__}, not text"
        values.append(value)
    return text_cleaning.combine_fields(values), None


def _check_columns(request: Request, columns: tuple[str, ...], id_key: str) -> None:
    named = {k for r in request.records for k in r.fields} - {id_key}
    if named and not named & set(columns):
        raise InvalidRequest(f"the records name fields {sorted(named)[:8]} but none of the "
                             f"model's text columns {list(columns)}")


def predict_fn(data: Request, model: TopicModel) -> list[dict[str, Any]]:
    columns = model.settings.text_columns
    id_key = model.settings.id_column or ID_COLUMN
    _check_columns(data, columns, id_key)
    results: list[dict[str, Any]] = []
    texts: dict[int, str] = {}
    for index, record in enumerate(data.records):
        text, problem = _combined(record, columns)
        result: dict[str, Any] = {"status": OK, "topic": None, "label": None, "layers": []}
        if record.fields.get(id_key) is not None:
            result["id"] = record.fields[id_key]
        if problem is not None:
            result.update(status=INVALID, message=problem)
        elif not text:
            result.update(status=EMPTY, message="the record has no text in "
                          f"{', '.join(columns)}")
        else:
            texts[index] = text
        results.append(result)
    try:
        cleaned = dict(zip(texts, served_model.clean(model, list(texts.values())), strict=True))
    except InvalidData as error:
        raise InvalidRequest(str(error)) from None
    usable = [i for i, document in cleaned.items() if document]
    for index in set(cleaned) - set(usable):
        results[index].update(status=EMPTY, message="nothing is left of the text after "
                              "cleaning (boilerplate, URLs, e-mails, dropped entities)")
    paths = served_model.assign(model, [cleaned[i] for i in usable])
    for index, path in zip(usable, paths, strict=True):
        results[index].update(layers=path, topic=path[-1]["topic"], label=path[-1]["label"])
    return results


def response_content_type(accept: str | None) -> str:
    return response_media_type(accept, CONTENT_TYPES, JSON)


def output_fn(prediction: list[dict[str, Any]], accept: str | None) -> tuple[str, str]:
    """(body, content type) in the type response_content_type(accept) names."""
    media = response_content_type(accept)
    if media == JSON:
        return json.dumps({"predictions": prediction}), JSON
    depth = max((len(p["layers"]) for p in prediction), default=0)
    header = ["id", "status", "topic", "label", "message"]
    for layer in range(1, depth + 1):
        header += [f"layer{layer}_topic", f"layer{layer}_label"]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for p in prediction:
        row = [p.get("id", ""), p["status"], p["topic"] or "", p["label"] or "",
               p.get("message", "")]
        for layer in range(depth):
            step = p["layers"][layer] if layer < len(p["layers"]) else {}
            row += [step.get("topic", ""), step.get("label", "")]
        writer.writerow(row)
    return stream.getvalue(), CSV
