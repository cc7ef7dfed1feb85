"""Where a definition asks its executions to be tracked, resolved for one execution.

SDK v3 definitions carry `MlflowConfig` (a SageMaker managed MLflow server's ARN and an
experiment name) and, by default, `PipelineExperimentConfig` (experiment: the pipeline's name;
trial: the execution id). The tracker honours them: the experiment is MlflowConfig's name, else
PipelineExperimentConfig's; the run is named after the trial; on AWS, MlflowConfig's server is
the tracking URI when the command names none. A local run never contacts that server (it needs
no AWS): it logs to its own store under the same experiment name.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pipelines.tracking.facts import ExecutionFacts


def mlflow_server(definition: Mapping[str, Any] | None) -> str | None:
    """MlflowConfig's MlflowResourceArn, when the definition names one."""
    arn = ((definition or {}).get("MlflowConfig") or {}).get("MlflowResourceArn")
    return arn if isinstance(arn, str) and arn else None


def named(facts: ExecutionFacts, definition: Mapping[str, Any] | None) -> ExecutionFacts:
    """`facts` with the experiment and run names the definition asks for (its pipeline's name
    and the execution id when it asks for none)."""
    definition = definition or {}
    experiment_config = definition.get("PipelineExperimentConfig") or {}
    mlflow_config = definition.get("MlflowConfig") or {}
    values = {"Execution.PipelineName": facts.pipeline_name,
              "Execution.PipelineExecutionId": facts.execution_id,
              **{f"Parameters.{name}": value for name, value in facts.parameters.items()}}
    experiment = (_text(mlflow_config.get("MlflowExperimentName"), values,
                        "MlflowConfig.MlflowExperimentName")
                  or _text(experiment_config.get("ExperimentName"), values,
                           "PipelineExperimentConfig.ExperimentName")
                  or facts.pipeline_name)
    run = (_text(experiment_config.get("TrialName"), values,
                 "PipelineExperimentConfig.TrialName") or facts.execution_id)
    return dataclasses.replace(facts, experiment=experiment, run_name=run)


def _text(value: Any, values: Mapping[str, Any], field: str) -> str:
    """A name as the definition gives it: text, a Get of an execution variable or parameter,
    or a Std:Join of those ('' when absent)."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, Mapping) and set(value) == {"Get"} and value["Get"] in values:
        return str(values[value["Get"]])
    join = value.get("Std:Join") if isinstance(value, Mapping) else None
    if isinstance(join, Mapping) and isinstance(join.get("Values"), list):
        return str(join.get("On", "")).join(_text(v, values, field) for v in join["Values"])
    raise ValueError(f"{field} {value!r} is not a name the tracker can resolve: use text, an "
                     "execution variable (PipelineName, PipelineExecutionId), a parameter or a "
                     "Join of those")
