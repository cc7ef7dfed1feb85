"""Transform steps: a batch transform job run in this process with the model's own handler.

The model is the one a Model step created (`<root>/models/<ModelName>.json`); its
`ModelDataUrl` is unpacked into the job folder and served as its container would serve it:
- `SAGEMAKER_PROGRAM` in the container's environment (a template-style model with its own
  inference script, from `SAGEMAKER_SUBMIT_DIRECTORY`'s sourcedir.tar.gz or the model's
  `code/` folder): that script's model_fn, input_fn, predict_fn and output_fn;
- otherwise the project's serve contract (steps/serve/handler.py): `SERVE_HANDLER`, else the
  model's `serving.json`.
Each input object under `TransformInput`'s S3 URI is split (`SplitType`), filtered
(`InputFilter`), sent in requests (`BatchStrategy`, `MaxPayloadInMB`) with `ContentType` and
`Accept`, joined to its input (`JoinSource`), filtered (`OutputFilter`) and written as
`<S3OutputPath>/<input name>.out`, records assembled with `AssembleWith`
(transform_records.py). What does not run locally is refused naming the field: ManifestFile
inputs and RecordIO/TFRecord splits when the definition is loaded, a model without a handler
when the step runs.
"""
from __future__ import annotations

import gzip
import importlib.util
import json
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local import transform_records as records
from pipelines.local.context import StepContext
from pipelines.local.definition import StepSpec
from pipelines.local.errors import ResolutionError, StepFailed
from pipelines.local.executors.base import (
    StepExecutor,
    literal_is_not,
    local_arn,
    register,
)
from pipelines.local.staging import extract_tar_gz, list_objects
from pipelines.local.timestamps import now_iso
from steps.common.atomic import write_bytes_atomic
from steps.serve.handler import (
    HANDLER_FUNCTIONS,
    Handler,
    HandlerError,
    handler_name_for,
    load_handler,
)

DEFAULT_MAX_PAYLOAD_MB = 6
_DESCRIBED = ("ModelName", "TransformInput", "TransformOutput", "TransformResources",
              "DataProcessing", "BatchStrategy", "MaxPayloadInMB", "MaxConcurrentTransforms",
              "Environment")


@register
class TransformExecutor(StepExecutor):
    step_type = "Transform"
    cacheable = True

    @classmethod
    def unsupported(cls, arguments: Any) -> list[str]:
        transform_input = arguments.get("TransformInput") or {}
        source = (transform_input.get("DataSource") or {}).get("S3DataSource") or {}
        checks = (("TransformInput.DataSource.S3DataSource.S3DataType", source.get("S3DataType"),
                   ("S3Prefix",)),
                  ("TransformInput.SplitType", transform_input.get("SplitType"),
                   ("Line", "None")),
                  ("TransformInput.CompressionType", transform_input.get("CompressionType"),
                   ("None", "Gzip")))
        return [f"{field} {value!r} is not run locally ({' and '.join(allowed)} "
                f"{'is' if len(allowed) == 1 else 'are'})"
                for field, value, allowed in checks if literal_is_not(value, allowed)]

    def run(self, step: StepSpec, arguments: Any, ctx: StepContext) -> dict[str, Any]:
        name = f"{step.name}-{ctx.run.execution_id}"[:63]
        started = now_iso()
        ctx.job_dir.mkdir(parents=True, exist_ok=True)
        model = _model(step.name, arguments.get("ModelName"), ctx)
        handler, loaded = _load(step.name, model, arguments, ctx)
        job = _Job(step.name, arguments)
        inputs = _input_objects(step.name, job.input, ctx)
        ctx.note(f"transforming {len(inputs)} object(s) with model {model['ModelName']}")
        for uri, relative in inputs:
            data = ctx.run.store.read_bytes(uri)
            if job.input.get("CompressionType", "None") == "Gzip":
                data = gzip.decompress(data)
            try:
                output = job.transform(data, lambda body: _invoke(handler, loaded, body, job))
            except records.RecordError as exc:
                raise StepFailed(step.name, f"{relative}: {exc}") from exc
            except _HandlerFailed as exc:
                log = ctx.job_dir / "transform.log"
                write_bytes_atomic(log, exc.trace.encode())
                raise StepFailed(step.name, f"{relative}: the model's {exc.hook} raised "
                                 f"{exc.reason}", str(log)) from exc
            out_uri = f"{job.output['S3OutputPath'].rstrip('/')}/{relative}.out"
            ctx.run.store.write_bytes(out_uri, output)
        return {**{k: arguments[k] for k in _DESCRIBED if k in arguments},
                "TransformJobName": name, "TransformJobArn": local_arn("transform-job", name),
                "TransformJobStatus": "Completed", "CreationTime": started,
                "TransformStartTime": started, "TransformEndTime": now_iso()}

    def summary(self, properties: Mapping[str, Any]) -> str:
        return properties["TransformOutput"]["S3OutputPath"]


