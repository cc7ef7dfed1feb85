"""`python -m pipelines.cli.multi_model_endpoint PREFIX`: a local multi-model endpoint.

Serves every `.tar.gz` artifact under PREFIX (a directory, or an `s3://` prefix of the local
object store under --local-root, e.g. the pipeline's staging prefix
`s3://<bucket>/MultiModelPipeline/staging/`) over SageMaker's hosting contract. The
`X-Amzn-SageMaker-Target-Model` header names the artifact (`new-york/v3.tar.gz`); its model loads
on first use (handler from its serving.json: the segment's preprocessor, then its XGBoost model)
and stays in an LRU cache bounded by --max-models and --max-bytes (bytes of extracted model
files; see steps.serve.model_cache). Artifacts copied under PREFIX later are served too.

OpenMP runs one thread per prediction unless OMP_NUM_THREADS is exported (see main).

Routes: POST /invocations, GET /ping, GET /models (available and loaded models), GET /metrics
(cache hits, misses, evictions, load times). Errors are JSON: 400 no or malformed target model,
404 unknown target model, 4xx bad payload, 500 a model that fails to load, 507 a model larger
than --max-bytes; the endpoint keeps serving after each.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from runtime.serving import DEFAULT_LOCAL_ROOT, artifact_store, build_app
from steps.common.arguments import byte_size, port, positive
from steps.common.cli import CurrentStreamHandler
from steps.serve.app import DEFAULT_MAX_REQUEST_BYTES
from steps.serve.model_cache import ModelCache
from steps.serve.server import make_server

LOG = logging.getLogger("multi-model-endpoint")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multi-model-endpoint", description="Serve a multi-model prefix locally, loading "
        "models on first use into an LRU cache.")
    parser.add_argument("prefix", metavar="PREFIX",
                        help="a directory of <segment>/v<N>.tar.gz artifacts, or an s3:// "
                             "prefix of the local store (e.g. s3://BUCKET/MultiModelPipeline/"
                             "staging/)")
    parser.add_argument("--local-root", default=DEFAULT_LOCAL_ROOT,
                        help="the local object store's root for s3:// prefixes "
                             "(default: %(default)s)")
    parser.add_argument("--max-models", type=positive, default=None,
                        help="most models loaded at once (default: no count bound)")
    parser.add_argument("--max-bytes", type=byte_size, default=byte_size("1GiB"),
                        help="most bytes of extracted model files loaded at once, e.g. 512M "
                             "(default: 1GiB)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=port, default=8080,
                        help="0 picks a free port (default: %(default)s)")
    parser.add_argument("--threads", type=positive, default=8,
                        help="concurrent requests (default: %(default)s)")
    parser.add_argument("--cache-dir", default=None,
                        help="where models are extracted (default: a temporary directory)")
    parser.add_argument("--max-request-bytes", type=byte_size, default=DEFAULT_MAX_REQUEST_BYTES,
                        help="larger bodies get 413 (default: 6M)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Before any handler imports XGBoost: request threads already predict in parallel, and
    # OpenMP threads per one-row prediction only oversubscribe the cores (on 2 busy cores the
    # warm p50 fell from ~100 ms to ~27 ms). Export OMP_NUM_THREADS to choose otherwise.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(level=args.log_level, handlers=[CurrentStreamHandler("stderr")],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        store = artifact_store(args.prefix, args.local_root)
        cache = ModelCache(store, args.max_models, args.max_bytes, args.cache_dir)
    except (ValueError, OSError) as exc:
        print(f"multi-model-endpoint: error: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(build_app(cache, args.max_request_bytes), host=args.host,
                             port=args.port, threads=args.threads)
    except OSError as exc:
        cache.close()
        print(f"multi-model-endpoint: error: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    available = len(store.names())
    if not available:
        LOG.warning("no .tar.gz artifacts under %s yet; copy some there and invoke them",
                    store.location)
    LOG.info("serving %d models from %s on http://%s:%s (max %s models, max %d bytes, "
             "%d threads)", available, store.location, server.effective_host,
             server.effective_port, args.max_models or "any number of", args.max_bytes,
             args.threads)
    try:
        server.run()  # returns on Ctrl-C or SIGTERM
    finally:
        server.close()
        cache.close()
    LOG.info("stopped")
    return 0


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    raise SystemExit(main())
