"""`run-pipeline`: upsert a pipeline on SageMaker and start it, or run it locally with --local.

Compatible with the SageMaker Projects template's command line (`-n/--module-name`, `--kwargs`,
`--role-arn`, `--description`, `--tags`), plus `--parameters` (validated against the
definition before anything is sent), `--no-wait`, and `--local`.

Local runs also take:
- `--callback QUEUE_URL=module:function` (repeatable): the consumer of a Callback step's queue,
  a Lambda handler `function(event, context)` that gets real SQS events, or one shaped
  `function(event, context, *, store, callbacks, max_receive_count)`, which gets the local
  ports (pipelines/local/callback_queues.py; any other shape is refused before a step runs). By
  default the project's mapping callback Lambda consumes the queue named by the pipeline's
  `MappingQueueUrl` parameter (`--no-default-callback` turns that off); any other queue needs
  a --callback, or its step fails saying so.
- `--lambda ARN_OR_NAME=module:function` (repeatable): the local function a Lambda step calls.
- `--max-receive-count`, `--callback-timeout`: the queues' redrive limit, and how long a
  Callback step waits for its answer (default: until answered or stopped).
- `--stop [EXECUTION_ID]`: stop a local execution running elsewhere under --local-root (as
  StopPipelineExecution; Ctrl-C in the running terminal does the same).
- `--list`: the executions under --local-root with status, start time and duration.

`--steps A,B [--source-execution ID]` starts a selective execution, on AWS and locally
(pipelines/local/selective.py): only those steps run; the steps they need are taken from the
source execution (default: the latest that ended).
"""
from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from sagemaker.mlops.workflow.parallelism_config import ParallelismConfiguration
from sagemaker.mlops.workflow.selective_execution_config import SelectiveExecutionConfig

from pipelines.cli.arguments import dict_argument, parse_struct
from pipelines.cli.logs import configure_cli_logging
from pipelines.cli.outcome import exit_code_for
from pipelines.definition_checks import require_consistent, step_names_of
from pipelines.discovery import build_pipeline, load_pipeline_module
from pipelines.execution_poller import wait_for_execution
from pipelines.input_data import InputDataTarget, prepare_input_data
from pipelines.parameter_overrides import resolve_parameters
from pipelines.project_tags import merge_tags, normalize_tags
from pipelines.session import session_mode
from pipelines.tracking import hook as tracking
from runtime.errors import Refused, UserError, aws_error_message
from runtime.ports.object_store import ObjectStore, S3ObjectStore, TransientStoreError
from steps.common.arguments import comma_list, positive

