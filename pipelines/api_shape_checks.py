"""Check each job step's Arguments against the request shape of the API SageMaker calls for it.

A Processing step becomes a CreateProcessingJob request, a Training step CreateTrainingJob,
Tuning CreateHyperParameterTuningJob, Transform CreateTransformJob, Model CreateModel and
RegisterModel CreateModelPackage. SageMaker checks those requests only when the step runs, so
an argument of 300 characters or a misspelt enum fails the execution, not the upsert. This
module reads the shapes from botocore's service model (offline, the same model boto3 sends
with) and checks every member: required members, types, lengths, patterns, enums, ranges,
list and map sizes, unknown members. The name member the pipeline generates (e.g.
ProcessingJobName) is not required.

Pipeline expressions are checked for the type expected where they stand: a parameter has its
declared type, an execution variable is a string (StartDateTime and CurrentDateTime are
timestamps), `Std:Join` is a string, a step property has the type of its member in the step's
Describe* response, a Callback or Lambda output its OutputType; `Std:JsonGet` and property
files are typed only at run time and pass. A parameter standing where a string has rules (an
enum, a pattern, a length) has its default value checked against them.

Each problem is one line: `step: field path: value: the rule broken (the API)`. botocore's own
ParamValidator is not used: it checks neither patterns, enums nor maxima, and knows no
pipeline expressions.
"""
from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Step type -> (the API its Arguments are a request of, the member the pipeline fills in).
STEP_REQUESTS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
}
# Step type -> the shapes its properties come from (as the SDK's `Properties` declare them).
PROPERTY_SHAPES = {
    "Processing": ("DescribeProcessingJobResponse",),
    "Training": ("DescribeTrainingJobResponse",),
    "Tuning": ("DescribeHyperParameterTuningJobResponse",
               "ListTrainingJobsForHyperParameterTuningJobResponse"),
    "Transform": ("DescribeTransformJobResponse",),
    "Model": ("DescribeModelOutput",),
    "RegisterModel": ("DescribeModelPackageOutput",),
}
_PARAMETER_KINDS = {"String": "string", "Integer": "integer", "Float": "float",
                    "Boolean": "boolean"}
_TIMESTAMP_VARIABLES = {"StartDateTime", "CurrentDateTime"}
_BOTOCORE_KINDS = {"string": "string", "integer": "integer", "long": "integer",
                   "float": "float", "double": "float", "boolean": "boolean",
                   "timestamp": "timestamp", "blob": "blob", "structure": "structure",
                   "list": "list", "map": "map"}
