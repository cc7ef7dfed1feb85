"""Training steps: one training job (see training_job.py)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.executors.base import StepExecutor, register, step_job_name
from pipelines.local.training_job import run_training_job
from runtime.ports.object_store import LocalObjectStore

_CODE_CHANNELS = ("code", "sm_drivers")


@register
class TrainingExecutor(StepExecutor):
    step_type = "Training"
    cacheable = True

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        name = step_job_name(step, ctx.run.execution_id)
        ctx.note(f"training job {name}")
        return run_training_job(step.name, name, arguments, ctx, ctx.job_dir)

    def code_uris(self, arguments: Any) -> list[str]:
        return training_code_uris(arguments)

    def summary(self, properties: Mapping[str, Any]) -> str:
        metrics = ", ".join(f"{m['MetricName']}={m['Value']:.4g}"
                            for m in properties.get("FinalMetricDataList", []))
        model = properties["ModelArtifacts"]["S3ModelArtifacts"]
        return f"{model}" + (f" ({metrics})" if metrics else "")

    def outputs_exist(self, properties: Mapping[str, Any], store: LocalObjectStore) -> bool:
        return store.exists(properties["ModelArtifacts"]["S3ModelArtifacts"])


def training_code_uris(definition: Mapping[str, Any]) -> list[str]:
    """The code channels and the submit directory of a training (or trial) definition."""
    uris = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in
            definition.get("InputDataConfig") or []
            if c.get("ChannelName") in _CODE_CHANNELS and "S3DataSource" in c.get("DataSource", {})]
    hyperparameters = {**(definition.get("StaticHyperParameters") or {}),
                       **(definition.get("HyperParameters") or {})}
    submit = str(hyperparameters.get("sagemaker_submit_directory", "")).strip('"')
    return uris + ([submit] if submit.startswith("s3://") else [])
