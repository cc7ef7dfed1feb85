"""`serve` / `python -m steps.serve`: the container's hosting entrypoint.

SageMaker runs `docker run IMAGE serve` with the model unpacked at /opt/ml/model, so every
option has an environment default:

  --model-dir          /opt/ml/model
  --handler            $SERVE_HANDLER, else the model dir's serving.json
  --multi-model        $SAGEMAKER_MULTI_MODEL=true (SageMaker sets it): serve many models, with
  --multi-model-api    sagemaker (default with $SAGEMAKER_MULTI_MODEL=true): SageMaker's
                       model-management API (POST /models, POST /models/NAME/invoke, ...; see
                       steps.serve.mme), --model-dir unused; or directory (default otherwise):
                       every directory under --model-dir is a model, named by the
                       X-Amzn-SageMaker-Target-Model header of POST /invocations
  --port               $SAGEMAKER_BIND_TO_PORT (set in inference pipelines), else 8080
  --threads            $SERVE_THREADS, else 4 (predict_fn runs concurrently: keep it thread-safe)
  --max-request-bytes  $SERVE_MAX_REQUEST_BYTES, else $SAGEMAKER_MAX_PAYLOAD_IN_MB MiB
                       (set by batch transform), else 6 MiB
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from steps.common.cli import CurrentStreamHandler
from steps.common.errors import HttpError
from steps.serve.app import DEFAULT_MAX_REQUEST_BYTES, ServingApp
from steps.serve.handler import HandlerError, handler_name_for, load_handler
from steps.serve.mme import LoadedModels, MultiModelApp
from steps.serve.models import (
    DirectoryModelSource,
    ModelSource,
    SingleModelSource,
)
from steps.serve.server import make_server

LOG = logging.getLogger("steps.serve")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        print(f"serve: error: ${name} must be a whole number, got {value!r}", file=sys.stderr)
        raise SystemExit(2)
    return int(value)


def _default_max_bytes() -> int:
    payload_mb = _env_int("SAGEMAKER_MAX_PAYLOAD_IN_MB", 0)
    return _env_int("SERVE_MAX_REQUEST_BYTES",
                    payload_mb * 1024 * 1024 if payload_mb else DEFAULT_MAX_REQUEST_BYTES)


def _bounded(low: int, high: int):
    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, "
                                             f"got {text!r}")
        return int(text)
    return parse


def _parser() -> argparse.ArgumentParser:
    sagemaker_multi_model = os.environ.get("SAGEMAKER_MULTI_MODEL", "").lower() == "true"
    parser = argparse.ArgumentParser(
        prog="serve", description="Serve a model over SageMaker's hosting contract "
        "(GET /ping, POST /invocations).")
    parser.add_argument("--model-dir", default="/opt/ml/model",
                        help="the model directory, or the root of model directories with "
                             "--multi-model (default: %(default)s)")
    parser.add_argument("--handler", default=os.environ.get("SERVE_HANDLER") or None,
                        help="handler module, e.g. steps.stacked_ensemble.inference (default: "
                             "$SERVE_HANDLER, else the model dir's serving.json)")
    parser.add_argument("--multi-model", action="store_true",
                        default=sagemaker_multi_model,
                        help="serve many models (default: $SAGEMAKER_MULTI_MODEL=true)")
    parser.add_argument("--multi-model-api", choices=["sagemaker", "directory"],
                        default="sagemaker" if sagemaker_multi_model else "directory",
                        help="with --multi-model: SageMaker's model-management API (POST "
                             "/models ...), or every model directory under --model-dir "
                             "(default: sagemaker with $SAGEMAKER_MULTI_MODEL=true, else "
                             "directory)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default: all)")
    parser.add_argument("--port", type=_bounded(0, 65535),
                        default=_env_int("SAGEMAKER_BIND_TO_PORT", 8080),
                        help="0 picks a free port (default: $SAGEMAKER_BIND_TO_PORT, else 8080)")
    parser.add_argument("--threads", type=_bounded(1, 1024), default=_env_int("SERVE_THREADS", 4),
                        help="concurrent requests (default: $SERVE_THREADS, else 4)")
    parser.add_argument("--max-request-bytes", type=_bounded(1, 2**40),
                        default=_default_max_bytes(),
                        help="larger bodies get 413 (default: $SERVE_MAX_REQUEST_BYTES, else "
                             "$SAGEMAKER_MAX_PAYLOAD_IN_MB MiB, else 6 MiB)")
    parser.add_argument("--log-level", default=os.environ.get("SERVE_LOG_LEVEL", "INFO"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def build_source(model_dir: str, handler: str | None, multi_model: bool) -> ModelSource:
    """The model source for the options; a single model is loaded now, so failures show early."""
    if multi_model:
        source = DirectoryModelSource(model_dir, handler)
        if not source.healthy():
            raise HttpError(f"model root {model_dir} is not a directory")
        if handler:
            load_handler(handler)  # fail at startup, not on the first request
        return source
    single = SingleModelSource(model_dir, handler)
    if single.model_dir.is_dir():
        handler_name_for(single.model_dir, handler)  # a missing handler is a one-line error
    single.load()
    return single


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, handlers=[CurrentStreamHandler("stderr")],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.multi_model and args.multi_model_api == "sagemaker":
            if args.handler:
                load_handler(args.handler)  # fail at startup, not on the first load
            app = MultiModelApp(LoadedModels(args.handler), args.max_request_bytes)
            serving = "SageMaker's multi-model API"
        else:
            source = build_source(args.model_dir, args.handler, args.multi_model)
            app, serving = ServingApp(source, args.max_request_bytes), args.model_dir
        server = make_server(app, host=args.host, port=args.port, threads=args.threads)
    except (HandlerError, HttpError, ValueError, OSError) as exc:
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        print(f"serve: error: {exc}{cause}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)  # `docker stop`: finish and close like Ctrl-C
    LOG.info("serving %s on http://%s:%s with %d threads", serving,
             server.effective_host, server.effective_port, args.threads)
    server.run()
    LOG.info("stopped")
    return 0


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)