# Slot kind -> value kinds that may stand there.
_FITS = {"float": {"float", "integer"}}
_UNKNOWN = "unknown"
_ENUM_SHOWN = 12  # longer enums (instance types) are named by their closest values
_PATH_TOKEN = re.compile(r"\.([A-Za-z_][\w]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@functools.cache
def service_model() -> Any:
    """botocore's SageMaker service model (read from botocore's bundled data; no network)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def check_request_shapes(definition: Mapping[str, Any]) -> list[str]:
    """Every rule of the SageMaker API the definition's job steps break, one line each."""
    context = _Context.of(definition)
    problems: list[str] = []
    for step in context.steps.values():
        request = STEP_REQUESTS.get(step.get("Type"))
        if request is None or not isinstance(step.get("Arguments"), Mapping):
            continue
        operation, generated = request
        shape = service_model().operation_model(operation).input_shape
        checker = _StepChecker(context, step["Name"], operation)
        checker.structure(step["Arguments"], shape, "", skip_required={generated})
        problems.extend(checker.problems)
    return problems


@dataclass(frozen=True)
class _Context:
    parameters: Mapping[str, Mapping[str, Any]]
    steps: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, definition: Mapping[str, Any]) -> _Context:
        steps: dict[str, Mapping[str, Any]] = {}
        pending = list(definition.get("Steps") or [])
        while pending:
            step = pending.pop(0)
            if not isinstance(step, Mapping) or not isinstance(step.get("Name"), str):
                continue
            steps[step["Name"]] = step
            arguments = step.get("Arguments")
            if step.get("Type") == "Condition" and isinstance(arguments, Mapping):
                pending += list(arguments.get("IfSteps") or []) + list(
                    arguments.get("ElseSteps") or [])
        parameters = {p["Name"]: p for p in definition.get("Parameters") or []
                      if isinstance(p, Mapping) and "Name" in p}
        return cls(parameters, steps)

    def kind_of(self, expression: Mapping[str, Any]) -> str:
        """The type a pipeline expression yields: a botocore kind, or 'unknown'."""
        if "Std:Join" in expression:
            return "string"
        get = expression.get("Get")
        if not isinstance(get, str):
            return _UNKNOWN
        head, _, rest = get.partition(".")
        if head == "Parameters":
            declared = self.parameters.get(rest, {}).get("Type", "String")
            return _PARAMETER_KINDS.get(declared, _UNKNOWN)
        if head == "Execution":
            return "timestamp" if rest in _TIMESTAMP_VARIABLES else "string"
        if head == "Steps":
            name, _, path = rest.partition(".")
            return self._property_kind(name, path)
        return _UNKNOWN

    def _property_kind(self, step_name: str, path: str) -> str:
        step = self.steps.get(step_name)
        if step is None or ".PropertyFiles." in f".{path}":
            return _UNKNOWN
        step_type = step.get("Type")
        if step_type == "Condition" and path == "Outcome":
            return "boolean"
        if step_type in ("Callback", "Lambda"):
            match = re.fullmatch(r"OutputParameters\[['\"]([^'\"]+)['\"]\]", path)
            declared = {o.get("OutputName"): o.get("OutputType", "String")
                        for o in step.get("OutputParameters") or []}
            return _PARAMETER_KINDS.get(declared.get(match[1]) if match else "", _UNKNOWN)
        for shape_name in PROPERTY_SHAPES.get(step_type, ()):
            kind = _walk_shape(service_model().shape_for(shape_name), path)
            if kind is not None:
                return kind
        return _UNKNOWN


def _walk_shape(shape: Any, path: str) -> str | None:
    """The kind at `path` (`A.B['k'][0]`) of a botocore shape; None when it has no such member."""
    tokens = [m.group(1) or m.group(2) or m.group(3) or m.group(4)
              for m in _PATH_TOKEN.finditer("." + path)]
    for token in tokens:
        if shape.type_name == "structure":
            if token not in shape.members:
                return None
            shape = shape.members[token]
        elif shape.type_name == "list":
            shape = shape.member  # an index, or a name picking the item (Outputs['train'])
        elif shape.type_name == "map":
            shape = shape.value
        else:
            return None
    return _BOTOCORE_KINDS.get(shape.type_name, _UNKNOWN)


