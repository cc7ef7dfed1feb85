"""The local runner: executes a SageMaker pipeline definition JSON on this machine.

No AWS and no Docker: jobs run as subprocesses of the current Python, S3 is a directory
under the local root, the model registry is JSON files. The runner knows no pipeline of ours.

Local root layout (all plain files): `<bucket>/<key>` the object store, `jobs/<execution>/
<step>/` each job's /opt/ml with its `job.log`, `cache/<step>/<key>.json`, `executions/<id>.json`,
`models/`, `model-registry/`.

Where the second part plugs in: a new step type (Callback, Lambda, Transform) is one
`@register` class in `executors/`; ports it needs (callbacks) go on `StepContext`; stopping
goes through `jobs.run_job` (the one place a subprocess is started); retry policies wrap
`StepRunner.run`; sharding loops `ProcessingExecutor.run` over instances.
"""
from pipelines.local.capture import capture_definition
from pipelines.local.errors import InvalidDefinition, InvalidParameters, StepFailed
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.runner import run_local_pipeline

__all__ = ["InvalidDefinition", "InvalidParameters", "LocalExecution", "StepFailed",
           "StepRecord", "capture_definition", "run_local_pipeline"]
