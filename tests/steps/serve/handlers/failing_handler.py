"""A handler whose predict_fn has a bug, and whose model_fn fails for a 'broken' model dir."""
import os


def model_fn(model_dir):
    if os.path.exists(os.path.join(model_dir, "broken")):
        raise RuntimeError("cannot read weights: internal-load-secret")
    return {}


def input_fn(body, content_type):
    return body


def predict_fn(data, model):
    return model["internal-secret-key"]  # KeyError: a bug, not bad input


def output_fn(prediction, accept):
    return b""
