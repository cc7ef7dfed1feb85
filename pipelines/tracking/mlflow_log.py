"""One execution as MLflow runs: the execution a run, each tuning trial a child run.

The execution's run (experiment: the pipeline's name; run name: the execution id) carries the
pipeline parameters as params, the execution's ARN, id, status and registered model package
ARNs as tags, each evaluation report's figures as metrics (`regression_metrics.rmse` and
`regression_metrics.rmse_std`, `relative.*`, `gate.passed`; prefixed `<step>/` when an
execution has several evaluation steps) and the evaluation outputs (reports, plots) as
artifacts under the step's name. A trial's child run has its tuned hyperparameters as params
and its objective as a metric. mlflow is imported inside the functions: it takes seconds.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.tracking.facts import ExecutionFacts, Trial
from runtime.model_versions import figures
from runtime.ports.object_store import ObjectStore

EVALUATION_REPORT = "evaluation.json"  # every pipeline's contract names its report so
RUN_STATUS = {"Succeeded": "FINISHED", "Failed": "FAILED", "Stopped": "KILLED"}
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param's value


def log_execution(facts: ExecutionFacts, tracking_uri: str, store: ObjectStore,
                  artifact_root: str | None = None) -> str:
    """Log the execution and its trials; return the execution run's id.

    `artifact_root`: where a new experiment keeps its artifacts (a local store's own folder);
    None leaves it to the tracking server.
    """
    with _global_tracking_uri(tracking_uri):
        return _log(facts, tracking_uri, store, artifact_root)


def _global_tracking_uri(uri: str) -> contextlib.AbstractContextManager[None]:
    """The sagemaker-mlflow plugin signs requests for the *global* tracking URI's server,
    whatever the client was given: set it for the call, then restore it exactly (unset
    included: `mlflow.set_tracking_uri` also exports MLFLOW_TRACKING_URI, which must not
    outlive the call). MLflow's own context manager for this is private; mlflow is pinned."""
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    return _use_tracking_uri(uri)


def _log(facts: ExecutionFacts, tracking_uri: str, store: ObjectStore,
         artifact_root: str | None) -> str:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = _experiment(client, facts.experiment or facts.pipeline_name, artifact_root)
    now = int(time.time() * 1000)
    run = client.create_run(experiment, start_time=facts.started,
                            run_name=facts.run_name or facts.execution_id, tags=_tags(facts))
    run_id = run.info.run_id
    try:
        params = [Param(name, str(value)[:MAX_PARAM_LENGTH])
                  for name, value in sorted(facts.parameters.items())]
        evaluations = list(_evaluations(facts, store))
        metrics = [Metric(name, value, now, 0)
                   for _, _, report in evaluations for name, value in report.items()]
        for start in range(0, max(len(params), len(metrics)), 100):  # MLflow's batch limit
            client.log_batch(run_id, metrics=metrics[start:start + 100],
                             params=params[start:start + 100])
        for trial in facts.trials:
            _log_trial(client, experiment, run_id, trial, now)
        with tempfile.TemporaryDirectory() as folder:
            for step, prefix, _ in evaluations:
                _download(store, prefix, Path(folder) / step)
            if evaluations:
                client.log_artifacts(run_id, folder)
        client.set_terminated(run_id, RUN_STATUS.get(facts.status, "FAILED"), end_time=facts.ended)
    except BaseException:
        with contextlib.suppress(Exception):  # not left RUNNING; the first error is the news
            client.set_terminated(run_id, "FAILED")
        raise
    return run_id


def _experiment(client: Any, name: str, artifact_root: str | None) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = f"{artifact_root.rstrip('/')}/{name}" if artifact_root else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by a concurrent run
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _tags(facts: ExecutionFacts) -> dict[str, str]:
    tags = {"sagemaker.pipeline": facts.pipeline_name,
            "sagemaker.execution_id": facts.execution_id,
            "sagemaker.execution_arn": facts.execution_arn,
            "sagemaker.execution_status": facts.status}
    if facts.model_packages:
        tags["sagemaker.model_package_arn"] = ",".join(arn for _, arn in facts.model_packages)
    tags.update({f"sagemaker.model_package_arn.{step}": arn
                 for step, arn in facts.model_packages})
    return tags


def _log_trial(client: Any, experiment: str, parent: str, trial: Trial, now: int) -> None:
    from mlflow.entities import Metric, Param

    child = client.create_run(experiment, start_time=trial.started, run_name=trial.name, tags={
        "mlflow.parentRunId": parent, "sagemaker.step": trial.step,
        "sagemaker.training_job": trial.name, "sagemaker.trial_status": trial.status})
    metrics = ([Metric(trial.metric, float(trial.value), now, 0)]
               if trial.metric and trial.value is not None else [])
    client.log_batch(child.info.run_id, metrics=metrics, params=[
        Param(name, str(value)[:MAX_PARAM_LENGTH])
        for name, value in sorted(trial.hyperparameters.items())])
    client.set_terminated(child.info.run_id,
                          "FINISHED" if trial.status == "Succeeded" else "FAILED",
                          end_time=trial.ended)


def _evaluations(facts: ExecutionFacts,
                 store: ObjectStore) -> Iterator[tuple[str, str, dict[str, float]]]:
    """(step, output prefix, metrics) for each output holding an evaluation report."""
    from steps.common.model_quality import MODEL_QUALITY_REPORT  # imports scikit-learn

    found = [(step, prefix.rstrip("/")) for step, prefix in facts.outputs
             if store.exists(f"{prefix.rstrip('/')}/{EVALUATION_REPORT}")]
    for step, prefix in found:
        metrics = report_metrics(
            json.loads(store.read_bytes(f"{prefix}/{EVALUATION_REPORT}")),
            json.loads(store.read_bytes(f"{prefix}/{MODEL_QUALITY_REPORT}"))
            if store.exists(f"{prefix}/{MODEL_QUALITY_REPORT}") else {})
        label = f"{step}/" if len(found) > 1 else ""
        yield step, prefix, {label + name: value for name, value in metrics.items()}


def report_metrics(evaluation: dict[str, Any], model_quality: dict[str, Any]) -> dict[str, float]:
    """An evaluation's figures as MLflow metrics: every `*_metrics` figure of both reports
    (with `_std`, its standard deviation), each `relative` figure and `gate.passed` (1 or 0)."""
    metrics: dict[str, float] = {}
    for figure in figures(model_quality) + figures(evaluation):
        metrics[f"{figure.section}.{figure.name}"] = figure.value
        if figure.standard_deviation is not None:
            metrics[f"{figure.section}.{figure.name}_std"] = figure.standard_deviation
    relative = evaluation.get("relative")
    metrics.update({f"relative.{name}": float(value) for name, value in
                    (relative.items() if isinstance(relative, dict) else [])
                    if isinstance(value, (int, float)) and not isinstance(value, bool)})
    gate = evaluation.get("gate")
    if isinstance(gate, dict) and isinstance(gate.get("passed"), bool):
        metrics["gate.passed"] = float(gate["passed"])
    return metrics


def _download(store: ObjectStore, prefix: str, folder: Path) -> None:
    """Copy every object under `prefix` into `folder`, keeping the layout below the prefix."""
    for uri in store.list_uris(prefix + "/"):
        path = (folder / uri[len(prefix) + 1:]).resolve()
        if not path.is_relative_to(folder.resolve()):
            continue  # a key with '..' in it: never write outside the folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.read_bytes(uri))
