"""Selective execution: only the selected steps run; the steps they depend on come, with their
outputs, from a source execution; what SageMaker refuses is refused before anything runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.selective import SelectionRefused
from runtime.errors import Refused

from . import definitions as d

pytestmark = pytest.mark.integration


def _step(name: str, upstream: str | None = None) -> dict:
    arguments = {"seen": {"Get": f"Steps.{upstream}.OutputParameters['out']"}} if upstream \
        else {}
    return {"Name": name, "Type": "Lambda", "FunctionArn": name.lower(),
            "OutputParameters": [{"OutputName": "out"}], "Arguments": arguments}


CHAIN = {"Version": "2020-12-01", "Parameters": [],
         "Steps": [_step("A"), _step("B", "A"), _step("C", "B"), _step("D", "C")]}


class _Functions(dict):
    """One local function per step; each returns `<step>@<run>` and records its event."""

    def __init__(self, run: str, failing: str = ""):
        self.events: dict[str, dict] = {}

        def function(name: str):
            def call(event, context):
                self.events[name] = event
                if name == failing:
                    raise RuntimeError(f"{name} broke")
                return {"out": f"{name}@{run}"}
            return call

        super().__init__({n: function(n.upper()) for n in "abcd"})


def _run(root: Path, functions: _Functions, **kwargs):
    return run_local_pipeline(CHAIN, local_root=root, live=False, pipeline_name="chain",
                              lambda_functions=functions, **kwargs)


class TestSelection:
    def test_selected_steps_run_on_the_source_executions_outputs(self, tmp_path):
        source = _run(tmp_path, _Functions("first"))
        second = _Functions("second")
        execution = _run(tmp_path, second, selected_steps=["B", "C"],
                         source_execution_id=source.execution_id)

        assert execution.status == "Succeeded", execution.failure_reason
        assert sorted(second.events) == ["B", "C"]
        assert second.events["B"] == {"seen": "A@first"}
        assert second.events["C"] == {"seen": "B@second"}
        records = execution.steps
        assert (records["A"].status, records["A"].summary) == (
            "Succeeded", f"from execution {source.execution_id}")
        assert records["A"].properties == source.steps["A"].properties
        assert (records["D"].status, records["D"].summary) == ("Skipped", "not selected")

    def test_the_latest_ended_execution_is_the_default_source(self, tmp_path):
        _run(tmp_path, _Functions("first"))
        latest = _run(tmp_path, _Functions("latest"))
        again = _Functions("again")
        execution = _run(tmp_path, again, selected_steps=["D"])
        assert execution.status == "Succeeded", execution.failure_reason
        assert again.events == {"D": {"seen": "C@latest"}}
        assert execution.steps["C"].summary == f"from execution {latest.execution_id}"

    def test_a_failed_execution_is_resumed_from_its_failed_step(self, tmp_path):
        failed = _run(tmp_path, _Functions("first", failing="C"))
        assert failed.status == "Failed"
        fixed = _Functions("fixed")
        execution = _run(tmp_path, fixed, selected_steps=["C", "D"],
                         source_execution_id=failed.execution_id)
        assert execution.status == "Succeeded", execution.failure_reason
        assert fixed.events == {"C": {"seen": "B@first"}, "D": {"seen": "C@fixed"}}

    def test_steps_needing_nothing_run_without_a_source(self, tmp_path):
        execution = _run(tmp_path, _Functions("only"), selected_steps=["A"])
        assert [r.status for r in execution.steps.values()] == [
            "Succeeded", "Skipped", "Skipped", "Skipped"]


class TestRefused:
    @pytest.mark.parametrize(("selected", "message"), [
        (["A", "C"], "--steps leaves out B, on the path between selected steps"),
        (["Z"], "--steps Z: not step(s) of this pipeline; its steps: A, B, C, D"),
    ])
    def test_a_selection_sagemaker_refuses(self, tmp_path, selected, message):
        with pytest.raises(SelectionRefused, match=re.escape(message)):
            _run(tmp_path, _Functions("x"), selected_steps=selected)
        assert not (tmp_path / "executions").exists()

    def test_no_execution_to_take_outputs_from(self, tmp_path):
        with pytest.raises(Refused, match=r"the selected steps need the outputs of A, B, and no "
                                          r"execution of chain has ended"):
            _run(tmp_path, _Functions("x"), selected_steps=["C"])

    def test_a_dependency_that_failed_in_the_source(self, tmp_path):
        failed = _run(tmp_path, _Functions("first", failing="B"))
        with pytest.raises(SelectionRefused, match=rf"step B, which the selection depends on, "
                                                   rf"did not succeed in source execution "
                                                   rf"{failed.execution_id} \(Failed\)"):
            _run(tmp_path, _Functions("x"), selected_steps=["C"],
                 source_execution_id=failed.execution_id)

    def test_an_unknown_source_execution(self, tmp_path):
        with pytest.raises(SelectionRefused, match=r"--source-execution nope: no execution of "
                                                   r"chain under"):
            _run(tmp_path, _Functions("x"), selected_steps=["B"], source_execution_id="nope")


def test_job_steps_reuse_the_source_jobs_outputs(local_root: Path):
    """The template chain: Evaluate and the condition re-run on the source's trained model."""
    source = run_local_pipeline(d.chain_definition(), local_root=local_root, live=False)
    assert source.status == "Succeeded", source.failure_reason
    execution = run_local_pipeline(d.chain_definition(), local_root=local_root, live=False,
                                   selected_steps=["Evaluate", "CheckRmse", "Register"],
                                   source_execution_id=source.execution_id, use_cache=False)
    assert execution.status == "Succeeded", execution.failure_reason
    statuses = {n: r.status for n, r in execution.steps.items()}
    assert statuses == {"Preprocess": "Succeeded", "Train": "Succeeded",
                        "Evaluate": "Succeeded", "CheckRmse": "Succeeded",
                        "Register": "Succeeded", "RmseTooHigh": "Skipped"}
    assert execution.steps["Train"].summary == f"from execution {source.execution_id}"
    assert execution.steps["Evaluate"].attempts == 1


