"""Finished executions in the three endings (succeeded, a Fail step, a failed step), as the
runner records them, with the evaluation report, a plot and a job log in a local root."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipelines.local.definition import PipelineGraph, load_graph  # noqa: E402
from pipelines.local.execution import LocalExecution, StepRecord  # noqa: E402
from pipelines.local.execution_digest import ExecutionDigest, digest_execution  # noqa: E402
from pipelines.local.executors import EXECUTORS  # noqa: E402
from runtime.ports.object_store import LocalObjectStore  # noqa: E402

BUCKET = "s3://bucket/Demo"
OUTPUT = f"{BUCKET}/abc/Evaluate/evaluation"
MODEL = f"{BUCKET}/Train/output/model.tar.gz"
PASSING = "rmse 50.1 is 0.7 x the naive baseline's 71.6 (the training mean); needs at most 0.9 x"
FAILING = "rmse 50.1 is above QualityThreshold 1; needs at most 1"
PARAMETERS = {"InputDataUrl": f"{BUCKET}/data.csv", "QualityThreshold": 0.0}

DEFINITION = {"Version": "2020-12-01", "Parameters": [], "Steps": [
    {"Name": "Prepare", "Type": "Processing", "Arguments": {}},
    {"Name": "Evaluate", "Type": "Processing", "Arguments": {}, "DependsOn": ["Prepare"],
     "PropertyFiles": [{"PropertyFileName": "Evaluation", "OutputName": "evaluation",
                        "FilePath": "evaluation.json"}]},
    {"Name": "Check", "Type": "Condition", "DependsOn": ["Evaluate"], "Arguments": {
        "Conditions": [],
        "IfSteps": [{"Name": "Register", "Type": "RegisterModel", "Arguments": {}}],
        "ElseSteps": [{"Name": "TooWeak", "Type": "Fail", "Arguments": {}}]}}]}


def graph() -> PipelineGraph:
    return load_graph(DEFINITION, EXECUTORS)


def _record(name: str, step_type: str, status: str, **fields: Any) -> StepRecord:
    ran = status in ("Succeeded", "Failed")
    return StepRecord(name, step_type, status, duration_s=1.5 if ran else None,
                      start_time="2026-12-07T01:00:00+00:00" if ran else None, **fields)


def _evaluated() -> StepRecord:
    return _record("Evaluate", "Processing", "Succeeded", summary=f"evaluation: {OUTPUT}",
                   properties={"ProcessingOutputConfig": {"Outputs": [
                       {"OutputName": "evaluation", "S3Output": {"S3Uri": OUTPUT}}]}})


def _execution(root: Path, status: str, reason: str | None,
               records: list[StepRecord]) -> LocalExecution:
    return LocalExecution("DemoPipeline", "abc", "arn:aws:sagemaker:local:0:pipeline/demo/"
                          "execution/abc", str(root), status=status,
                          start_time="2026-12-07T01:00:00+00:00",
                          end_time="2026-12-07T01:00:09+00:00", failure_reason=reason,
                          steps={r.name: r for r in records})


def write_outputs(root: Path, passed: bool) -> None:
    """The evaluation step's output: its report with a gate section, and one plot."""
    store = LocalObjectStore(root)
    checks = [{"name": "beats_naive_baseline", "passed": True, "text": PASSING},
              {"name": "absolute_threshold", "passed": passed, "text": FAILING if not passed
               else "no absolute threshold (QualityThreshold 0)"}]
    gate = {"passed": passed, "failed": int(not passed), "message": "...", "checks": checks}
    store.write_bytes(f"{OUTPUT}/evaluation.json", json.dumps({"gate": gate}).encode())
    figure, axes = plt.subplots(figsize=(3, 2))
    axes.plot([1, 2, 3], [3, 1, 2])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    store.write_bytes(f"{OUTPUT}/plots/residuals.png", buffer.getvalue())


def succeeded(root: Path) -> LocalExecution:
    write_outputs(root, passed=True)
    register = _record("Register", "RegisterModel", "Succeeded", summary="registered", properties={
        "ModelPackageGroupName": "DemoGroup", "ModelPackageVersion": 3,
        "ModelPackageArn": "arn:aws:sagemaker:local:0:model-package/demogroup/3",
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {"Containers": [{"ModelDataUrl": MODEL}]}})
    return _execution(root, "Succeeded", None, [
        _record("Prepare", "Processing", "Succeeded", cached=True), _evaluated(),
        _record("Check", "Condition", "Succeeded", summary="outcome True"), register,
        _record("TooWeak", "Fail", "Skipped")])


def fail_step(root: Path) -> LocalExecution:
    write_outputs(root, passed=False)
    reason = f"The model was not registered: {FAILING}"
    return _execution(root, "Failed", reason, [
        _record("Prepare", "Processing", "Succeeded"), _evaluated(),
        _record("Check", "Condition", "Succeeded", summary="outcome False"),
        _record("Register", "RegisterModel", "Skipped"),
        _record("TooWeak", "Fail", "Failed", failure_reason=reason)])


def failed_step(root: Path) -> LocalExecution:
    log = root / "jobs" / "abc" / "Prepare" / "job.log"
    log.parent.mkdir(parents=True)
    log.write_text("Traceback ...\nValueError: target column 'price' not found\n")
    reason = "target column 'price' not found; columns found: a, b; pass --target-column"
    return _execution(root, "Failed", f"step Prepare failed: {reason}", [
        _record("Prepare", "Processing", "Failed", failure_reason=reason, log_path=str(log)),
        _record("Evaluate", "Processing", "NotRun"), _record("Check", "Condition", "NotRun"),
        _record("Register", "RegisterModel", "NotRun"), _record("TooWeak", "Fail", "NotRun")])


def digest(execution: LocalExecution) -> ExecutionDigest:
    steps = {name: spec.raw for name, spec in graph().steps.items()}
    return digest_execution(execution, steps, LocalObjectStore(execution.local_root))