def _is_expression(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and (
        "Std:Join" in value or "Std:JsonGet" in value
        or ("Get" in value and isinstance(value["Get"], str)))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else f"{text[:60]}...{text[-12:]} ({len(text)} chars)"


class _StepChecker:
    """Walks one step's Arguments beside its request shape, collecting problems."""

    def __init__(self, context: _Context, step_name: str, operation: str):
        self.context = context
        self.step_name = step_name
        self.operation = operation
        self.problems: list[str] = []

    def _problem(self, path: str, value: Any, rule: str) -> None:
        where = path or "Arguments"
        self.problems.append(f"{self.step_name}: {where}: {_shown(value)}: {rule} "
                             f"({self.operation})")

    def check(self, value: Any, shape: Any, path: str) -> None:
        kind = _BOTOCORE_KINDS.get(shape.type_name, _UNKNOWN)
        if _is_expression(value):
            self._expression(value, shape, kind, path)
        elif kind == "structure":
            self.structure(value, shape, path)
        elif kind == "list":
            self._list(value, shape, path)
        elif kind == "map":
            self._map(value, shape, path)
        else:
            self._scalar(value, shape, kind, path)

    def structure(self, value: Any, shape: Any, path: str,
                  skip_required: set[str | None] = frozenset()) -> None:
        if not isinstance(value, Mapping):
            self._problem(path, value, f"expected an object ({shape.name})")
            return
        for name in shape.required_members:
            if name not in value and name not in skip_required:
                self._problem(_join(path, name), None, "required member missing")
        for name, item in value.items():
            if name not in shape.members:
                known = ", ".join(sorted(shape.members))
                self._problem(_join(path, name), item, f"unknown member of {shape.name} "
                              f"(members: {known})")
            else:
                self.check(item, shape.members[name], _join(path, name))

    def _list(self, value: Any, shape: Any, path: str) -> None:
        if not isinstance(value, list):
            self._problem(path, value, "expected a list")
            return
        self._size(value, shape, path, "items")
        for index, item in enumerate(value):
            self.check(item, shape.member, f"{path}[{index}]")

    def _map(self, value: Any, shape: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self._problem(path, value, "expected an object (a map)")
            return
        self._size(value, shape, path, "entries")
        for key, item in value.items():
            self._string_rules(key, shape.key, f"{path} key {key!r}")
            self.check(item, shape.value, f"{path}[{key!r}]")

    def _size(self, value: Any, shape: Any, path: str, unit: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            self._problem(path, value, f"{len(value)} {unit}; at least {low} allowed")
        if high is not None and len(value) > high:
            self._problem(path, value, f"{len(value)} {unit}; at most {high} allowed")

    def _scalar(self, value: Any, shape: Any, kind: str, path: str) -> None:
        if kind == "string":
            if not isinstance(value, str):
                self._problem(path, value, f"expected a string, got {type(value).__name__}")
            else:
                self._string_rules(value, shape, path)
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                self._problem(path, value, "expected a whole number")
            else:
                self._range(value, shape, path)
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._problem(path, value, "expected a number")
            else:
                self._range(value, shape, path)
        elif kind == "boolean" and not isinstance(value, bool):
            self._problem(path, value, "expected true or false")

    def _range(self, value: float, shape: Any, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self._problem(path, value, f"below the minimum {low}")
        if high is not None and value > high:
            self._problem(path, value, f"above the maximum {high}")

    def _string_rules(self, value: str, shape: Any, path: str, whose: str = "") -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            self._problem(path, value, f"{whose}{len(value)} characters; at least {low}")
        if high is not None and len(value) > high:
            self._problem(path, value, f"{whose}{len(value)} characters; at most {high}")
        if shape.enum and value not in shape.enum:
            self._problem(path, value, f"{whose}{_enum_rule(value, shape.enum)}")
        pattern = _pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            self._problem(path, value, f"{whose}does not match the pattern "
                                       f"{shape.metadata['pattern']}")

    def _expression(self, value: Mapping[str, Any], shape: Any, kind: str, path: str) -> None:
        found = self.context.kind_of(value)
        if found == _UNKNOWN or found == kind or found in _FITS.get(kind, ()):
            if found == "string" and kind == "string":
                self._parameter_default(value, shape, path)
            return
        if kind == "string":
            parameter = str(value.get("Get", "")).startswith("Parameters.")
            fix = "parameter.to_string()" if parameter else "Join(on='', values=[...])"
            self._problem(path, value, f"{_a(found)} where the API takes a string; pass it "
                                       f"as text: {fix}")
        else:
            self._problem(path, value, f"{_a(found)} where the API takes {_a(kind)}")

    def _parameter_default(self, value: Mapping[str, Any], shape: Any, path: str) -> None:
        get = value.get("Get")
        if not isinstance(get, str) or not get.startswith("Parameters."):
            return
        name = get.partition(".")[2]
        default = self.context.parameters.get(name, {}).get("DefaultValue")
        if isinstance(default, str):
            self._string_rules(default, shape, path, whose=f"parameter {name}'s default: ")


def _enum_rule(value: str, allowed: list[str]) -> str:
    if len(allowed) <= _ENUM_SHOWN:
        return f"not one of {', '.join(allowed)}"
    close = difflib.get_close_matches(value, allowed, n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else ""
    return f"not one of the {len(allowed)} values the API accepts{hint}"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.cache
def _pattern(text: str | None) -> re.Pattern[str] | None:
    """A pattern as SageMaker applies it: to the whole value (a job name `my_job` fails
    `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`). Patterns Python cannot read (`\\p{L}`) are skipped."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error:
        return None

