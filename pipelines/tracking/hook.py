"""`run-pipeline`'s experiment tracking: its options, where runs go, and never failing a run.

Locally every execution is logged by default to an SQLite store under the local root
(`<local-root>/mlflow/mlflow.db`, artifacts beside it; MLflow 3.17 refuses a plain folder as a
tracking store unless told otherwise); `mlflow ui --backend-store-uri sqlite:///...` shows it.
On AWS an execution is logged only when a tracking URI is given, typically a SageMaker managed
MLflow tracking server's ARN, which the sagemaker-mlflow plugin resolves and signs requests
for. `--tracking-uri` wins over `MLFLOW_TRACKING_URI`; `--no-tracking` turns tracking off.
A tracker that fails or cannot be reached costs one warning line, never the run's outcome.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pipelines.local.execution import LocalExecution
from pipelines.local.store import local_store
from pipelines.parameter_overrides import resolve_parameters
from pipelines.tracking.facts import ExecutionFacts, aws_facts, local_facts
from pipelines.tracking.mlflow_log import log_execution
from pipelines.tracking.naming import mlflow_server, named
from runtime.ports.object_store import ObjectStore

log = logging.getLogger("run-pipeline")
STORE_DIR = "mlflow"
# A SageMaker managed MLflow tracking server (or MLflow app), as the plugin accepts it.
SAGEMAKER_MLFLOW_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:(mlflow-tracking-server|mlflow-app)/[\w-]+")
# Fail fast on an unreachable server: MLflow's defaults retry for minutes.
_HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
_QUIET_LOGGERS = {"mlflow": logging.WARNING, "alembic": logging.WARNING,
                  # the sagemaker-mlflow plugin's header provider fails on every non-ARN URI
                  "mlflow.tracking.request_header.registry": logging.ERROR}


def tracking_uri(text: str) -> str:
    """argparse type: a SageMaker MLflow ARN, an http(s) URL or a database URI."""
    if text.startswith("arn:"):
        if not SAGEMAKER_MLFLOW_ARN.fullmatch(text):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a SageMaker MLflow tracking server ARN (arn:aws:sagemaker:"
                "REGION:ACCOUNT:mlflow-tracking-server/NAME)")
        return text
    if not re.match(r"[a-z][a-z0-9+.-]*://", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a tracking URI: give a SageMaker MLflow tracking server ARN, "
            "an http(s):// URL or a database URI such as sqlite:///path/mlflow.db")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("experiment tracking (MLflow)")
    group.add_argument("--tracking-uri", type=tracking_uri, default=None, metavar="URI",
                       help="MLflow tracking: a SageMaker MLflow tracking server ARN, an http(s) "
                            "URL or a database URI (default: $MLFLOW_TRACKING_URI; --local: "
                            "sqlite:///<local-root>/mlflow/mlflow.db; on AWS: none)")
    group.add_argument("--no-tracking", action="store_true",
                       help="do not log the execution to MLflow")


def local_tracking_uri(local_root: str | os.PathLike[str]) -> str:
    """The default store of a local root: `sqlite:///<root>/mlflow/mlflow.db`."""
    return f"sqlite:///{Path(local_root).resolve() / STORE_DIR / 'mlflow.db'}"


def track_local_execution(args: argparse.Namespace, execution: LocalExecution,
                          declared: list[Mapping[str, Any]], parameters: Mapping[str, Any],
                          definition: Mapping[str, Any] | None = None) -> None:
    """Log a finished local execution (`declared`: the definition's Parameters), under the
    experiment and run names its `definition` asks for (pipelines/tracking/naming.py)."""
    if args.no_tracking:
        return
    root = Path(execution.local_root)
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or local_tracking_uri(root)
    artifacts = ((root / STORE_DIR / "artifacts").resolve().as_uri()
                 if uri == local_tracking_uri(root) else None)
    track(lambda: named(local_facts(execution, resolve_parameters(declared, parameters)),
                        definition), uri, local_store(root), artifacts)


def track_aws_execution(args: argparse.Namespace, sagemaker_client: Any, store: ObjectStore,
                        execution_arn: str, pipeline_name: str,
                        definition: Mapping[str, Any] | None = None) -> None:
    """Log a finished SageMaker execution, when a tracking URI is given or the definition's
    MlflowConfig names a server."""
    uri = None if args.no_tracking else (args.tracking_uri
                                         or os.environ.get("MLFLOW_TRACKING_URI")
                                         or mlflow_server(definition))
    if uri:
        track(lambda: named(aws_facts(sagemaker_client, execution_arn, pipeline_name),
                            definition), uri, store)


def track(facts: Callable[[], ExecutionFacts], uri: str, store: ObjectStore,
          artifact_root: str | None = None) -> str | None:
    """Log the execution; the run's id, or None and one warning line if anything failed."""
    try:
        with _quiet_and_quick():
            gathered = facts()
            run_id = log_execution(gathered, uri, store, artifact_root)
    except Exception as exc:  # tracking never fails a pipeline run: any failure is a warning
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        log.warning("tracking: the execution was not logged to MLflow at %s (%s: %s); the "
                    "run's outcome is unaffected", uri, type(exc).__name__, reason)
        return None
    log.info("tracking: execution %s logged to MLflow at %s as run %s (%d trials)%s",
             gathered.execution_id, uri, run_id, len(gathered.trials),
             f"; see it with: mlflow ui --backend-store-uri {uri}"
             if uri.startswith("sqlite:") else "")
    return run_id


@contextlib.contextmanager
def _quiet_and_quick() -> Iterator[None]:
    """MLflow's HTTP retries bounded (unless set by the user), its INFO lines silenced."""
    import mlflow  # noqa: F401  (its import sets its loggers' levels: set ours after it)

    added = [name for name in _HTTP_LIMITS if name not in os.environ]
    levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    os.environ.update({name: _HTTP_LIMITS[name] for name in added})
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