class _HandlerFailed(Exception):
    def __init__(self, hook: str, exc: Exception):
        super().__init__(hook)
        self.hook, self.reason = hook, f"{type(exc).__name__}: {exc}"
        self.trace = traceback.format_exc()


class _Job:
    """One transform's settings, applied to one input object."""

    def __init__(self, step_name: str, arguments: Mapping[str, Any]):
        self.input = arguments.get("TransformInput") or {}
        self.output = arguments.get("TransformOutput") or {}
        processing = arguments.get("DataProcessing") or {}
        self.input_filter = processing.get("InputFilter", "$")
        self.output_filter = processing.get("OutputFilter", "$")
        self.join = processing.get("JoinSource", "None") == "Input"
        self.content_type = self.input.get("ContentType") or "application/octet-stream"
        self.accept = self.output.get("Accept") or self.content_type
        self.strategy = arguments.get("BatchStrategy") or "MultiRecord"
        self.max_payload = int(arguments.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB))
        self.split = self.input.get("SplitType", "None")
        self.assemble_with = self.output.get("AssembleWith", "None")
        self.per_record = self.join or self.output_filter != "$" or self.input_filter != "$"

    def transform(self, data: bytes, invoke: Any) -> bytes:
        sources = records.split_records(data, self.split)
        sent = [self._filtered(r) for r in sources] if self.input_filter != "$" else sources
        chunks: list[bytes] = []
        for offset, batch in _offsets(records.batches(sent, self.strategy, self.max_payload)):
            answer = invoke(b"\n".join(batch))
            if not self.per_record:
                chunks.append(answer)
                continue
            answers = [line for line in answer.splitlines() if line.strip()]
            if len(answers) != len(batch):
                raise records.RecordError(
                    f"the model answered {len(answers)} record(s) for {len(batch)}: with "
                    "DataProcessing each record needs one output line")
            for source, output in zip(sources[offset:offset + len(batch)], answers,
                                      strict=True):
                chunks.append(self._joined(source, output))
        return records.assemble(chunks, self.assemble_with)

    def _filtered(self, record: bytes) -> bytes:
        value = records.select(records.parse_record(record, self.content_type),
                               self.input_filter)
        return records.render_record(value, self.content_type)

    def _joined(self, source: bytes, output: bytes) -> bytes:
        value = records.parse_record(output, self.accept)
        if self.join:
            value = records.join_output(records.parse_record(source, self.content_type), value,
                                        self.content_type)
        return records.render_record(records.select(value, self.output_filter), self.accept)


def _offsets(batches: Any) -> Any:
    offset = 0
    for batch in batches:
        yield offset, batch
        offset += len(batch)


def _model(step_name: str, model_name: Any, ctx: StepContext) -> dict[str, Any]:
    path = ctx.run.root / "models" / f"{model_name}.json"
    if not model_name or not path.is_file():
        raise StepFailed(step_name, f"ModelName {model_name!r}: no such model in "
                         f"{ctx.run.root / 'models'}; create it with a Model step in the "
                         "pipeline and pass its ModelName property")
    return json.loads(path.read_text(encoding="utf-8"))


