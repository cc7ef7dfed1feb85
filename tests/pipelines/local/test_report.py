"""The end of a local run: what it says for each ending, and that nothing wraps off a terminal."""
from __future__ import annotations

import io
import shlex
from pathlib import Path

from pipelines.cli import model_registry
from pipelines.local.execution_digest import ExecutionDigest, GateVerdict, RegisteredVersion
from pipelines.local.report import next_steps, print_summary, summary_console, summary_text
from runtime.ports.model_registry import LocalModelRegistry

from . import ending_records as r


def _text(execution) -> str:
    return summary_text(execution, r.digest(execution), Path("/page.html"))


def test_success_names_the_figures_the_version_and_the_commands(tmp_path):
    root = tmp_path
    store = f"{root}/bucket/Demo"
    assert _text(r.succeeded(root)) == f"""Succeeded (4 of 5 steps ran, 1 from the cache)
Quality gate (Evaluate): passed
  PASS {r.PASSING}
  PASS no absolute threshold (QualityThreshold 0)
  report: {store}/abc/Evaluate/evaluation/evaluation.json
Registered DemoGroup/3 (PendingManualApproval)
  model:  {store}/Train/output/model.tar.gz
Execution page: /page.html
Next:
  model-registry approve DemoGroup/3 --local {root} --description 'reviewed execution abc'
  deploy-model DemoGroup/3 --local --local-root {root}"""


def test_an_approved_version_needs_no_approval(tmp_path):
    execution = r.succeeded(tmp_path)
    execution.steps["Register"].properties["ModelApprovalStatus"] = "Approved"
    assert _text(execution).endswith(
        f"Next:\n  deploy-model DemoGroup/3 --local --local-root {tmp_path}")


def test_fail_step_quotes_the_failed_check_and_says_nothing_was_registered(tmp_path):
    text = _text(r.fail_step(tmp_path))
    assert text == f"""Failed (4 of 5 steps ran): The model was not registered: {r.FAILING}
Quality gate (Evaluate): failed
  PASS {r.PASSING}
  FAIL {r.FAILING}
  report: {tmp_path}/bucket/Demo/abc/Evaluate/evaluation/evaluation.json
Execution page: /page.html
Next:
  the model was not registered: read the report, then change the data or the gate's \
parameters (--parameters) and run again; finished steps come from the cache"""


def test_failed_step_names_its_reason_and_log(tmp_path):
    text = _text(r.failed_step(tmp_path))
    assert text == f"""Failed (1 of 5 steps ran): step Prepare failed: target column 'price' \
not found; columns found: a, b; pass --target-column
  log of Prepare: {tmp_path}/jobs/abc/Prepare/job.log
Execution page: /page.html
Next:
  fix what the failed step's log says, then run the same command again: steps that \
finished come from the cache"""


def test_long_values_are_not_wrapped_when_stdout_is_not_a_terminal(tmp_path):
    execution = r.succeeded(tmp_path / ("a-very-long-folder-name-" * 8))
    output = io.StringIO()
    print_summary(execution, r.digest(execution), Path("/page.html"), summary_console(output))
    lines = output.getvalue().splitlines()
    model = f"{execution.local_root}/bucket/Demo/Train/output/model.tar.gz"
    assert f"  model:  {model}" in lines
    assert any(line.startswith("│ Evaluate ") and r.OUTPUT in line for line in lines)
    assert "\x1b[" not in output.getvalue()  # no colour codes in a file


def test_one_line_per_segment_and_one_multi_model_deploy(tmp_path):
    execution = r.succeeded(tmp_path)
    gates = [GateVerdict(f"Evaluate{c}", "s3://b/k", c != "C", "",
                         [("naive", True, f"rmse of {c}"), ("bar", c != "C", f"bar of {c}")])
             for c in "ABCD"]
    versions = [RegisteredVersion(f"Register{c}", f"Prices-{c.lower()}-town", 1, "arn",
                                  "PendingManualApproval", None) for c in "ABD"]
    text = summary_text(execution, ExecutionDigest(gates, versions, {}), None)
    approve = f"--local {tmp_path} --description 'reviewed execution abc'"
    assert text.split("\n", 1)[1] == f"""Quality gates: 3 passed, 1 failed (the page links each report)
  PASS EvaluateA: rmse of A
  PASS EvaluateB: rmse of B
  FAIL EvaluateC: bar of C
  PASS EvaluateD: rmse of D
Registered 3 versions: Prices-a-town/1 (PendingManualApproval), Prices-b-town/1 \
(PendingManualApproval), Prices-d-town/1 (PendingManualApproval)
Next:
  model-registry approve Prices-a-town/1 {approve}
  model-registry approve Prices-b-town/1 {approve}
  model-registry approve Prices-d-town/1 {approve}
  deploy-model --multi-model Prices --local --local-root {tmp_path}"""


def test_the_printed_approve_command_approves_the_version(tmp_path, capsys):
    registry = LocalModelRegistry(tmp_path)
    arn = registry.create_package({"ModelPackageGroupName": "DemoGroup",
                                   "ModelApprovalStatus": "PendingManualApproval"})
    execution = r.succeeded(tmp_path)
    execution.steps["Register"].properties = registry.describe_package(arn)
    approve, deploy = next_steps(execution, r.digest(execution))
    assert deploy == f"deploy-model DemoGroup/1 --local --local-root {tmp_path}"
    command, *arguments = shlex.split(approve)
    assert command == "model-registry"
    assert model_registry.main(arguments) == 0
    assert registry.describe_package(arn)["ModelApprovalStatus"] == "Approved"


def test_a_stopped_execution_says_how_to_resume(tmp_path):
    execution = r.failed_step(tmp_path)
    execution.status, execution.failure_reason = "Stopped", None
    execution.steps["Prepare"].status = "Stopped"
    assert _text(execution) == """Stopped (1 of 5 steps ran): stopped on request
Execution page: /page.html
Next:
  run the same command again: steps that finished come from the cache"""
