"""SageMaker inference handler for the stacked ensemble: one invocation runs every learner and
the chosen combiner on a batch of rows.

Requests (content type):
- text/csv: one row per line, the features in training order, no target; a first line with
  a feature name in it is a header (any order, a subset allowed: absent ones are missing).
  An empty field is a missing value.
- application/json: {"instances": [[v, ...], ...]} in training order, or
  {"instances": [{"feature": v, ...}, ...]} keyed by name (absent or null = missing).
Responses (accept; '*/*' or none means application/json):
- application/json: regression {"predictions": [v, ...]}; classification
  {"predictions": [label, ...], "classes": [label, ...], "probabilities": [[p, ...], ...]}
  with one probability per class, in the order of "classes".
- text/csv: regression one value per line; classification `label,p_<class>...` per line.
Regression values are on the target's own scale, also for a model trained with
target_transform=log (its learners undo the transform). Categorical values unseen in training
are accepted (XGBoost sends them its missing-value way, CatBoost gives them its prior, the
one-hot encoder its infrequent column or none); an unknown ordinal value is a missing rank.
input_fn(body, content_type) parses; predict_fn(data, model) checks columns and values against
the model and predicts; output_fn(prediction, accept) returns the body, and
response_content_type(accept) is the content type to send with it. Bad requests raise
steps.common errors (InvalidRequest 400, UnsupportedMediaType 415, NotAcceptable 406) with a
one-line message.

Speed: predict_fn reads a request with the model's FeatureReader (a long plain CSV with pandas'
C parser) and predicts with ServedEnsemble.serve; a request the reader leaves to the reference
path (a refused value, a wrong row length, an unknown name) goes through features_frame and
`coerce`, whose messages it gets. Both give the same predictions.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData, InvalidRequest
from steps.common.requests import (
    csv_rows,
    decode_body,
    json_instances,
    response_media_type,
)
from steps.stacked_ensemble import ensemble
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import coerce
from steps.stacked_ensemble.request_features import FeatureArrays, FeatureReader
from steps.stacked_ensemble.served_ensemble import ServedEnsemble

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
CSV_ROW = "CSV row"  # the unit of a CSV request, in messages
_SHOWN_NAMES = 12  # feature names quoted in an error message before "..."


@dataclass
class Prediction:
    """The chosen ensemble's output for a batch: values, or labels with class probabilities."""

    values: np.ndarray
    classes: tuple[Any, ...] = ()
    probabilities: np.ndarray | None = None


def model_fn(model_dir: str) -> ServedEnsemble:
    return ServedEnsemble.of(ensemble.load(model_dir))


def _names(model: Ensemble) -> str:
    names = model.spec.inputs
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown + (", ..." if len(names) > _SHOWN_NAMES else "")


def _cell(value: Any, where: str) -> Any:
    """A JSON value as text for coercion (true as pandas writes it: "True"); None stays
    missing."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if not isinstance(value, (int, float)):
        raise InvalidRequest(f"{where} is {json.dumps(value)}; values must be numbers, "
                             "strings, true/false or null")
    return None if isinstance(value, float) and math.isnan(value) else repr(value)


@dataclass
class Request:
    """A parsed body: rows of cells (text or None), named by `names` or, when None, in
    training order. CSV rows keep their first line: only the model knows if it is a header.
    A plain CSV body (no quotes, no NULs: csv.reader cannot fail on it but for a huge field)
    keeps its `text` and is split into rows only when they are asked for, so a long one can
    go to the model's bulk reader instead."""

    cells: list[list[Any]] | None
    names: list[str] | None
    unit: str
    text: str | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[list[Any]]:
        if self.cells is None:
            self.cells = _csv_body_rows(self.text or "")
        return self.cells


def _check_names(names: list[str], model: Ensemble, where: str) -> None:
    known = set(model.spec.inputs)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidRequest(f"{where}: unknown feature name(s) {unknown}; the model's features "
                             f"are {_names(model)}")
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidRequest(f"{where}: feature name(s) {duplicated} appear more than once")


def _positional_frame(rows: list[list[Any]], model: Ensemble, unit: str) -> pd.DataFrame:
    expected = len(model.spec.inputs)
    for number, row in enumerate(rows, start=1):
        if len(row) != expected:
            raise InvalidRequest(f"{unit} {number} has {len(row)} values; expected {expected} "
                                 f"({_names(model)})")
    return pd.DataFrame(rows, columns=model.spec.inputs, dtype=object)


def _named_frame(rows: list[list[Any]], names: list[str], model: Ensemble,
                 where: str) -> pd.DataFrame:
    _check_names(names, model, where)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    return frame.reindex(columns=model.spec.inputs)


