"""A handler whose model_fn runs out of memory, as a model too large for the instance does."""


def model_fn(model_dir):
    raise MemoryError("cannot allocate the model's weights")


def input_fn(body, content_type):
    return body


def predict_fn(data, model):
    return data


def output_fn(prediction, accept):
    return prediction
