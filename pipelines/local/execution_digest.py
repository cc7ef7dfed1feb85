"""What a finished local execution left that a person acts on: the quality gates' verdicts,
the registered versions, and each step's logs, outputs and plots as local files.

Read from the execution's record, its definition and the local store, so the final summary
and the execution page say the same thing. The runner knows no pipeline of ours: a gate is
any declared property file (the evaluation report) with a `gate` section in the shape of
steps/common/gate.py, a registered version is any step whose properties name a model
package, and a plot is any PNG or HTML file in a step's outputs.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.resolver import walk
from runtime.ports.object_store import LocalObjectStore

PLOT_SUFFIXES = (".png", ".html")
GATE_KEY = "gate"  # the report section steps/common/gate.py writes


@dataclass(frozen=True)
class GateVerdict:
    """One evaluation report's gate: passed, the one-line message, each check's phrase."""

    step: str
    report_uri: str
    passed: bool
    message: str
    checks: list[tuple[str, bool, str]]  # (name, passed, text)


@dataclass(frozen=True)
class RegisteredVersion:
    step: str
    group: str
    version: int
    arn: str
    status: str
    model_uri: str | None

    @property
    def reference(self) -> str:
        """GROUP/VERSION, what `model-registry` and `deploy-model` take."""
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class StepFiles:
    logs: list[Path] = field(default_factory=list)
    outputs: list[tuple[str, str, Path]] = field(default_factory=list)  # (name, uri, local)
    plots: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionDigest:
    gates: list[GateVerdict]
    registered: list[RegisteredVersion]
    files: dict[str, StepFiles]


def property_file_uri(entry: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    """Where a Processing step's declared PropertyFile lies: its output's URI + FilePath."""
    output = walk(properties, ["ProcessingOutputConfig", "Outputs", entry["OutputName"],
                               "S3Output", "S3Uri"], f"PropertyFile {entry['PropertyFileName']}")
    return f"{output.rstrip('/')}/{entry['FilePath']}"


def digest_execution(execution: LocalExecution, steps: Mapping[str, Mapping[str, Any]],
                     store: LocalObjectStore) -> ExecutionDigest:
    """`steps`: each step's definition dict by name (PipelineGraph's `raw`)."""
    gates, registered, files = [], [], {}
    for name, record in execution.steps.items():
        if record.status == "Succeeded":
            gates += _gates(name, steps.get(name, {}), record.properties, store)
            version = _registered(name, record.properties)
            if version is not None:
                registered.append(version)
        files[name] = _files(execution, record, store)
    return ExecutionDigest(gates, registered, files)


def _gates(name: str, raw: Mapping[str, Any], properties: Mapping[str, Any],
           store: LocalObjectStore) -> list[GateVerdict]:
    verdicts = []
    for entry in raw.get("PropertyFiles") or []:
        try:
            uri = property_file_uri(entry, properties)
            report = json.loads(store.read_bytes(uri))
        except (LookupError, ValueError, OSError):
            continue  # no such output, or not a JSON report: nothing to show
        gate = report.get(GATE_KEY) if isinstance(report, dict) else None
        if isinstance(gate, dict) and "passed" in gate:
            checks = [(str(c.get("name", "")), bool(c.get("passed")), str(c.get("text", "")))
                      for c in gate.get("checks") or [] if isinstance(c, dict)]
            verdicts.append(GateVerdict(name, uri, bool(gate["passed"]),
                                        str(gate.get("message", "")), checks))
    return verdicts


def _registered(name: str, properties: Mapping[str, Any]) -> RegisteredVersion | None:
    if "ModelPackageArn" not in properties or "ModelPackageVersion" not in properties:
        return None
    containers = (properties.get("InferenceSpecification") or {}).get("Containers") or [{}]
    return RegisteredVersion(name, str(properties.get("ModelPackageGroupName", "")),
                             int(properties["ModelPackageVersion"]),
                             str(properties["ModelPackageArn"]),
                             str(properties.get("ModelApprovalStatus", "")),
                             containers[0].get("ModelDataUrl"))


def _files(execution: LocalExecution, record: StepRecord, store: LocalObjectStore) -> StepFiles:
    job_dir = Path(execution.local_root) / "jobs" / execution.execution_id / record.name
    logs = sorted(job_dir.glob("**/job.log"))
    if record.log_path and Path(record.log_path) not in logs:
        logs.insert(0, Path(record.log_path))
    outputs = []
    for output_name, uri in _output_uris(record.properties):
        try:
            outputs.append((output_name, uri, store.path_for(uri)))
        except ValueError:
            continue  # a URI outside the local store: nothing local to link
    plots = sorted(path for _, _, local in outputs if local.is_dir()
                   for path in local.rglob("*") if path.suffix in PLOT_SUFFIXES)
    return StepFiles(logs, outputs, plots)


def _output_uris(properties: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A step's outputs: a Processing job's named outputs, a training job's model, the model
    a registered version serves."""
    uris = [(str(o.get("OutputName", "")), str((o.get("S3Output") or {}).get("S3Uri", "")))
            for o in (properties.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            if isinstance(o, dict)]
    models = [(properties.get("ModelArtifacts") or {}).get("S3ModelArtifacts")] + [
        c.get("ModelDataUrl") for c in (properties.get("InferenceSpecification") or {}).get(
            "Containers") or [] if isinstance(c, dict)]
    uris += [("model", str(model)) for model in models if model]
    return [(name, uri) for name, uri in uris if uri.startswith("s3://")]
