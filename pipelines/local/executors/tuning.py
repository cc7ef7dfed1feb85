"""Tuning steps: real trials, each a training job, chosen with the definition's strategy.

At most MaxParallelTrainingJobs trials (and never more than the runner's workers) run at
once; MaxNumberOfTrainingJobs bounds the total (Grid tries each point once). A trial that
fails, or prints no objective metric, counts as failed; the step fails when none succeeds.
Properties: DescribeHyperParameterTuningJob plus TrainingJobSummaries sorted best first,
so `get_top_model_s3_uri(top_k=k)` (Std:Join over TrainingJobSummaries[k].TrainingJobName)
names `<S3OutputPath>/<trial>/output/model.tar.gz`, which exists.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import threading
from collections.abc import Mapping
from typing import Any

import optuna

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import StepFailed, StepStopped
from pipelines.local.executors.base import (
    StepExecutor,
    local_arn,
    register,
    step_job_name,
)
from pipelines.local.executors.training import training_code_uris
from pipelines.local.search_space import (
    Range,
    grid_points,
    is_finite,
    make_sampler,
    parse_ranges,
)
from pipelines.local.timestamps import now_iso
from pipelines.local.training_job import model_artifact_uri, run_training_job
from runtime.ports.object_store import LocalObjectStore

optuna.logging.set_verbosity(optuna.logging.WARNING)


@register
class TuningExecutor(StepExecutor):
    step_type = "Tuning"
    cacheable = True

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        config = arguments["HyperParameterTuningJobConfig"]
        definition = arguments.get("TrainingJobDefinition")
        if definition is None:
            raise StepFailed(step.name, "only a single TrainingJobDefinition is supported "
                             "locally (not TrainingJobDefinitions)")
        objective = config["HyperParameterTuningJobObjective"]
        metric, direction = objective["MetricName"], objective["Type"]
        regexes = (definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
        if not any(m["Name"] == metric for m in regexes):
            raise StepFailed(step.name, f"objective metric {metric!r} has no MetricDefinitions "
                             "regex in TrainingJobDefinition.AlgorithmSpecification; built-in "
                             "algorithm metrics are not available locally")
        limits = config.get("ResourceLimits") or {}
        try:
            ranges = parse_ranges(config.get("ParameterRanges") or {})
            plan = _Plan(config.get("Strategy", "Bayesian"), ranges, direction,
                         int(config.get("RandomSeed", 0)),
                         int(limits.get("MaxNumberOfTrainingJobs") or 0))
        except ValueError as exc:
            raise StepFailed(step.name, str(exc)) from exc
        name = step_job_name(step, ctx.run.execution_id)
        created = now_iso()
        parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs") or 1), ctx.run.max_workers))
        trials = self._run_trials(step, name, definition, metric, plan, parallel, ctx)
        succeeded = [t for t in trials if t["ObjectiveStatus"] == "Succeeded"]
        if not succeeded:
            distinct = dict.fromkeys(t.get("FailureReason", "") for t in trials)
            reasons = "; ".join(list(distinct)[:3])
            raise StepFailed(step.name, f"all {len(trials)} training jobs failed: {reasons}")
        reverse = direction == "Maximize"
        ranked = sorted(succeeded, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]
                        ["Value"], reverse=reverse) + [t for t in trials if t not in succeeded]
        failed = len(trials) - len(succeeded)
        return {"HyperParameterTuningJobName": name,
                "HyperParameterTuningJobArn": local_arn("hyper-parameter-tuning-job", name),
                "HyperParameterTuningJobConfig": config, "TrainingJobDefinition": definition,
                "HyperParameterTuningJobStatus": "Completed", "CreationTime": created,
                "HyperParameterTuningEndTime": now_iso(), "LastModifiedTime": now_iso(),
                "TrainingJobStatusCounters": {"Completed": len(succeeded), "InProgress": 0,
                                              "RetryableError": 0, "NonRetryableError": failed,
                                              "Stopped": 0},
                "ObjectiveStatusCounters": {"Succeeded": len(succeeded), "Pending": 0,
                                            "Failed": failed},
                "BestTrainingJob": ranked[0], "TrainingJobSummaries": ranked}

    def _run_trials(self, step: StepSpec, name: str, definition: Mapping[str, Any], metric: str,
                    plan: _Plan, parallel: int, ctx: StepContext) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []

        def trial_job(number: int, tuned: dict[str, str]) -> dict[str, Any]:
            digest = hashlib.sha256(repr(sorted(tuned.items())).encode()).hexdigest()[:8]
            trial_name = f"{name}-{number:03d}-{digest}"
            request = {**definition, "HyperParameters": {
                **(definition.get("StaticHyperParameters") or {}), **tuned}}
            request.pop("StaticHyperParameters", None)
            summary = {"TrainingJobName": trial_name,
                       "TrainingJobArn": local_arn("training-job", trial_name),
                       "CreationTime": now_iso(), "TunedHyperParameters": tuned}
            try:
                described = run_training_job(step.name, trial_name, request, ctx,
                                             ctx.job_dir / trial_name)
            except StepStopped:
                raise
            except StepFailed as exc:
                ctx.run.logger.warning("step %s: trial %s failed: %s", step.name, trial_name,
                                   exc.reason)
                return {**summary, "TrainingJobStatus": "Failed", "ObjectiveStatus": "Failed",
                        "FailureReason": exc.reason[:1024]}
            value = next((m["Value"] for m in described["FinalMetricDataList"]
                          if m["MetricName"] == metric), None)
            done = {**summary, "TrainingStartTime": described["TrainingStartTime"],
                    "TrainingEndTime": described["TrainingEndTime"],
                    "TrainingJobStatus": "Completed"}
            if value is None or not is_finite(value):
                return {**done, "ObjectiveStatus": "Failed",
                        "FailureReason": f"the job printed no finite value for {metric!r}"}
            return {**done, "ObjectiveStatus": "Succeeded",
                    "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": metric,
                                                                    "Value": value}}

        with cf.ThreadPoolExecutor(max_workers=parallel) as pool:
            running: dict[cf.Future, Any] = {}
            number = 0
            while True:
                stopping = ctx.run.stop is not None and ctx.run.stop.requested
                while len(running) < parallel and plan.has_next(number) and not stopping:
                    number += 1
                    handle, tuned = plan.ask()
                    running[pool.submit(trial_job, number, tuned)] = handle
                if not running:
                    break
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    plan.tell(running.pop(future), result)
                    results.append(result)
                    ctx.run.logger.info("step %s: trial %s %s%s", step.name,
                                    result["TrainingJobName"], result["ObjectiveStatus"],
                                    _objective_text(result))
                ctx.note(_progress(results, len(running), plan.limit, plan.direction))
        return results

    def code_uris(self, arguments: Any) -> list[str]:
        return training_code_uris(arguments.get("TrainingJobDefinition") or {})

    def summary(self, properties: Mapping[str, Any]) -> str:
        best = properties["BestTrainingJob"]
        objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
        return (f"best {best['TrainingJobName']} {objective['MetricName']}="
                f"{objective['Value']:.4g} of {len(properties['TrainingJobSummaries'])} trials")

    def outputs_exist(self, properties: Mapping[str, Any], store: LocalObjectStore) -> bool:
        definition = properties["TrainingJobDefinition"]
        return store.exists(model_artifact_uri(definition,
                                               properties["BestTrainingJob"]["TrainingJobName"]))


def _progress(results: list[dict[str, Any]], running: int, limit: int, direction: str) -> str:
    """The live view's line: trials done, running, and the best objective so far."""
    values = [r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for r in results
              if r["ObjectiveStatus"] == "Succeeded"]
    failed = len(results) - len(values)
    best = (max if direction == "Maximize" else min)(values) if values else None
    return (f"trials {len(results)}/{limit} done" + (f" ({failed} failed)" if failed else "")
            + f", {running} running" + (f", best {best:.4g}" if best is not None else ""))