def _load(step_name: str, model: Mapping[str, Any], arguments: Mapping[str, Any],
          ctx: StepContext) -> tuple[Handler, Any]:
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    container = containers[0]
    environment = {**(container.get("Environment") or {}), **(arguments.get("Environment")
                                                                or {})}
    model_dir = ctx.job_dir / "model"
    if container.get("ModelDataUrl"):
        extract_tar_gz(ctx.run.store.read_bytes(container["ModelDataUrl"]), model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    try:
        if environment.get("SAGEMAKER_PROGRAM"):
            handler = _script_handler(environment, model_dir, ctx)
        else:
            handler = load_handler(handler_name_for(model_dir, environment.get("SERVE_HANDLER")))
    except HandlerError as exc:
        raise StepFailed(step_name, f"model {model['ModelName']}: {exc} (a container without "
                         "a handler, such as a built-in algorithm's, does not run locally)"
                         ) from exc
    try:
        loaded = handler.model_fn(str(model_dir))
    except Exception as exc:  # the model's own code: its traceback goes to the job log
        failure = _HandlerFailed("model_fn", exc)
        log = ctx.job_dir / "transform.log"
        write_bytes_atomic(log, failure.trace.encode())
        raise StepFailed(step_name, f"the model's model_fn raised {failure.reason}",
                         str(log)) from exc
    return handler, loaded


def _script_handler(environment: Mapping[str, str], model_dir: Path,
                    ctx: StepContext) -> Handler:
    """The inference script a framework container would run (SAGEMAKER_PROGRAM)."""
    code_dir = model_dir / "code"
    submitted = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submitted.startswith("s3://"):
        code_dir = ctx.job_dir / "code"
        extract_tar_gz(ctx.run.store.read_bytes(submitted), code_dir)
    script = code_dir / environment["SAGEMAKER_PROGRAM"]
    if not script.is_file():
        raise HandlerError(f"SAGEMAKER_PROGRAM {environment['SAGEMAKER_PROGRAM']!r} is not in "
                           f"{submitted or 'the model archive code/ folder'}")
    spec = importlib.util.spec_from_file_location(f"transform_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(code_dir))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the script's import-time code
        raise HandlerError(f"{script.name} does not import: {type(exc).__name__}: {exc}"
                           ) from exc
    finally:
        sys.path.remove(str(code_dir))
    missing = [n for n in HANDLER_FUNCTIONS if not callable(getattr(module, n, None))]
    if missing:
        raise HandlerError(f"{script.name} lacks {', '.join(missing)}; locally an inference "
                           f"script defines {', '.join(HANDLER_FUNCTIONS)}")
    return Handler(script.name, *(getattr(module, n) for n in HANDLER_FUNCTIONS))


def _invoke(handler: Handler, model: Any, body: bytes, job: _Job) -> bytes:
    hook = "input_fn"
    try:
        data = handler.input_fn(body, job.content_type)
        hook = "predict_fn"
        prediction = handler.predict_fn(data, model)
        hook = "output_fn"
        answer = handler.output_fn(prediction, job.accept)
    except Exception as exc:  # the model's own code
        raise _HandlerFailed(hook, exc) from exc
    return answer.encode("utf-8") if isinstance(answer, str) else bytes(answer)


def _input_objects(step_name: str, transform_input: Mapping[str, Any],
                   ctx: StepContext) -> list[tuple[str, str]]:
    """(URI, name relative to the input URI) of every input object."""
    source = (transform_input.get("DataSource") or {}).get("S3DataSource") or {}
    uri = str(source.get("S3Uri", ""))
    prefix = uri.rstrip("/") + "/"
    try:
        if ctx.run.store.exists(uri):
            return [(uri, uri.rstrip("/").rsplit("/", 1)[-1])]
        found = list_objects(ctx.run.store, prefix)
    except (ResolutionError, ValueError) as exc:
        raise StepFailed(step_name, f"TransformInput S3Uri {uri}: {exc}") from exc
    return [(item, item[len(prefix):]) for item in found]
