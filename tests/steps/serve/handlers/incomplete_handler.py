"""A module that is not a handler: it lacks predict_fn and output_fn."""


def model_fn(model_dir):
    return None


def input_fn(body, content_type):
    return body