def _objective_text(result: Mapping[str, Any]) -> str:
    objective = result.get("FinalHyperParameterTuningJobObjectiveMetric")
    return f" ({objective['MetricName']}={objective['Value']:.4g})" if objective else ""


class _Plan:
    """Which hyperparameters the next trial gets: an optuna study, or a grid."""

    def __init__(self, strategy: str, ranges: list[Range], direction: str, seed: int,
                 max_jobs: int):
        self._ranges = ranges
        self.direction = direction
        if strategy == "Grid":
            self._grid = grid_points(ranges)
            self._limit = min(len(self._grid), max_jobs) if max_jobs else len(self._grid)
            self._study = None
        else:
            if max_jobs < 1:
                raise ValueError("ResourceLimits.MaxNumberOfTrainingJobs must be at least 1")
            self._grid = []
            self._limit = max_jobs
            self._study = optuna.create_study(
                sampler=make_sampler(strategy, seed),
                direction="maximize" if direction == "Maximize" else "minimize")
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._limit

    def has_next(self, started: int) -> bool:
        return started < self._limit

    def ask(self) -> tuple[Any, dict[str, str]]:
        with self._lock:
            if self._study is None:
                point = self._grid.pop(0)
                return None, point
            trial = self._study.ask()
            return trial, {r.name: r.suggest(trial) for r in self._ranges}

    def tell(self, trial: Any, result: Mapping[str, Any]) -> None:
        if self._study is None:
            return
        with self._lock:
            objective = result.get("FinalHyperParameterTuningJobObjectiveMetric")
            if objective:
                self._study.tell(trial, objective["Value"])
            else:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
