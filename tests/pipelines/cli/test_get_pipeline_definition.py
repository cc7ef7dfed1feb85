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