log = logging.getLogger("run-pipeline")
DEFAULT_LOCAL_ROOT = ".sagemaker-local"
MAPPING_QUEUE_PARAMETER = "MappingQueueUrl"
DEFAULT_CALLBACK_CONSUMER = "lambdas.mapping_callback.handler:handle_event"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run-pipeline", description="Create/update a pipeline and start an execution.")
    parser.add_argument("-n", "--module-name",
                        help="module with get_pipeline(), e.g. pipelines.stacked_ensemble.pipeline")
    parser.add_argument("-kwargs", "--kwargs", default=None,
                        help="get_pipeline keyword arguments, a JSON or Python-literal dict")
    parser.add_argument("-role-arn", "--role-arn", default=None,
                        help="IAM role the pipeline runs as (AWS only)")
    parser.add_argument("-description", "--description", default=None)
    parser.add_argument("-tags", "--tags", default=None,
                        help='tags: [{"Key": "k", "Value": "v"}, ...] or {"k": "v"}')
    parser.add_argument("--parameters", default=None,
                        help='pipeline parameter overrides for this execution, e.g. '
                             '\'{"MaxTuningJobs": 2}\'')
    parser.add_argument("--no-wait", dest="wait", action="store_false",
                        help="return once the execution has started")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--max-parallel-steps", type=positive, default=None,
                        help="at most this many steps run at once (SageMaker's "
                             "ParallelismConfiguration; --local: worker threads)")
    parser.add_argument("--local", action="store_true",
                        help="run the pipeline on this machine (no AWS, no Docker)")
    parser.add_argument("--local-root", default=DEFAULT_LOCAL_ROOT,
                        help="local object store, registry and logs (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="--local: ignore the step cache")
    parser.add_argument("--callback", action="append", default=[], metavar="QUEUE=module:function",
                        help="--local: the consumer (a Lambda handler) of a Callback step's queue "
                             "URL; repeatable")
    parser.add_argument("--no-default-callback", action="store_true",
                        help="--local: do not consume the MappingQueueUrl queue with the "
                             "project's mapping callback Lambda")
    parser.add_argument("--lambda", dest="lambdas", action="append", default=[],
                        metavar="ARN_OR_NAME=module:function",
                        help="--local: the local function a Lambda step calls; repeatable")
    parser.add_argument("--max-receive-count", type=int, default=3,
                        help="--local: deliveries of a callback message before it is "
                             "dead-lettered and its step fails (default: %(default)s)")
    parser.add_argument("--callback-timeout", type=float, default=None, metavar="SECONDS",
                        help="--local: fail a Callback step not answered within this time "
                             "(default: wait until answered or stopped)")
    parser.add_argument("--stop", nargs="?", const="", default=None, metavar="EXECUTION_ID",
                        help="stop a local execution running under --local-root (the only "
                             "one, or the one named)")
    parser.add_argument("--list", dest="list_executions", action="store_true",
                        help="--local: list the executions under --local-root with status, "
                             "start time and duration (one whose runner died is marked "
                             "Failed, interrupted)")
    parser.add_argument("--steps", type=comma_list, default=None, metavar="STEP,STEP",
                        help="a selective execution: run only these steps, the others' outputs "
                             "taken from --source-execution (SageMaker's "
                             "SelectiveExecutionConfig; --local too)")
    parser.add_argument("--source-execution", default=None, metavar="ID_OR_ARN",
                        help="with --steps: the execution whose outputs the other steps reuse "
                             "(default: the latest that ended; an ARN on AWS, an id --local)")
    tracking.add_arguments(parser)
    return parser


def _custom_tags(module: ModuleType, tags: list[dict[str, str]], kwargs: dict[str, Any]) -> list:
    hook = getattr(module, "get_pipeline_custom_tags", None)
    if hook is None:
        return tags
    try:
        extra = hook(tags, kwargs.get("region"), kwargs.get("sagemaker_project_arn"))
    except Exception as exc:  # the hook is user code: report which hook failed and why
        detail = aws_error_message(exc) or f"{type(exc).__name__}: {exc}"
        raise UserError(f"{module.__name__}.get_pipeline_custom_tags failed: {detail}") from exc
    return merge_tags(tags, normalize_tags(extra))


def input_data_target(module: ModuleType, kwargs: dict[str, Any], pipeline: Any,
                      store: ObjectStore) -> InputDataTarget:
    """Where InputDataUrl's data goes for this pipeline: its session's default bucket (when
    it has a session) and the module's `sample_data(uri, **kwargs)` hook (when it has one)."""
    hook = getattr(module, "sample_data", None)
    session = getattr(pipeline, "sagemaker_session", None)
    return InputDataTarget(
        store=store, pipeline_name=pipeline.name,
        default_bucket=session.default_bucket if session is not None else None,
        sample_data=functools.partial(hook, **kwargs) if callable(hook) else None)


def run_on_aws(args: argparse.Namespace, module: ModuleType, kwargs: dict[str, Any],
               tags: list[dict[str, str]], parameters: dict[str, Any]) -> int:
    role_arn = args.role_arn or os.environ.get("SAGEMAKER_PIPELINE_ROLE_ARN")
    if not role_arn:
        raise UserError("no role ARN: pass --role-arn arn:aws:iam::ACCOUNT:role/NAME (or set "
                        "SAGEMAKER_PIPELINE_ROLE_ARN), or use --local to run without AWS")
    all_tags = _custom_tags(module, tags, kwargs)
    with session_mode("aws"):
        pipeline = build_pipeline(module, kwargs)
        definition = json.loads(pipeline.definition())
    require_consistent(definition, module.__name__)
    unknown = sorted(set(args.steps or ()) - set(step_names_of(definition)))
    if unknown:
        raise UserError(f"--steps {','.join(unknown)}: not step(s) of {pipeline.name}; its "
                        f"steps: {', '.join(step_names_of(definition))}")
    declared = definition.get("Parameters", [])
    resolve_parameters(declared, parameters)
    session = pipeline.sagemaker_session
    parameters = prepare_input_data(
        declared, parameters,
        input_data_target(module, kwargs, pipeline, S3ObjectStore(session.s3_client)))
    description = args.description or getattr(module, "PIPELINE_DESCRIPTION", None)
    parallelism = (ParallelismConfiguration(args.max_parallel_steps)
                   if args.max_parallel_steps else None)
    response = pipeline.upsert(role_arn=role_arn, description=description, tags=all_tags,
                               parallelism_config=parallelism)
    print(f"Upserted pipeline {pipeline.name}: {response['PipelineArn']}")
    selective = (SelectiveExecutionConfig(args.steps,
                                          source_pipeline_execution_arn=args.source_execution)
                 if args.steps else None)
    execution = pipeline.start(parameters=parameters or None, parallelism_config=parallelism,
                               selective_execution_config=selective)
    print(f"Started execution {execution.arn}")
    if not args.wait:
        return 0
    sm_client = session.sagemaker_client
    outcome = wait_for_execution(sm_client, execution.arn, poll_seconds=args.poll_seconds)
    print(f"Execution {outcome.status}"
          + (f": {outcome.failure_reason}" if outcome.failure_reason else ""))
    tracking.track_aws_execution(args, sm_client, S3ObjectStore(session.s3_client),
                                 execution.arn, pipeline.name, definition)
    return 0 if outcome.status == "Succeeded" else 1


def load_function(spec: str, option: str) -> tuple[str, Callable[..., Any]]:
    """`KEY=module:function` -> (KEY, the function); UserError naming the option and the fix."""
    key, sep, target = spec.rpartition("=")
    if not sep or not key:
        raise UserError(f"{option} {spec!r}: expected KEY=module:function, e.g. {option} "
                        "'https://sqs.us-east-1.amazonaws.com/123456789012/q=my_pkg.mod:handler'")
    return key, import_function(target, f"{option} {spec!r}")


def import_function(target: str, where: str) -> Callable[..., Any]:
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise UserError(f"{where}: expected module:function, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{where}: cannot import {module_name}: {exc}") from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise UserError(f"{where}: {module_name} has no function {attribute!r}")
    return function


def callback_consumers(args: argparse.Namespace,
                       definition: dict[str, Any],
                       parameters: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """--callback consumers, plus the project's Lambda for the MappingQueueUrl queue."""
    consumers = dict(load_function(spec, "--callback") for spec in args.callback)
    declared = definition.get("Parameters") or []
    if not args.no_default_callback and any(p.get("Name") == MAPPING_QUEUE_PARAMETER
                                            for p in declared):
        queue_url = str(resolve_parameters(declared, parameters)[MAPPING_QUEUE_PARAMETER])
        if queue_url and queue_url not in consumers:
            consumers[queue_url] = import_function(DEFAULT_CALLBACK_CONSUMER, "default consumer")
            log.info("callback queue %s: consumed by %s (the project's mapping callback "
                     "Lambda)", queue_url, DEFAULT_CALLBACK_CONSUMER)
    return consumers


def run_locally(args: argparse.Namespace, module: ModuleType, kwargs: dict[str, Any],
                parameters: dict[str, Any]) -> int:
    from pipelines.local import CallbackOptions, capture_definition, run_local_pipeline
    from pipelines.local.store import local_store

    root = Path(args.local_root).resolve()
    lambdas = dict(load_function(spec, "--lambda") for spec in args.lambdas)
    try:
        options = CallbackOptions(max_receive_count=args.max_receive_count,
                                  answer_timeout_s=args.callback_timeout)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    with session_mode("local", root):
        pipelines_built = []

        def build() -> str:
            pipeline = build_pipeline(module, kwargs)
            pipelines_built.append(pipeline)
            return pipeline.definition()

        definition = capture_definition(build, root)
    document = json.loads(definition)
    pipeline = pipelines_built[0]
    parameters = prepare_input_data(document.get("Parameters") or [], parameters,
                                    input_data_target(module, kwargs, pipeline, local_store(root)))
    consumers = callback_consumers(args, document, parameters)
    execution = run_local_pipeline(definition, parameters, local_root=root,
                                   use_cache=not args.no_cache, pipeline_name=pipeline.name,
                                   callback_consumers=consumers, callback_options=options,
                                   lambda_functions=lambdas, max_workers=args.max_parallel_steps,
                                   selected_steps=args.steps,
                                   source_execution_id=args.source_execution)
    tracking.track_local_execution(args, execution, document.get("Parameters") or [], parameters,
                                   document)
    return 0 if execution.status == "Succeeded" else 1


def stop_local(args: argparse.Namespace) -> int:
    from pipelines.local import NothingToStop, StopRequestError, request_stop

    try:
        execution_id = request_stop(args.local_root, args.stop or None)
    except NothingToStop as exc:
        raise Refused(str(exc)) from exc
    except StopRequestError as exc:
        raise UserError(str(exc)) from exc
    print(f"Stop requested for local execution {execution_id}; its running steps stop "
          "within seconds")
    return 0


def list_local(args: argparse.Namespace) -> int:
    from pipelines.local.executions import format_executions, list_executions

    records = list_executions(args.local_root)
    print(format_executions(records) if records else
          f"no local executions under {Path(args.local_root).resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stop is None and not args.list_executions and not args.module_name:
        parser.error("the following arguments are required: -n/--module-name")
    if args.source_execution and not args.steps:
        parser.error("--source-execution needs --steps (the steps to run)")
    configure_cli_logging()
    try:
        if args.stop is not None:
            return stop_local(args)
        if args.list_executions:
            return list_local(args)
        kwargs = dict_argument(args.kwargs, "--kwargs")
        tags = normalize_tags(parse_struct(args.tags, "--tags"))
        parameters = dict_argument(args.parameters, "--parameters")
        module = load_pipeline_module(args.module_name)
        if args.local:
            return run_locally(args, module, kwargs, parameters)
        return run_on_aws(args, module, kwargs, tags, parameters)
    except TransientStoreError as exc:
        print(f"run-pipeline: AWS error (S3 still failing after retries; run again): {exc}",
              file=sys.stderr)
        return 1
    except Exception as exc:
        return exit_code_for("run-pipeline", exc, "--local runs the pipeline on this machine")


if __name__ == "__main__":
    sys.exit(main())
