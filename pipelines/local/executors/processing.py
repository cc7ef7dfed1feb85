"""Processing steps: stage inputs, run the container entrypoint, upload outputs."""
from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from typing import Any

from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.executors.base import (
    StepContext,
    StepExecutor,
    job_name,
    local_arn,
    register,
)
from pipelines.local.jobs import ContainerPaths, command_line, run_job
from pipelines.local.staging import stage_prefix, upload_dir
from pipelines.local.timestamps import now_iso
from pipelines.ports.object_store import LocalObjectStore

_CODE_PATH = "/opt/ml/processing/input/code"
_DESCRIBED = ("ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
              "StoppingCondition", "AppSpecification", "Environment", "NetworkConfig",
              "RoleArn", "ExperimentConfig")


@register
class ProcessingExecutor(StepExecutor):
    step_type = "Processing"
    cacheable = True

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        name = job_name("pipelines", step.name, ctx.execution_id)
        created = now_iso()
        shutil.rmtree(ctx.job_dir, ignore_errors=True)
        paths = ContainerPaths(ctx.job_dir)
        app = arguments.get("AppSpecification", {})
        if not app.get("ContainerEntrypoint"):
            raise StepFailed(step.name, "AppSpecification has no ContainerEntrypoint: the local "
                             "runner cannot run the image's default command "
                             f"({app.get('ImageUri')})")
        count = arguments.get("ProcessingResources", {}).get("ClusterConfig", {}).get(
            "InstanceCount", 1)
        if count != 1:
            ctx.logger.warning("step %s: InstanceCount %s runs as one local instance "
                               "(sharding comes with the runner's second part)", step.name, count)
        self._stage_inputs(step, arguments, ctx, paths)
        outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        for output in outputs:
            paths.local(output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        _write_json(paths.local("/opt/ml/config/processingjobconfig.json"),
                    {**arguments, "ProcessingJobName": name})
        _write_json(paths.local("/opt/ml/config/resourceconfig.json"),
                    {"current_host": "algo-1", "hosts": ["algo-1"]})
        command = command_line(app["ContainerEntrypoint"], app.get("ContainerArguments") or [],
                               paths)
        started = now_iso()
        result = run_job(command, dict(arguments.get("Environment") or {}), ctx.job_dir, paths,
                         ctx.job_dir / "job.log")
        if result.exit_code:
            raise StepFailed(step.name, result.failure_reason, str(result.log_path))
        for output in outputs:
            s3 = output["S3Output"]
            upload_dir(ctx.store, paths.local(s3["LocalPath"]), s3["S3Uri"])
        return {**{k: arguments[k] for k in _DESCRIBED if k in arguments},
                "ProcessingJobName": name, "ProcessingJobArn": local_arn("processing-job", name),
                "ProcessingJobStatus": "Completed", "ExitMessage": "",
                "CreationTime": created, "ProcessingStartTime": started,
                "ProcessingEndTime": now_iso(), "LastModifiedTime": now_iso()}

    def _stage_inputs(self, step: StepSpec, arguments: Any, ctx: StepContext,
                      paths: ContainerPaths) -> None:
        for item in arguments.get("ProcessingInputs", []):
            s3 = item.get("S3Input")
            if s3 is None:
                raise StepFailed(step.name, f"input {item.get('InputName')!r}: only S3Input "
                                 "inputs run locally (not DatasetDefinition)")
            if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise StepFailed(step.name, f"input {item.get('InputName')!r}: S3DataType "
                                 f"{s3['S3DataType']} is not supported locally; use S3Prefix")
            try:
                stage_prefix(ctx.store, s3["S3Uri"], paths.local(s3["LocalPath"]))
            except ResolutionError as exc:
                raise StepFailed(step.name, f"input {item.get('InputName')!r}: {exc}") from exc

    def code_uris(self, arguments: Any) -> list[str]:
        return [i["S3Input"]["S3Uri"] for i in arguments.get("ProcessingInputs", [])
                if "S3Input" in i and (i.get("InputName") == "code"
                                       or i["S3Input"].get("LocalPath", "").startswith(_CODE_PATH))]

    def summary(self, properties: Mapping[str, Any]) -> str:
        outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
        return ", ".join(f"{o['OutputName']}: {o['S3Output']['S3Uri']}" for o in outputs)

    def outputs_exist(self, properties: Mapping[str, Any], store: LocalObjectStore) -> bool:
        outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
        return all(store.list_uris(o["S3Output"]["S3Uri"]) for o in outputs)


def _write_json(path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str))
