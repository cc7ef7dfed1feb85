"""A handler that returns bare bodies and names their type with response_content_type."""
import json


class NotAcceptable(ValueError):
    status = 406


def model_fn(model_dir):
    return 2.0


def input_fn(body, content_type):
    return [float(v) for v in body.decode("utf-8").split(",")]


def predict_fn(data, model):
    return [model * v for v in data]


def response_content_type(accept):
    if accept in ("application/json", "application/*"):
        return "application/json"
    raise NotAcceptable(f"accept type {accept!r} is not supported; ask for application/json")


def output_fn(prediction, accept):
    response_content_type(accept)
    return json.dumps(prediction)
