"""`run-pipeline --local` with callback consumers, Lambda functions and --stop."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.mapping_callback.handler import handle_event
from pipelines.cli import run_pipeline
from pipelines.local.store import local_store
from runtime.errors import UserError

from . import runner_fixtures as f

pytestmark = pytest.mark.integration

MODULE = "cli_fixture_pipeline"
MODULE_SOURCE = '''
import json

DEFINITION = json.loads({definition!r})
CALLS = []


class _Pipeline:
    name = "cli-fixture"

    def definition(self):
        return json.dumps(DEFINITION)


def get_pipeline(**kwargs):
    return _Pipeline()


def score(event, context):
    return {{"score": len(event["mapping"])}}


def consumer(event, context):
    CALLS.extend(event["Records"])
    return {{"batchItemFailures": []}}
'''


def cli_definition() -> dict:
    definition = f.topics_definition()
    definition["Steps"][2] = {
        "Name": "Score", "Type": "Lambda",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:score-model",
        "OutputParameters": [{"OutputName": "score", "OutputType": "Integer"}],
        "Arguments": {"mapping": {"Get": "Steps.MapLayer1.OutputParameters['mapping_uri']"}}}
    return definition


@pytest.fixture
def module_root(local_root: Path, tmp_path: Path, monkeypatch) -> Iterator[Path]:
    f.seed_summary(local_store(local_root))
    (tmp_path / f"{MODULE}.py").write_text(MODULE_SOURCE.format(
        definition=json.dumps(cli_definition())))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    yield local_root
    sys.modules.pop(MODULE, None)


def _main(root: Path, *extra: str) -> int:
    return run_pipeline.main(["--local", "--local-root", str(root), "-n", MODULE, *extra])


def _saved_execution(root: Path) -> dict:
    (saved,) = (root / "executions").glob("*.json")
    return json.loads(saved.read_text())


class TestLocalRunWithCallbackAndLambda:
    def test_default_consumer_is_the_projects_lambda_for_mapping_queue(self, module_root):
        code = _main(module_root, "--lambda", "score-model=cli_fixture_pipeline:score")

        execution = _saved_execution(module_root)
        assert code == 0, execution
        steps = execution["steps"]
        mapping_uri = steps["MapLayer1"]["properties"]["OutputParameters"]["mapping_uri"]
        assert local_store(module_root).exists(mapping_uri)
        assert steps["Score"]["properties"]["OutputParameters"] == {"score": len(mapping_uri)}

    def test_callback_option_replaces_the_default_consumer(self, module_root):
        code = _main(module_root, "--lambda", "score-model=cli_fixture_pipeline:score",
                     "--callback", f"{f.QUEUE_URL}=cli_fixture_pipeline:consumer",
                     "--callback-timeout", "1")

        import cli_fixture_pipeline

        assert code == 1
        assert [json.loads(r["body"])["status"] for r in cli_fixture_pipeline.CALLS] == [
            "Executing"]
        reason = _saved_execution(module_root)["steps"]["MapLayer1"]["failure_reason"]
        assert reason.endswith("within 1s (the callback timeout)")

    def test_bad_function_spec_is_a_one_line_error(self, module_root, capsys):
        code = _main(module_root, "--lambda", "score-model=no_such_module:score")
        assert code == 2
        assert capsys.readouterr().err.startswith(
            "run-pipeline: error: --lambda 'score-model=no_such_module:score': cannot import "
            "no_such_module: No module named 'no_such_module'")


class TestCallbackConsumers:
    def _args(self, *argv: str) -> argparse.Namespace:
        return run_pipeline.build_parser().parse_args(["-n", MODULE, "--local", *argv])

    def test_mapping_queue_parameter_gets_the_project_lambda(self):
        definition = f.topics_definition()
        consumers = run_pipeline.callback_consumers(self._args(), definition, {})
        assert consumers == {f.QUEUE_URL: handle_event}
        other = "https://sqs.us-east-1.amazonaws.com/123456789012/other"
        overridden = run_pipeline.callback_consumers(self._args(), definition,
                                                     {"MappingQueueUrl": other})
        assert overridden == {other: handle_event}
        assert run_pipeline.callback_consumers(self._args("--no-default-callback"),
                                               definition, {}) == {}

    def test_spec_without_function_says_the_expected_form(self):
        with pytest.raises(UserError, match=r"--callback 'queue': expected KEY=module:function"):
            run_pipeline.load_function("queue", "--callback")
        with pytest.raises(UserError, match=r"--lambda 'f=json:nothing': json has no function "
                                            r"'nothing'"):
            run_pipeline.load_function("f=json:nothing", "--lambda")


class TestStopOption:
    def test_nothing_running_is_a_refusal_of_state(self, tmp_path: Path, capsys):
        assert run_pipeline.main(["--stop", "--local-root", str(tmp_path)]) == 1
        assert capsys.readouterr().err.startswith(
            "run-pipeline: refused: no local execution is running under ")
        assert run_pipeline.main(["--stop", "abc", "--local-root", str(tmp_path)]) == 1
        assert "execution 'abc' is not running under" in capsys.readouterr().err

    def test_module_name_is_still_required_to_run(self, capsys):
        with pytest.raises(SystemExit):
            run_pipeline.main(["--local"])
        assert "the following arguments are required: -n/--module-name" in (
            capsys.readouterr().err)
