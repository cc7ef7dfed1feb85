"""A tiny inference handler for the serve tests: y = intercept + coef . x.

The model dir holds coefficients.json: {"intercept": 1.0, "coef": [2.0, 3.0]}. Loads are
recorded in LOADS so tests can check that a model loads once.
"""
import json
import os


class BadRequest(ValueError):
    status = 400


class UnsupportedMediaType(ValueError):
    status = 415


class NotAcceptable(ValueError):
    status = 406


LOADS: list[str] = []


def model_fn(model_dir):
    with open(os.path.join(model_dir, "coefficients.json"), encoding="utf-8") as handle:
        model = json.load(handle)
    LOADS.append(model_dir)
    return model


def input_fn(body, content_type):
    text = body.decode("utf-8")
    if content_type == "text/csv":
        try:
            return [[float(v) for v in line.split(",")] for line in text.splitlines() if line]
        except ValueError as exc:
            raise BadRequest(f"CSV rows must be numbers: {exc}") from exc
    if content_type == "application/json":
        return json.loads(text)["instances"]
    raise UnsupportedMediaType(f"content type {content_type!r} is not text/csv or "
                               "application/json")


def predict_fn(rows, model):
    coef = model["coef"]
    for row in rows:
        if len(row) != len(coef):
            raise BadRequest(f"each row needs {len(coef)} features, got {len(row)}")
    return [model["intercept"] + sum(c * x for c, x in zip(coef, row, strict=True)) for row in rows]


def output_fn(prediction, accept):
    if accept == "application/json":
        return json.dumps({"predictions": prediction}), "application/json"
    if accept == "text/csv":
        return "".join(f"{p}\n" for p in prediction)
    raise NotAcceptable(f"accept type {accept!r} is not text/csv or application/json")
