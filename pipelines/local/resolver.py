"""One recursive resolver for the values a definition computes at run time.

`Get` (Parameters.X, Execution.X, Steps.S.<property path>), `Std:Join` and `Std:JsonGet`
(PropertyFile or S3Uri form). Executors receive already-resolved arguments and never see
these forms; the scheduler uses `step_references` to find data dependencies.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.local.errors import ResolutionError

# SDK v3's ExecutionVariables (plus ExecutionId, an alias of PipelineExecutionId). The job-name
# variables are the name of the job of the step that reads them, so only steps of the types
# named here may: SageMaker resolves them nowhere else.
EXECUTION_VARIABLES = ("ExecutionId", "PipelineExecutionId", "PipelineExecutionArn",
                       "PipelineName", "PipelineArn", "StartDateTime", "CurrentDateTime",
                       "TrainingJobName", "ProcessingJobName")
JOB_NAME_VARIABLES = {"TrainingJobName": "Training", "ProcessingJobName": "Processing"}

_STEP_GET = re.compile(r"Steps\.([A-Za-z0-9_\-]+)(.*)", re.DOTALL)
_TOKEN = re.compile(r"\.([A-Za-z_][\w:\-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def parse_path(path: str, leading_dot: bool = True) -> list[str | int]:
    """`A.B['k'][0]` -> ['A', 'B', 'k', 0]; raise ResolutionError on anything else."""
    text = path if not leading_dot or path.startswith((".", "[")) else "." + path
    tokens: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ResolutionError(f"cannot parse path {path!r} at {text[pos:]!r}")
        name, index, key1, key2 = match.groups()
        tokens.append(int(index) if index is not None else (name or key1 or key2 or ""))
        pos = match.end()
    return tokens


def walk(value: Any, tokens: list[str | int], where: str) -> Any:
    """Follow property/JSON tokens; a string key on a list picks the item whose *Name matches."""
    for token in tokens:
        if isinstance(token, int):
            if not isinstance(value, list) or token >= len(value):
                size = len(value) if isinstance(value, list) else "not a list"
                raise ResolutionError(f"{where}: index [{token}] out of range ({size})")
            value = value[token]
        elif isinstance(value, Mapping):
            if token not in value:
                known = ", ".join(sorted(map(str, value))) or "none"
                raise ResolutionError(f"{where}: no {token!r} (available: {known})")
            value = value[token]
        elif isinstance(value, list):
            matches = [item for item in value if isinstance(item, Mapping) and any(
                k.endswith("Name") and v == token for k, v in item.items())]
            if not matches:
                raise ResolutionError(f"{where}: no item named {token!r}")
            value = matches[0]
        else:
            raise ResolutionError(f"{where}: cannot take {token!r} of {type(value).__name__}")
    return value


def step_references(value: Any) -> set[str]:
    """Names of the steps a value refers to through `Get: Steps.<name>...`."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        get = value.get("Get")
        if isinstance(get, str) and len(value) == 1:
            match = _STEP_GET.fullmatch(get)
            if match:
                found.add(match[1])
        for item in value.values():
            found |= step_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= step_references(item)
    return found


def get_expressions(value: Any) -> list[str]:
    """Every `Get` expression inside a value, for load-time checks."""
    if isinstance(value, Mapping):
        own = [value["Get"]] if isinstance(value.get("Get"), str) and len(value) == 1 else []
        return own + [g for item in value.values() for g in get_expressions(item)]
    if isinstance(value, list):
        return [g for item in value for g in get_expressions(item)]
    return []


def join_text(value: Any) -> str:
    """How Std:Join renders a value: booleans in JSON spelling, everything else as str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Resolver:
    """Resolve a definition value against parameters, execution variables and step properties.

    `step_properties(name)` returns the properties of a finished step; `read_property_file(
    step, name)` returns the parsed JSON of a step's PropertyFile; `read_json(uri)` the parsed
    JSON object at an S3 URI. Each is supplied by the runner, which owns the state.
    """

    def __init__(self, parameters: Mapping[str, Any], execution_variables: Mapping[str, Any],
                 step_properties: Callable[[str], Mapping[str, Any]],
                 read_property_file: Callable[[str, str], Any],
                 read_json: Callable[[str], Any]):
        self._parameters = parameters
        self._execution = execution_variables
        self._step_properties = step_properties
        self._read_property_file = read_property_file
        self._read_json = read_json

    def with_variables(self, extra: Mapping[str, Any]) -> Resolver:
        """This resolver with more execution variables (a step's own job name)."""
        return Resolver(self._parameters, {**self._execution, **extra}, self._step_properties,
                        self._read_property_file, self._read_json)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "Get" and isinstance(inner, str):
                return self._get(inner)
            if key == "Std:Join":
                values = self.resolve(inner.get("Values", []))
                return str(inner.get("On", "")).join(join_text(v) for v in values)
            if key == "Std:JsonGet":
                return self._json_get(inner)
        return {key: self.resolve(item) for key, item in value.items()}

    def _get(self, expression: str) -> Any:
        head, _, rest = expression.partition(".")
        if head == "Parameters":
            if rest not in self._parameters:
                raise ResolutionError(f"{expression}: no such parameter")
            return self._parameters[rest]
        if head == "Execution":
            if rest not in self._execution:
                raise ResolutionError(f"{expression}: no such execution variable "
                                      f"(known: {', '.join(EXECUTION_VARIABLES)})")
            value = self._execution[rest]
            return value() if callable(value) else value
        match = _STEP_GET.fullmatch(expression)
        if not match:
            raise ResolutionError(f"cannot resolve {{'Get': {expression!r}}}")
        return walk(self._step_properties(match[1]), parse_path(match[2]), expression)

    def _json_get(self, spec: Mapping[str, Any]) -> Any:
        path = spec.get("Path", "")
        if "PropertyFile" in spec:
            ref = spec["PropertyFile"]
            expression = ref.get("Get", "") if isinstance(ref, Mapping) else ""
            match = re.fullmatch(r"Steps\.([A-Za-z0-9_\-]+)\.PropertyFiles\.(.+)", expression)
            if not match:
                raise ResolutionError(f"Std:JsonGet: unsupported PropertyFile reference {ref!r}")
            document = self._read_property_file(match[1], match[2])
            where = f"JsonGet {match[2]} (step {match[1]}) path {path!r}"
        elif "S3Uri" in spec:
            uri = self.resolve(spec["S3Uri"])
            document = self._read_json(uri)
            where = f"JsonGet {uri} path {path!r}"
        else:
            raise ResolutionError(f"Std:JsonGet needs PropertyFile or S3Uri, got {sorted(spec)}")
        return walk(document, parse_path(path, leading_dot=True), where)


def load_json_document(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ResolutionError(f"{where} is not valid JSON: {exc}") from exc
