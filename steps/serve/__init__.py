"""SageMaker's hosting contract over any of our inference handlers.

One serve module for the image's `serve` entrypoint, the local endpoint and local deployment:
`GET /ping` and `POST /invocations` (optionally with `X-Amzn-SageMaker-Target-Model`) served by
waitress. A handler is a module with `model_fn(model_dir)`, `input_fn(body: bytes, content_type)`,
`predict_fn(data, model)` and `output_fn(prediction, accept)`; see `steps.serve.handler`.
"""
from steps.common.errors import HttpError
from steps.serve.app import ServingApp
from steps.serve.handler import HANDLER_FILE, Handler, HandlerError, load_handler
from steps.serve.models import (
    DirectoryModelSource,
    LoadedModel,
    ModelSource,
    SingleModelSource,
)
from steps.serve.server import BackgroundServer, make_server

__all__ = [
    "HANDLER_FILE", "BackgroundServer", "DirectoryModelSource", "Handler", "HandlerError",
    "LoadedModel", "ModelSource", "ServingApp", "HttpError", "SingleModelSource",
    "load_handler", "make_server",
]
