"""A template-style inference script (SAGEMAKER_PROGRAM): doubles each CSV value it is sent."""


def model_fn(model_dir):
    return 2


def input_fn(body, content_type):
    return [float(line) for line in body.decode().splitlines() if line.strip()]


def predict_fn(values, factor):
    return [v * factor for v in values]


def output_fn(values, accept):
    return "\n".join(f"{v:g}" for v in values)
