"""The local runner: executes a SageMaker pipeline definition JSON on this machine.

No AWS and no Docker: jobs run as subprocesses of the current Python, S3 is a directory
under the local root, the model registry is JSON files. The runner knows no pipeline of ours.

Local root layout (all plain files): `<bucket>/<key>` the object store, `jobs/<execution>/
<step>/` each job's /opt/ml with its `job.log`, `cache/<step>/<key>.json`, `executions/<id>.json`,
`models/`, `model-registry/`.

Also `callbacks/<token>.json` (answers to Callback steps) and `executions/<id>.running` /
`.stop` while an execution runs.

A new step type is one `@register` class in `executors/`, whose class properties say whether
it waits without a job slot (`waits`), which branches it chooses between (`branches`,
`chosen_branch`) and whether its failure is the execution's reason; what a run lends its
steps is one `RunContext` built when the run starts (`context.py`), seen by each step through
its `StepContext`; every subprocess starts in `jobs.run_job`; retry policies wrap the
executor in `StepRunner.run`; callback consumers take the two shapes of `callback_queues.py`.
"""
from pipelines.local.callback_queues import CallbackOptions, ConsumerPorts, InvalidConsumer
from pipelines.local.capture import capture_definition
from pipelines.local.errors import InvalidDefinition, InvalidParameters, StepFailed
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.runner import run_local_pipeline
from pipelines.local.stopping import NothingToStop, StopRequestError, request_stop

__all__ = ["CallbackOptions", "ConsumerPorts", "InvalidConsumer", "InvalidDefinition",
           "InvalidParameters", "LocalExecution", "NothingToStop", "StepFailed", "StepRecord",
           "StopRequestError",
           "capture_definition", "request_stop", "run_local_pipeline"]
