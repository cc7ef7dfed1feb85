"""SageMaker inference handler for one segment's model: the segment's preprocessor (scaling,
one-hot), then its XGBoost booster. On a multi-model endpoint every segment's model directory
names this handler in its serving.json.

Requests (content type):
- application/json: {"instances": [{"feature": value, ...}, ...]} or a bare list of such
  records, keyed by feature name. Numbers (or numeric strings) for numeric features, null or
  absent for missing; text for categoricals (e.g. "yes"/"no"; a value training never saw
  predicts as an unseen category, as in the stacked ensemble); dates as the training table
  wrote them (its format is in the model's metadata; the date's parts are computed, not sent).
- text/csv: a header row naming the features (any order), then one row per house; an empty
  numeric field is missing.
A record may carry the segment column (e.g. "city"): it must name this model's segment. Any
other unknown name is an error (a typo must not pass as a missing value).
Responses (accept; '*/*' or none means application/json):
- application/json: {"predictions": [v, ...], "segment": "<name>"}
- text/csv: one value per line.
Bad requests raise steps.common errors (InvalidRequest 400, UnsupportedMediaType 415,
NotAcceptable 406) with a one-line message.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from steps.common.errors import InvalidData, InvalidRequest
from steps.common.requests import csv_rows, decode_body, json_document, response_media_type
from steps.multi_model import model as segment_model
from steps.multi_model.features import inputs
from steps.multi_model.model import SegmentModel

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)


@dataclass
class Request:
    """A parsed body: rows of cells (str, number or None) under column `names`."""

    names: list[str]
    rows: list[list[Any]]
    unit: str  # "CSV row" or "instance", for messages


@dataclass
class Prediction:
    values: np.ndarray
    segment: str


def model_fn(model_dir: str) -> SegmentModel:
    """The segment's model, predicting on one thread whatever OMP_NUM_THREADS says: a request
    is a few rows, and the endpoint serves requests side by side."""
    model = segment_model.load(model_dir)
    model.booster.set_param({"nthread": 1})
    return model


def _cell(value: Any, where: str) -> Any:
    """A JSON value as a cell; true/false become 'True'/'False', as pandas writes them (a
    boolean feature reads them, and 1/0)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if not isinstance(value, (int, float)):
        raise InvalidRequest(f"{where} is {json.dumps(value)}; values must be numbers, strings "
                             f"or null")
    return None if isinstance(value, float) and math.isnan(value) else value


def _parse_json(text: str) -> Request:
    document = json_document(text)
    records = document.get("instances") if isinstance(document, dict) else document
    if not isinstance(records, list) or not records or not all(isinstance(r, dict)
                                                               for r in records):
        raise InvalidRequest('the JSON body must be {"instances": [{"feature": value, ...}, '
                             '...]} (or a list of such records) with at least one record')
    names: list[str] = []
    for record in records:
        names.extend(k for k in record if k not in names)
    rows = [[_cell(record.get(n), f"instance {i}, feature {n!r}") for n in names]
            for i, record in enumerate(records, start=1)]
    return Request(names, rows, "instance")


def _parse_csv(text: str) -> Request:
    rows = [row for row in csv_rows(text) if row]
    header = [cell.strip() for cell in rows[0]] if rows else []
    if len(rows) < 2:
        raise InvalidRequest("the CSV needs a header row naming the features and at least one "
                             "data row")
    if len(set(header)) != len(header):
        duplicated = sorted({n for n in header if header.count(n) > 1})
        raise InvalidRequest(f"CSV header names {duplicated} more than once")
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise InvalidRequest(f"CSV row {number} has {len(row)} values; the header names "
                                 f"{len(header)}")
    body = [[cell if cell.strip() else None for cell in row] for row in rows[1:]]
    return Request(header, body, "CSV row")


def input_fn(body: bytes | str, content_type: str) -> Request:
    """Parse a request body; the model checks names and values in predict_fn."""
    media, text = decode_body(body, content_type, CONTENT_TYPES, "at least one record")
    return _parse_csv(text) if media == CSV else _parse_json(text)


def _check_names(request: Request, model: SegmentModel) -> None:
    given = inputs(model.features)
    known = {f.name for f in given}
    segment_column = model.metadata.get("segment_column")
    unknown = [n for n in request.names if n not in known and n != segment_column]
    if unknown:
        raise InvalidRequest(f"unknown feature name(s) {unknown}; the model's features are "
                             f"{', '.join(f.name for f in given)}")
    if segment_column in request.names:
        column = request.names.index(segment_column)
        for number, row in enumerate(request.rows, start=1):
            if row[column] is not None and str(row[column]).strip() != model.segment:
                raise InvalidRequest(f"{request.unit} {number} is for {segment_column} "
                                     f"{row[column]!r} but this model serves {model.segment!r}; "
                                     f"invoke that segment's target model")


def predict_fn(data: Request, model: SegmentModel) -> Prediction:
    """Check the request against the model's features, preprocess, predict."""
    _check_names(data, model)
    try:
        values = model.predict_rows(data.names, data.rows, source="request")
    except InvalidData as error:
        raise InvalidRequest(str(error)) from None
    return Prediction(values=values, segment=model.segment)


def response_content_type(accept: str | None) -> str:
    """The content type output_fn writes for `accept`; NotAcceptable if it writes none."""
    return response_media_type(accept, CONTENT_TYPES, JSON)


def output_fn(prediction: Prediction, accept: str | None) -> str:
    """The response body in the type response_content_type(accept) names."""
    values = [float(v) for v in prediction.values]
    if response_content_type(accept) == JSON:
        return json.dumps({"predictions": values, "segment": prediction.segment})
    return "".join(f"{v!r}\n" for v in values)
