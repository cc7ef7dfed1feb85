"""Build definitions offline and check them against AWS's published schema."""
from __future__ import annotations

import functools
import importlib
import json
import re
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parents[4] / "shared" / "reference" / \
    "pipeline-definition.schema.json"

# Fields of the CreateProcessingJob/CreateTrainingJob/CreateModelPackage APIs (and SDK v3's
# definition) that the 2025-04 schema does not know: documented schema gaps, not errors.
KNOWN_SCHEMA_GAPS = {
    "PipelineExperimentConfig", "MlflowConfig", "CompressionType", "PropertyFiles",
    "EnumValues", "SkipModelValidation", "CustomerMetadataProperties", "Environment",
    "ModelApprovalStatus",
}
# The API documents RetryPolicies[].ExceptionType as a list of strings; the schema as one string.
KNOWN_TYPE_GAPS = {("RetryPolicies", "ExceptionType")}
_HASH = re.compile(r"/code/[0-9a-f]{16}/")


def build_definition_uncached(module, **kwargs: Any) -> str:
    from pipelines.session import session_mode

    with session_mode("offline"):
        return module.get_pipeline(region="us-east-1", **kwargs).definition()


@functools.cache
def _cached(module_name: str, frozen_kwargs: str) -> str:
    return build_definition_uncached(importlib.import_module(module_name),
                                     **json.loads(frozen_kwargs))


def build_definition(module, **kwargs: Any) -> str:
    """Offline definition, built once per test session for the same module and kwargs
    (a build takes seconds; definitions are deterministic, so sharing them is safe)."""
    return _cached(module.__name__, json.dumps(kwargs, sort_keys=True))


def normalized(definition: str) -> dict[str, Any]:
    """The definition with the step-code hash masked (it changes with every code edit)."""
    return json.loads(_HASH.sub("/code/<HASH>/", definition))


def all_steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-level steps and those nested in condition branches."""
    found = []
    for step in definition["Steps"]:
        found.append(step)
        if step["Type"] == "Condition":
            found.extend(step["Arguments"].get("IfSteps", []))
            found.extend(step["Arguments"].get("ElseSteps", []))
    return found


def schema_errors(definition: dict[str, Any]) -> list[str]:
    """Real schema errors per step, each step against its own step-type definition.

    'Additional property' errors for known API fields are schema gaps, not errors; values
    built with Std:Join / Std:JsonGet are not modelled by the schema and are skipped.
    """
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    definitions = schema["definitions"]
    type_to_definition = {"Processing": "ProcessingStep", "Training": "TrainingStep",
                          "Tuning": "TuningStep", "Condition": "ConditionStep",
                          "Fail": "FailStep", "RegisterModel": "RegisterModelStep",
                          "Model": "CreateModelStep", "Callback": "CallbackStep",
                          "Lambda": "LambdaStep", "Transform": "TransformStep"}
    errors = []
    for step in all_steps(definition):
        sub = {"$ref": f"#/definitions/{type_to_definition[step['Type']]}",
               "definitions": definitions}
        validator = jsonschema.Draft7Validator(sub)
        candidate = dict(step)
        if step["Type"] == "Condition":  # nested steps are validated on their own
            candidate["Arguments"] = {**step["Arguments"], "IfSteps": [], "ElseSteps": []}
        for error in validator.iter_errors(candidate):
            errors.extend(_real_errors(error, step["Name"]))
    return errors


def _real_errors(error, step_name: str) -> list[str]:
    if error.context:  # oneOf/anyOf: real only if every branch has a real error
        branches: dict[int, list[str]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).extend(
                _real_errors(sub, step_name))
        if any(not errs for errs in branches.values()):
            return []
        return [e for errs in branches.values() for e in errs][:3]
    if error.validator == "additionalProperties":
        extra = set(re.findall(r"'([^']+)'", error.message.split("(")[-1]))
        if extra <= KNOWN_SCHEMA_GAPS:
            return []
    if _is_expression(error.instance):
        return []
    keys = tuple(k for k in error.absolute_path if isinstance(k, str))
    if keys in KNOWN_TYPE_GAPS and isinstance(error.instance, list):
        return []
    path = "/".join(map(str, error.absolute_path))
    return [f"{step_name}: {path}: {error.message[:200]}"]


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and bool({"Std:Join", "Std:JsonGet", "Get"} & value.keys())