def _csv_frame(rows: list[list[str]], model: Ensemble) -> pd.DataFrame:
    names = set(model.spec.inputs)
    header = [c.strip() for c in rows[0]]
    if not any(cell in names for cell in header):
        return _positional_frame(rows, model, CSV_ROW)
    body = rows[1:]
    if not body:
        raise InvalidRequest("the CSV has a header but no data rows")
    for number, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise InvalidRequest(f"CSV row {number} has {len(row)} values; the header names "
                                 f"{len(header)}")
    return _named_frame(body, header, model, "CSV header")


def features_frame(request: Request, model: Ensemble) -> pd.DataFrame:
    """The request's rows as the model's features, coerced to their kinds."""
    if request.unit == CSV_ROW:
        frame = _csv_frame(request.rows, model)
    elif request.names is None:
        frame = _positional_frame(request.rows, model, request.unit)
    else:
        frame = _named_frame(request.rows, request.names, model, "JSON instances")
    try:
        return coerce(frame, model.spec, "request")
    except InvalidData as error:
        raise InvalidRequest(str(error)) from None


def _csv_body_rows(text: str) -> list[list[str]]:
    rows = [row for row in csv_rows(text) if row]
    if not rows:
        raise InvalidRequest("the request body has no CSV rows; send one row of feature "
                             "values per line")
    return rows


def _parse_csv(text: str) -> Request:
    if '"' in text or "\x00" in text:
        return Request(_csv_body_rows(text), None, CSV_ROW)
    return Request(None, None, CSV_ROW, text)


def _parse_json(text: str) -> Request:
    instances = json_instances(text, "row (a list of values in feature order, or an object "
                                     "keyed by feature name)")
    if all(isinstance(row, dict) for row in instances):
        names: list[str] = []
        for row in instances:
            names.extend(k for k in row if k not in names)
        rows = [[_cell(row.get(n), f"instance {i}, feature {n!r}") for n in names]
                for i, row in enumerate(instances, 1)]
        return Request(rows, names, "instance")
    if all(isinstance(row, list) for row in instances):
        rows = [[_cell(v, f"instance {i}, value {j}") for j, v in enumerate(row, 1)]
                for i, row in enumerate(instances, 1)]
        return Request(rows, None, "instance")
    raise InvalidRequest("every item of \"instances\" must be a list of values in feature order "
                         "or an object keyed by feature name, not a mix or other values")


def input_fn(body: bytes | str, content_type: str) -> Request:
    """Parse a request body; the model checks its columns and values in predict_fn."""
    media, text = decode_body(body, content_type, CONTENT_TYPES, "at least one row of features")
    return _parse_csv(text) if media == CSV else _parse_json(text)


def _read_cells(request: Request, reader: FeatureReader) -> FeatureArrays | None:
    if request.unit != CSV_ROW:
        return reader.cells(request.rows, request.names)
    header = reader.csv_header(request.rows[0])
    if header is None:
        return reader.cells(request.rows)
    return reader.cells(request.rows[1:], header) if len(request.rows) > 1 else None


def read_features(request: Request, model: ServedEnsemble) -> FeatureArrays:
    """The request's features: the model's reader, or the reference path (which refuses)."""
    features = None
    if request.text is not None:
        features = model.reader.bulk_csv(request.text)
    if features is None:
        features = _read_cells(request, model.reader)
    if features is None:
        features = FeatureArrays.of_frame(features_frame(request, model), model.spec)
    return features


def prediction_of(output: np.ndarray, model: Ensemble) -> Prediction:
    """The answer for the ensemble's output: values, or labels with class probabilities."""
    if not model.task.is_classification:
        return Prediction(values=output)
    labels = np.asarray(model.task.classes, dtype=object)[np.argmax(output, axis=1)]
    return Prediction(values=labels, classes=model.task.classes, probabilities=output)


def predict_fn(data: Request, model: ServedEnsemble) -> Prediction:
    """Check the request against the model's features, then run the whole ensemble once."""
    return prediction_of(model.serve(read_features(data, model)), model)


def response_content_type(accept: str | None) -> str:
    """The content type output_fn writes for `accept`; NotAcceptable if it writes none."""
    return response_media_type(accept, CONTENT_TYPES, JSON)


def output_fn(prediction: Prediction, accept: str | None) -> str:
    """The response body in the type response_content_type(accept) names."""
    media = response_content_type(accept)
    values = prediction.values.tolist()  # plain floats, or the labels as task.classes has them
    if media == JSON:
        document: dict[str, Any] = {"predictions": values}
        if prediction.probabilities is not None:
            document["classes"] = list(prediction.classes)
            document["probabilities"] = prediction.probabilities.tolist()
        return json.dumps(document)
    if prediction.probabilities is None:
        return "".join(f"{v!r}\n" for v in values)  # what csv.writer writes for one float
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")  # labels may need quoting
    writer.writerows([v, *map(repr, row)] for v, row in zip(values,
                                                            prediction.probabilities.tolist(),
                                                            strict=True))
    return stream.getvalue()
