"""`get-pipeline-definition --graph`: the definition's step graph as Mermaid, to stdout or a file."""
from __future__ import annotations

import json

import pytest

from pipelines.cli import get_pipeline_definition
from pipelines.local.mermaid import definition_graph, mermaid_flowchart
from pipelines.stacked_ensemble import pipeline as stacked
from tests.pipelines.definition.helpers import build_definition

pytestmark = pytest.mark.definition


def test_graph_is_the_definitions_flowchart(tmp_path, capsys):
    target = tmp_path / "graph.mmd"
    code = get_pipeline_definition.main(["--offline", "--graph", "-n", stacked.__name__,
                                         "-f", str(target)])
    assert code == 0
    expected = mermaid_flowchart(definition_graph(json.loads(build_definition(stacked))))
    assert target.read_text() == expected
    assert expected.startswith("flowchart LR\n")
    assert capsys.readouterr().out == ""


class TestOfflineForAnyModule:
    """--offline builds a template-style module (its own PipelineSession, code uploads while it
    builds) as run-pipeline --local does: its AWS calls answered locally, nothing sent."""

    TEMPLATE = "tests.pipelines.local.template_pipeline"

    def test_a_template_style_module_is_built_without_aws(self, tmp_path, capsys):
        target = tmp_path / "definition.json"
        code = get_pipeline_definition.main(["--offline", "-n", self.TEMPLATE, "--kwargs",
                                             '{"region": "us-east-1"}', "-f", str(target)])
        assert code == 0, capsys.readouterr().err
        definition = json.loads(target.read_text())
        assert [s["Name"] for s in definition["Steps"]] == [
            "Preprocess", "Train", "Evaluate", "CheckRmse"]
        code_input = definition["Steps"][0]["Arguments"]["ProcessingInputs"][-1]
        assert code_input["S3Input"]["S3Uri"].startswith("s3://template-bucket/")

    def test_a_call_that_cannot_be_answered_locally_is_named(self, capsys):
        code = get_pipeline_definition.main(["--offline", "-n",
                                             "tests.pipelines.cli.account_probing_pipeline"])
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("get-pipeline-definition: error: sts:GetCallerIdentity is not "
                              "available in a local run: only S3 object calls")
        assert "\n" not in err
