"""What a finished execution tells a tracker, read the same way from a local run and from AWS.

Both sides give each step's DescribeX-shaped properties: a local run's execution record holds
them (a Tuning step's `TrainingJobSummaries` are its trials, with their hyperparameters and
objective), and on AWS ListPipelineExecutionSteps names each step's job, which the matching
Describe/List call returns in the same shape. From those: the trials, the processing outputs
(where evaluation reports are looked for) and the registered model packages.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.local.execution import LocalExecution


@dataclass(frozen=True)
class Trial:
    """One tuning trial: a training job with the hyperparameters the tuner chose."""

    step: str
    name: str
    status: str
    hyperparameters: dict[str, str]
    metric: str | None = None
    value: float | None = None
    started: int | None = None  # milliseconds since the epoch, as MLflow keeps times
    ended: int | None = None


@dataclass(frozen=True)
class StepView:
    name: str
    type: str
    status: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class ExecutionFacts:
    pipeline_name: str
    execution_id: str
    execution_arn: str
    status: str
    parameters: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (step, S3 URI prefix)
    model_packages: list[tuple[str, str]] = field(default_factory=list)  # (step, ARN)
    started: int | None = None
    ended: int | None = None
    experiment: str = ""  # the tracker's experiment; '' is the pipeline's name
    run_name: str = ""  # '' is the execution id


def execution_facts(pipeline_name: str, execution_arn: str, status: str,
                    parameters: Mapping[str, Any], steps: Iterable[StepView],
                    started: Any = None, ended: Any = None) -> ExecutionFacts:
    """The facts of an execution from its steps' properties (times: ISO text or datetime)."""
    facts = ExecutionFacts(pipeline_name, execution_arn.rsplit("/", 1)[-1], execution_arn,
                           status, dict(parameters), started=millis(started),
                           ended=millis(ended))
    for step in steps:
        if step.type == "Tuning":
            facts.trials.extend(_trial(step.name, summary) for summary in
                                step.properties.get("TrainingJobSummaries") or [])
        elif step.type == "Processing" and step.status == "Succeeded":
            outputs = (step.properties.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            facts.outputs.extend((step.name, output["S3Output"]["S3Uri"]) for output in outputs
                                 if (output.get("S3Output") or {}).get("S3Uri"))
        elif step.type == "RegisterModel" and step.properties.get("ModelPackageArn"):
            facts.model_packages.append((step.name, step.properties["ModelPackageArn"]))
    return facts


def _trial(step: str, summary: Mapping[str, Any]) -> Trial:
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    return Trial(step=step, name=summary["TrainingJobName"],
                 status=summary.get("ObjectiveStatus") or summary.get("TrainingJobStatus", ""),
                 hyperparameters=dict(summary.get("TunedHyperParameters") or {}),
                 metric=objective.get("MetricName"), value=objective.get("Value"),
                 started=millis(summary.get("TrainingStartTime")),
                 ended=millis(summary.get("TrainingEndTime")))


def millis(value: Any) -> int | None:
    """A time as boto3 (datetime) or the local runner (ISO text) gives it, in milliseconds."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return int(value.timestamp() * 1000)
    return None


def local_facts(execution: LocalExecution, parameters: Mapping[str, Any]) -> ExecutionFacts:
    """A local run's facts; `parameters` are the values it ran with (defaults included)."""
    return execution_facts(
        execution.pipeline_name, execution.execution_arn, execution.status, parameters,
        (StepView(r.name, r.type, r.status, r.properties) for r in execution.steps.values()),
        execution.start_time, execution.end_time)


def aws_facts(sagemaker_client: Any, execution_arn: str, pipeline_name: str) -> ExecutionFacts:
    """A SageMaker execution's facts, through Describe/List calls only."""
    sm = sagemaker_client
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    parameters = {p["Name"]: p["Value"] for p in _pages(
        sm.list_pipeline_parameters_for_execution, "PipelineParameters",
        PipelineExecutionArn=execution_arn)}
    steps = [_aws_step(sm, step) for step in _pages(
        sm.list_pipeline_execution_steps, "PipelineExecutionSteps",
        PipelineExecutionArn=execution_arn, SortOrder="Ascending")]
    return execution_facts(pipeline_name, execution_arn, described["PipelineExecutionStatus"],
                           parameters, steps, described.get("CreationTime"),
                           described.get("LastModifiedTime"))


def _aws_step(sm: Any, step: Mapping[str, Any]) -> StepView:
    """The step's DescribeX-shaped properties, for the step types a tracker reads."""
    metadata = step.get("Metadata") or {}
    name, status = step["StepName"], step.get("StepStatus", "")
    if "ProcessingJob" in metadata:
        job = metadata["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
        return StepView(name, "Processing", status,
                        sm.describe_processing_job(ProcessingJobName=job))
    if "TuningJob" in metadata:
        job = metadata["TuningJob"]["Arn"].rsplit("/", 1)[-1]
        summaries = list(_pages(sm.list_training_jobs_for_hyper_parameter_tuning_job,
                                "TrainingJobSummaries", HyperParameterTuningJobName=job))
        return StepView(name, "Tuning", status, {"TrainingJobSummaries": summaries})
    if "RegisterModel" in metadata:
        return StepView(name, "RegisterModel", status,
                        {"ModelPackageArn": metadata["RegisterModel"]["Arn"]})
    return StepView(name, "", status, {})


def _pages(call: Callable[..., Mapping[str, Any]], key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a NextToken-paged List call (these have no boto3 paginator)."""
    while True:
        page = call(**kwargs)
        yield from page.get(key) or []
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]
