"""One training job, as the Training step and every tuning trial run it.

Channels are staged to /opt/ml/input/data/<channel>, the sagemaker-training environment
(SM_*) and config files are written, the code runs as a subprocess, metrics are read from
its log with the definition's MetricDefinitions, and the model and output data directories
are uploaded as `<S3OutputPath>/<job>/output/{model,output}.tar.gz`. Returns a
DescribeTrainingJob-shaped dict.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.code_shapes import (
    CodeNotFound,
    deserialize,
    job_command,
    serialize,
    user_hyperparameters,
)
from pipelines.local.context import StepContext
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.executors.base import local_arn
from pipelines.local.jobs import ContainerPaths, run_job
from pipelines.local.staging import stage_prefix, tar_gz
from pipelines.local.timestamps import now_iso

_DESCRIBED = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
              "ResourceConfig", "StoppingCondition", "HyperParameters", "Environment",
              "VpcConfig", "CheckpointConfig", "EnableNetworkIsolation",
              "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
              "DebugHookConfig", "ExperimentConfig", "TensorBoardOutputConfig", "RetryStrategy",
              "ProfilerConfig", "RemoteDebugConfig", "InfraCheckConfig")


def model_artifact_uri(request: Mapping[str, Any], name: str) -> str:
    base = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    return f"{base}/{name}/output/model.tar.gz"


def run_training_job(step_name: str, name: str, request: Mapping[str, Any], ctx: StepContext,
                     job_dir: Path) -> dict[str, Any]:
    """Run one job from a resolved CreateTrainingJob-shaped request; raise StepFailed."""
    created = now_iso()
    shutil.rmtree(job_dir, ignore_errors=True)
    paths = ContainerPaths(job_dir)
    hyperparameters = {k: str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    channels = _stage_channels(step_name, request, ctx, paths)
    for directory in ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/input/config"):
        paths.local(directory).mkdir(parents=True, exist_ok=True)
    resource = request.get("ResourceConfig") or {}
    if str(resource.get("InstanceCount", 1)) != "1":
        ctx.run.logger.warning("step %s (%s): InstanceCount %s runs as one local instance (algo-1) "
                           "that gets every channel's full data", step_name, name,
                           resource.get("InstanceCount"))
    resource_config = {"current_host": "algo-1", "hosts": ["algo-1"],
                       "current_instance_type": str(resource.get("InstanceType", "local")),
                       "current_group_name": "homogeneousCluster",
                       "network_interface_name": "eth0"}
    input_config = {c: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                        "RecordWrapperType": "None"} for c in channels}
    config = paths.local("/opt/ml/input/config")
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(json.dumps(resource_config))
    (config / "inputdataconfig.json").write_text(json.dumps(input_config))
    algorithm = request.get("AlgorithmSpecification") or {}
    try:
        command = job_command(algorithm, hyperparameters, ctx.run.store, paths)
    except CodeNotFound as exc:
        raise StepFailed(step_name, str(exc)) from exc
    for note in command.notes:
        ctx.run.logger.warning("step %s (%s): %s", step_name, name, note)
    legacy = "sagemaker_program" in hyperparameters and not algorithm.get("ContainerEntrypoint")
    env = {**_training_env(name, channels, user_hyperparameters(hyperparameters) if legacy
                           else hyperparameters, resource_config, input_config),
           **{k: str(v) for k, v in (request.get("Environment") or {}).items()}, **command.env}
    started = now_iso()
    result = run_job(command.command, env, command.cwd, paths, job_dir / "job.log", ctx.run.stop,
                     on_warning=lambda message: ctx.job_warning(name, message))
    ctx.job_used(result.usage)
    result.check(step_name)
    metrics = parse_metrics(result.log_path.read_text(errors="replace"),
                            algorithm.get("MetricDefinitions") or [])
    model_uri = model_artifact_uri(request, name)
    # output.tar.gz first: wherever a model.tar.gz exists, its output.tar.gz does too.
    ctx.run.store.write_bytes(model_uri.replace("/model.tar.gz", "/output.tar.gz"),
                          tar_gz(paths.local("/opt/ml/output/data")))
    ctx.run.store.write_bytes(model_uri, tar_gz(paths.local("/opt/ml/model")))
    ended = now_iso()
    return {**{k: request[k] for k in _DESCRIBED if k in request},
            "HyperParameters": hyperparameters, "TrainingJobName": name,
            "TrainingJobArn": local_arn("training-job", name),
            "ModelArtifacts": {"S3ModelArtifacts": model_uri},
            "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
            "FinalMetricDataList": metrics, "CreationTime": created,
            "TrainingStartTime": started, "TrainingEndTime": ended, "LastModifiedTime": ended}


def parse_metrics(log: str, definitions: list[Mapping[str, str]]) -> list[dict[str, Any]]:
    """The last value each MetricDefinitions regex matches, as FinalMetricDataList."""
    metrics = []
    for definition in definitions:
        matches = re.findall(definition["Regex"], log)
        values = []
        for match in matches:
            text = match[0] if isinstance(match, tuple) else match
            try:
                values.append(float(text))
            except ValueError:
                continue
        if values:
            metrics.append({"MetricName": definition["Name"], "Value": values[-1],
                            "Timestamp": now_iso()})
    return metrics


def _stage_channels(step_name: str, request: Mapping[str, Any], ctx: StepContext,
                    paths: ContainerPaths) -> list[str]:
    channels = []
    for channel in request.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise StepFailed(step_name, f"channel {name!r}: only S3DataSource channels run locally")
        try:
            stage_prefix(ctx.run.store, source["S3Uri"], paths.local(f"/opt/ml/input/data/{name}"))
        except ResolutionError as exc:
            raise StepFailed(step_name, f"channel {name!r}: {exc}") from exc
        channels.append(name)
    return channels


def _training_env(name: str, channels: list[str], hyperparameters: Mapping[str, str],
                  resource_config: Mapping[str, Any],
                  input_config: Mapping[str, Any]) -> dict[str, str]:
    """The environment the sagemaker-training toolkit (and v3's environment.py) sets."""
    hps = {k: deserialize(v) for k, v in hyperparameters.items()}
    channel_dirs = {c: f"/opt/ml/input/data/{c}" for c in channels}
    cpus = os.cpu_count() or 1
    training_env = {
        "channel_input_dirs": channel_dirs, "current_host": "algo-1",
        "current_instance_type": resource_config["current_instance_type"], "hosts": ["algo-1"],
        "hyperparameters": hps, "input_data_config": input_config,
        "input_config_dir": "/opt/ml/input/config", "input_data_dir": "/opt/ml/input/data",
        "input_dir": "/opt/ml/input", "job_name": name, "log_level": 20,
        "model_dir": "/opt/ml/model", "network_interface_name": "eth0", "num_cpus": cpus,
        "num_gpus": 0, "output_data_dir": "/opt/ml/output/data",
        "output_dir": "/opt/ml/output", "resource_config": resource_config}
    env = {
        "TRAINING_JOB_NAME": name, "TRAINING_JOB_ARN": local_arn("training-job", name),
        "SM_MODEL_DIR": "/opt/ml/model", "SM_INPUT_DIR": "/opt/ml/input",
        "SM_INPUT_DATA_DIR": "/opt/ml/input/data", "SM_INPUT_CONFIG_DIR": "/opt/ml/input/config",
        "SM_OUTPUT_DIR": "/opt/ml/output", "SM_OUTPUT_FAILURE": "/opt/ml/output/failure",
        "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data", "SM_LOG_LEVEL": "20",
        "SM_CHANNELS": json.dumps(channels), "SM_HPS": json.dumps(hps),
        "SM_CURRENT_HOST": "algo-1", "SM_HOSTS": json.dumps(["algo-1"]), "SM_HOST_COUNT": "1",
        "SM_CURRENT_HOST_RANK": "0", "SM_MASTER_ADDR": "algo-1", "SM_MASTER_PORT": "7777",
        "SM_CURRENT_INSTANCE_TYPE": resource_config["current_instance_type"],
        "SM_NETWORK_INTERFACE_NAME": "eth0", "SM_NUM_CPUS": str(cpus), "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0", "SM_RESOURCE_CONFIG": json.dumps(resource_config),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_config),
        "SM_TRAINING_ENV": json.dumps(training_env)}
    for channel, directory in channel_dirs.items():
        env[f"SM_CHANNEL_{channel.upper()}"] = directory
    for key, value in hps.items():
        env[f"SM_HP_{key.replace('-', '_').upper()}"] = serialize(value)
    return env
