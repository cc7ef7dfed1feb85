"""Lambda steps: call a registered local function with the step's inputs, take its outputs.

As SageMaker invokes the function with the step's (resolved) Arguments as the event, the
local function is called `function(event, context)`; it returns a JSON object whose keys
named in OutputParameters become the step's outputs. Functions are registered by ARN or by
function name (`run-pipeline --local --lambda NAME=module:function`,
`run_local_pipeline(lambda_functions={...})`). A function written for AWS runs unchanged:
while it runs its boto3 calls are answered locally (aws_routing.py: S3 objects from the local
store, the step callbacks to the local ones, anything else refused naming the call). A
function that raises fails the step; its traceback goes to the step's `lambda.log`.
"""
from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.local.aws_routing import LocalAws, routed_to_local
from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import StepFailed
from pipelines.local.executors.base import StepExecutor, register
from pipelines.local.output_parameters import declared_outputs, typed_outputs
from pipelines.local.sqs_events import LocalLambdaContext
from runtime.ports.local_callbacks import FileCallbacks
from steps.common.atomic import write_bytes_atomic


def function_name(arn_or_name: str) -> str:
    """`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` -> NAME; a name stays."""
    parts = str(arn_or_name).split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return parts[6]
    return str(arn_or_name)


def find_function(functions: Mapping[str, Callable[..., Any]],
                  arn: str) -> Callable[..., Any] | None:
    if arn in functions:
        return functions[arn]
    wanted = function_name(arn)
    return next((fn for key, fn in functions.items() if function_name(key) == wanted), None)


@register
class LambdaExecutor(StepExecutor):
    step_type = "Lambda"
    cacheable = True
    cached_by_default = False

    def arguments(self, step: StepSpec) -> Any:
        return {"Arguments": step.arguments, "FunctionArn": step.raw.get("FunctionArn")}

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        arn = str(arguments["FunctionArn"] or "")
        function = find_function(ctx.run.lambda_functions, arn)
        if function is None:
            name = function_name(arn)
            raise StepFailed(step.name, f"no local function is registered for Lambda {arn!r}; "
                             f"register one with run-pipeline --local --lambda "
                             f"'{name}=module:function' or run_local_pipeline(lambda_functions="
                             f"{{'{name}': function}})")
        context = LocalLambdaContext(function_name=function_name(arn), invoked_function_arn=arn)
        ctx.note(f"calling {function_name(arn)}")
        try:
            with routed_to_local(LocalAws(ctx.run.store, FileCallbacks(ctx.run.root),
                                          ctx.run.execution_arn)):
                result = function(copy.deepcopy(arguments["Arguments"]), context)
        except Exception as exc:  # user code: the step fails, the traceback is kept
            log_path = ctx.job_dir / "lambda.log"
            write_bytes_atomic(log_path, traceback.format_exc().encode())
            raise StepFailed(step.name, f"Lambda {function_name(arn)} raised "
                             f"{type(exc).__name__}: {exc}", str(log_path)) from exc
        if not isinstance(result, Mapping):
            raise StepFailed(step.name, f"Lambda {function_name(arn)} returned "
                             f"{type(result).__name__}; it must return a JSON object with the "
                             "step's OutputParameters")
        try:
            result = json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            raise StepFailed(step.name, f"Lambda {function_name(arn)} returned a value that is "
                             f"not JSON: {exc}") from exc
        outputs = typed_outputs(step.name, declared_outputs(step.raw), result,
                                f"Lambda {function_name(arn)}")
        return {"OutputParameters": outputs, "FunctionArn": arn}

    def summary(self, properties: Mapping[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in properties.get("OutputParameters", {}).items())
