"""Model steps: CreateModel records the model; RegisterModel creates a model package version
in the model-registry port (LocalModelRegistry for local runs) with the execution's ARN."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import StepFailed
from pipelines.local.executors.base import (
    StepExecutor,
    job_name,
    local_arn,
    register,
)
from pipelines.local.timestamps import now_iso
from runtime.ports.model_registry import RegistryError
from steps.common.atomic import write_bytes_atomic


@register
class CreateModelExecutor(StepExecutor):
    step_type = "Model"

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        name = arguments.get("ModelName") or job_name("pipelines", step.name, ctx.run.execution_id)
        containers = arguments.get("Containers") or [arguments.get("PrimaryContainer") or {}]
        missing = [c.get("ModelDataUrl") for c in containers
                   if c.get("ModelDataUrl") and not ctx.run.store.exists(c["ModelDataUrl"])]
        if missing:
            raise StepFailed(step.name, f"model data {', '.join(missing)} is not in the store")
        model = {**arguments, "ModelName": name, "ModelArn": local_arn("model", name),
                 "CreationTime": now_iso(), "PipelineExecutionArn": ctx.run.execution_arn}
        write_bytes_atomic(ctx.run.root / "models" / f"{name}.json",
                     json.dumps(model, indent=2).encode())
        return {k: v for k, v in model.items() if k != "PipelineExecutionArn"}

    def summary(self, properties: Mapping[str, Any]) -> str:
        return properties["ModelArn"]


@register
class RegisterModelExecutor(StepExecutor):
    step_type = "RegisterModel"

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        request = dict(arguments)
        metadata = dict(request.get("MetadataProperties") or {})
        metadata.setdefault("GeneratedBy", ctx.run.execution_arn)
        request["MetadataProperties"] = metadata
        request["CustomerMetadataProperties"] = {
            **(request.get("CustomerMetadataProperties") or {}),
            "PipelineExecutionArn": ctx.run.execution_arn, "PipelineStepName": step.name}
        for container in (request.get("InferenceSpecification") or {}).get("Containers", []):
            uri = container.get("ModelDataUrl")
            if uri and not ctx.run.store.exists(uri):
                raise StepFailed(step.name, f"ModelDataUrl {uri} is not in the local store")
        try:
            arn = ctx.run.registry.create_package(request)
            return ctx.run.registry.describe_package(arn)
        except RegistryError as exc:
            raise StepFailed(step.name, str(exc)) from exc

    def summary(self, properties: Mapping[str, Any]) -> str:
        return f"{properties['ModelPackageArn']} ({properties['ModelApprovalStatus']})"
