"""Fixture definitions for the runner's second part: callbacks, Lambda, sharding, retries.

Hand-written JSON in the shapes SDK v3 emits (CallbackStep, LambdaStep, RetryPolicies).
Training steps here use the ContainerEntrypoint code shape with tests/local/code/
relay_train.py, which copies its channels into the model and a `summary` channel's
topic_summary.json into SM_OUTPUT_DATA_DIR, as a topic layer's training job does.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from runtime.ports.object_store import ObjectStore

from . import definitions as d

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/mapping-updates"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:mapping-updates"
SUMMARY = f"s3://{d.BUCKET}/topics/summary/topic_summary.json"
MAPPING_OUTPUTS = ("mapping_uri", "topics", "recluster_count")


def keywords(*words: str) -> list[dict[str, Any]]:
    return [{"word": w, "weight": round(1 - 0.1 * i, 2)} for i, w in enumerate(words)]


def layer1_summary() -> dict[str, Any]:
    """A valid topic_summary.json (steps/sequential_topics/mapping_schema.TopicSummary)."""
    return {"schema_version": 1, "layer": 1, "total_documents": 100, "outliers": 5,
            "split_search": {"min_documents": 10, "max_subtopics": 4}, "topics": [
        # broad and with a split that beats keeping it whole: the breadth rule splits it
        {"topic": 0, "size": 80, "dispersion": 0.62, "representative_docs": ["Arsenal won."],
         "keywords": keywords("football", "club", "league", "goal", "season"),
         "split_silhouettes": {"2": 0.25, "3": 0.14}},
        {"topic": 1, "size": 15, "dispersion": 0.30, "representative_docs": ["Labour won."],
         "keywords": keywords("election", "labour", "party", "vote", "minister"),
         "split_silhouettes": {"2": 0.03}}]}


def seed_summary(store: ObjectStore) -> None:
    store.write_bytes(SUMMARY, json.dumps(layer1_summary()).encode())


def relay_training(name: str, channels: dict[str, Any], environment: dict[str, str] | None = None,
                   **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Training", "Arguments": {
        "AlgorithmSpecification": {"TrainingInputMode": "File",
                                   "TrainingImage": "local/sklearn:latest",
                                   "ContainerEntrypoint": [
                                       "python3", "/opt/ml/input/data/code/relay_train.py"]},
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "OutputDataConfig": {"S3OutputPath": f"s3://{d.BUCKET}/relay/{name}"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                           "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "InputDataConfig": [d.channel("code", f"{d.CODE}/relay_train.py"),
                            *(d.channel(k, v) for k, v in channels.items())],
        "Environment": environment or {}}, **extra}


def model_of(step: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ModelArtifacts.S3ModelArtifacts"}


def mapping_callback(name: str, model_step: str, review: bool = False,
                     **extra: Any) -> dict[str, Any]:
    """The topic pipeline's CallbackStep for layer 1 (arguments: mapping_schema's names)."""
    prefix = {"Std:Join": {"On": "/", "Values": [f"s3://{d.BUCKET}/topics/executions",
                                                 {"Get": "Execution.PipelineExecutionId"}]}}
    return {"Name": name, "Type": "Callback", "Arguments": {
        "step_name": name, "layer": "1", "model_artifact": model_of(model_step),
        "previous_mapping": "", "overrides": "", "output_prefix": prefix,
        "review_mode": "true" if review else "false"},
        "SqsQueueUrl": {"Get": "Parameters.MappingQueueUrl"},
        "OutputParameters": [{"OutputName": o, "OutputType": "String"}
                             for o in MAPPING_OUTPUTS], **extra}


def topic_parameters() -> list[dict[str, Any]]:
    return [{"Name": "MappingQueueUrl", "Type": "String", "DefaultValue": QUEUE_URL}]


def topics_definition(review: bool = False) -> dict[str, Any]:
    """Layer1 -> MapLayer1 (callback) -> Layer2, whose `mapping` channel is the callback's
    mapping_uri output."""
    mapping = {"Get": "Steps.MapLayer1.OutputParameters['mapping_uri']"}
    return {"Version": "2020-12-01", "Parameters": topic_parameters(), "Steps": [
        relay_training("Layer1", {"summary": SUMMARY}),
        mapping_callback("MapLayer1", "Layer1", review=review),
        relay_training("Layer2", {"mapping": mapping})]}


def two_layers_definition() -> dict[str, Any]:
    """Two callbacks that become ready together (each waits for both trainings)."""
    return {"Version": "2020-12-01", "Parameters": topic_parameters(), "Steps": [
        relay_training("LayerA", {"summary": SUMMARY}),
        relay_training("LayerB", {"summary": SUMMARY}),
        mapping_callback("MapA", "LayerA", DependsOn=["LayerB"]),
        mapping_callback("MapB", "LayerB", DependsOn=["LayerA"])]}


def hold_environment(pid_file: Path, seconds: int = 60) -> dict[str, str]:
    return {"FIXTURE_PID_FILE": str(pid_file), "FIXTURE_HOLD_SECONDS": str(seconds)}


def processing_with_retry(counter: Path, kill_first: int = 0, exit_code: int = 0,
                          policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    step = d.processing("Flaky", "flaky.py", [], {"out": f"s3://{d.BUCKET}/flaky/out"},
                        ["--counter", str(counter), "--kill-first", str(kill_first),
                         "--exit-code", str(exit_code), "--output", "/opt/ml/processing/out"])
    if policies is not None:
        step["RetryPolicies"] = policies
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}


def job_policy(*types: str, max_attempts: int = 2) -> dict[str, Any]:
    return {"ExceptionType": list(types), "IntervalSeconds": 1, "BackoffRate": 2.0,
            "MaxAttempts": max_attempts}


def process_gone(pid: int) -> bool:
    """Whether the process has ended (a zombie awaiting its parent counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
