"""`validate-pipelines`: any module (ours or template-style) or definition file, each checked
against the references and the SageMaker API's request shapes; exit 0, 1 or 2."""
from __future__ import annotations

import json

import pytest

from pipelines.cli import validate_pipelines
from tests.pipelines.definition.test_api_shape_checks import PROCESSING

pytestmark = pytest.mark.definition


def _write(tmp_path, steps, parameters=()):
    path = tmp_path / "definition.json"
    path.write_text(json.dumps({"Version": "2020-12-01", "Parameters": list(parameters),
                                "Steps": steps}))
    return str(path)


def test_a_clean_definition_file_passes(tmp_path, capsys):
    path = _write(tmp_path, [{"Name": "Prep", "Type": "Processing", "Arguments": PROCESSING}])
    assert validate_pipelines.main([path]) == 0
    assert capsys.readouterr().out == f"{path}: 1 steps, OK\n"


def test_a_definition_file_with_faults_lists_each_and_exits_1(tmp_path, capsys):
    arguments = {**PROCESSING, "Environment": {"ROUNDS": {"Get": "Parameters.Rounds"}}}
    path = _write(tmp_path, [{"Name": "Prep", "Type": "Processing", "Arguments": arguments,
                              "DependsOn": ["Ghost"]}],
                  [{"Name": "Rounds", "Type": "Integer", "DefaultValue": 2}])
    assert validate_pipelines.main([path]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: 1 steps, 2 problem(s)",
        "  Prep: DependsOn names unknown step 'Ghost'",
        "  Prep: Environment['ROUNDS']: {\"Get\": \"Parameters.Rounds\"}: an integer where the "
        "API takes a string; pass it as text: parameter.to_string() (CreateProcessingJob)",
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not a readable definition JSON file"),
    ('{"Parameters": []}', 'not a pipeline definition (no "Steps" list)'),
])
def test_a_file_that_is_not_a_definition_is_2(tmp_path, capsys, content, message):
    path = tmp_path / "broken.json"
    path.write_text(content)
    assert validate_pipelines.main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"validate-pipelines: error: {path}: {message}")
    assert "\n" not in err


def test_a_template_style_module_is_built_offline_and_checked(capsys):
    assert validate_pipelines.main(["tests.pipelines.local.template_pipeline", "--kwargs",
                                    '{"region": "us-east-1"}']) == 0
    assert capsys.readouterr().out == "tests.pipelines.local.template_pipeline: 4 steps, OK\n"