class TestCommandLine:
    """run-pipeline --local --steps on a template-style module whose Lambda and consumer are
    plain boto3 (boto3_pipeline.py): the re-run calls only the selected steps."""

    def test_steps_and_source_execution(self, tmp_path, monkeypatch):
        from pipelines.cli import run_pipeline
        from pipelines.local.executions import list_executions

        from . import boto3_pipeline

        module = boto3_pipeline.__name__
        seeds: list[dict] = []
        monkeypatch.setattr(boto3_pipeline, "counted_seed",
                            lambda event, context: seeds.append(event)
                            or boto3_pipeline.seed_rows(event, context), raising=False)
        argv = ["--local", "--local-root", str(tmp_path), "-n", module, "--no-tracking",
                "--lambda", f"seed-rows={module}:counted_seed",
                "--callback", f"{boto3_pipeline.QUEUE_URL}={module}:summarise_rows"]

        assert run_pipeline.main(argv) == 0
        [source] = list_executions(tmp_path)
        assert run_pipeline.main([*argv, "--steps", "Map,Check", "--source-execution",
                                  source["execution_id"]]) == 0

        assert len(seeds) == 1
        second = list_executions(tmp_path)[-1]
        assert second["steps"]["Seed"]["summary"] == f"from execution {source['execution_id']}"
        assert second["steps"]["Map"]["status"] == "Succeeded"

    def test_source_execution_without_steps_is_a_usage_error(self, capsys):
        from pipelines.cli import run_pipeline

        with pytest.raises(SystemExit) as exit_:
            run_pipeline.main(["--local", "-n", "x", "--source-execution", "abc"])
        assert exit_.value.code == 2
        assert "--source-execution needs --steps" in capsys.readouterr().err
