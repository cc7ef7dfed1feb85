"""Processing steps: stage inputs, run the container entrypoint, upload outputs.

With ClusterConfig.InstanceCount n > 1, n instances run in parallel, each in its own
directory (`<job dir>/algo-N`) with its own /opt/ml/config/resourceconfig.json
(current_host algo-N, hosts algo-1..n); ShardedByS3Key inputs give each its share (see
sharding.py), FullyReplicated inputs give each everything; every instance's output
directories are uploaded to the output's S3Uri (same-named files: the last upload wins, as on
SageMaker). When one instance fails, the others are stopped and the step fails naming it.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import shutil
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.executors.base import (
    StepExecutor,
    literal_is_not,
    local_arn,
    register,
    step_job_name,
)
from pipelines.local.jobs import ContainerPaths, JobResult, command_line, run_job
from pipelines.local.sharding import SHARDED, host_names, shard
from pipelines.local.staging import list_objects, stage_objects, upload_dir
from pipelines.local.stopping import AnyStop
from pipelines.local.timestamps import now_iso
from runtime.ports.object_store import LocalObjectStore

_CODE_PATH = "/opt/ml/processing/input/code"
_DESCRIBED = ("ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
              "StoppingCondition", "AppSpecification", "Environment", "NetworkConfig",
              "RoleArn", "ExperimentConfig")


@register
class ProcessingExecutor(StepExecutor):
    step_type = "Processing"
    cacheable = True

    @classmethod
    def unsupported(cls, arguments: Any) -> list[str]:
        refused = []
        for position, item in enumerate(arguments.get("ProcessingInputs") or []):
            where = f"ProcessingInputs[{position}] ({item.get('InputName')!r})"
            if "S3Input" not in item:
                refused.append(f"{where}: only S3Input inputs run locally, not "
                               f"{', '.join(sorted(set(item) - {'InputName', 'AppManaged'}))}")
            elif literal_is_not(item["S3Input"].get("S3DataType"), ("S3Prefix",)):
                refused.append(f"{where}: S3Input.S3DataType "
                               f"{item['S3Input']['S3DataType']!r} is not run locally (S3Prefix "
                               "is)")
        return refused

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        name = step_job_name(step, ctx.run.execution_id)
        created = now_iso()
        shutil.rmtree(ctx.job_dir, ignore_errors=True)
        app = arguments.get("AppSpecification", {})
        if not app.get("ContainerEntrypoint"):
            raise StepFailed(step.name, "AppSpecification has no ContainerEntrypoint: the local "
                             "runner cannot run the image's default command "
                             f"({app.get('ImageUri')})")
        cluster = arguments.get("ProcessingResources", {}).get("ClusterConfig", {})
        try:
            count = int(cluster.get("InstanceCount", 1))
        except (TypeError, ValueError):
            count = 0
        if count < 1:
            raise StepFailed(step.name, f"ClusterConfig.InstanceCount must be a whole number "
                             f"of at least 1, got {cluster.get('InstanceCount')!r}")
        hosts = host_names(count)
        # One instance keeps the job directory itself; several get <job dir>/algo-N each.
        dirs = [ctx.job_dir] if count == 1 else [ctx.job_dir / host for host in hosts]
        inputs = self._list_inputs(step, arguments, ctx)
        outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        started = now_iso()
        ctx.note(f"{count} instance{'s' if count > 1 else ''} running")

        sibling_failed = threading.Event()  # as on SageMaker, one failed instance ends all
        halt = AnyStop(ctx.run.stop, sibling_failed)

        def instance(index: int) -> JobResult:
            paths = ContainerPaths(dirs[index])
            for item, objects in inputs:
                s3 = item["S3Input"]
                share = (shard(objects, count, index)
                         if s3.get("S3DataDistributionType") == SHARDED else objects)
                stage_objects(ctx.run.store, s3["S3Uri"], share, paths.local(s3["LocalPath"]))
            for output in outputs:
                paths.local(output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
            _write_json(paths.local("/opt/ml/config/processingjobconfig.json"),
                        {**arguments, "ProcessingJobName": name})
            _write_json(paths.local("/opt/ml/config/resourceconfig.json"),
                        {"current_host": hosts[index], "hosts": hosts})
            command = command_line(app["ContainerEntrypoint"],
                                   app.get("ContainerArguments") or [], paths)
            result = run_job(command, dict(arguments.get("Environment") or {}), dirs[index],
                             paths, dirs[index] / "job.log", halt,
                             on_warning=lambda message: ctx.job_warning(name, message))
            ctx.job_used(result.usage)
            if result.exit_code and not result.stopped:
                sibling_failed.set()
            return result

        with cf.ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(instance, range(count)))
        stopped = [r for r in results if r.stopped]
        if stopped and ctx.run.stop is not None and ctx.run.stop.requested:
            stopped[0].check(step.name)  # the execution was stopped: StepStopped
        for host, result in zip(hosts, results, strict=True):
            if result.exit_code and not result.stopped:  # the first instance that failed
                if count > 1:
                    result = replace(result, failure_reason=f"{host}: {result.failure_reason}")
                result.check(step.name)
        for directory in dirs:  # every instance uploads its output directories
            paths = ContainerPaths(directory)
            for output in outputs:
                s3 = output["S3Output"]
                upload_dir(ctx.run.store, paths.local(s3["LocalPath"]), s3["S3Uri"])
        return {**{k: arguments[k] for k in _DESCRIBED if k in arguments},
                "ProcessingJobName": name, "ProcessingJobArn": local_arn("processing-job", name),
                "ProcessingJobStatus": "Completed", "ExitMessage": "",
                "CreationTime": created, "ProcessingStartTime": started,
                "ProcessingEndTime": now_iso(), "LastModifiedTime": now_iso()}

    def _list_inputs(self, step: StepSpec, arguments: Any,
                     ctx: StepContext) -> list[tuple[Mapping[str, Any], list[str]]]:
        """Each S3 input with its objects, checked before any instance starts."""
        listed = []
        for item in arguments.get("ProcessingInputs", []):
            s3 = item["S3Input"]  # unsupported() refused the other kinds
            try:
                listed.append((item, list_objects(ctx.run.store, s3["S3Uri"])))
            except ResolutionError as exc:
                raise StepFailed(step.name, f"input {item.get('InputName')!r}: {exc}") from exc
        return listed

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
