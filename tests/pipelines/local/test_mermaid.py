"""The step graph as Mermaid: for our three pipelines, and a small graph in full."""
from __future__ import annotations

import json
import re

import pytest

from pipelines.local.definition import load_graph
from pipelines.local.executors import EXECUTORS
from pipelines.local.mermaid import definition_graph, mermaid_flowchart
from pipelines.multi_model import pipeline as multi_model
from pipelines.sequential_topics import pipeline as topics
from pipelines.stacked_ensemble import pipeline as stacked
from tests.pipelines.definition.helpers import all_steps, build_definition

NODE = re.compile(r'^    (s\d+)\["(.+)<br/>(\w+)"\]$')
EDGE = re.compile(r"^    (s\d+) -->(?:\|([^|]+)\|)? (s\d+)$")


def _parse(text: str) -> tuple[dict[str, tuple[str, str]], set[tuple[str, str, str | None]]]:
    """(node id -> (step, type), {(from step, to step, label)}); every line must be one."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes, edges = {}, set()
    for line in lines[1:]:
        if node := NODE.match(line):
            nodes[node[1]] = (node[2], node[3])
        elif edge := EDGE.match(line):
            edges.add((edge[1], edge[3], edge[2]))
        else:
            assert line.startswith(("    classDef ", "    class ")), line
    return nodes, {(nodes[a][0], nodes[b][0], label) for a, b, label in edges}


class TestOurPipelines:
    pytestmark = pytest.mark.definition

    @pytest.mark.parametrize("module, kwargs", [
        (stacked, {}), (multi_model, {"segments": ["Old Town", "Harbour Street"]}),
        (topics, {"mapping_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"})],
        ids=["stacked_ensemble", "multi_model", "sequential_topics"])
    def test_every_step_and_dependency_is_drawn(self, module, kwargs):
        definition = json.loads(build_definition(module, **kwargs))
        graph = load_graph(definition, EXECUTORS)
        nodes, edges = _parse(mermaid_flowchart(graph))
        assert sorted(nodes.values()) == sorted((s["Name"], s["Type"])
                                                for s in all_steps(definition))
        expected = {(d, name) for name, step in graph.steps.items() for d in step.depends_on}
        assert {(a, b) for a, b, _ in edges} == expected
        for name, step in graph.steps.items():
            if step.branch_of:
                chooser, branch = step.branch_of
                label = "if true" if branch == "IfSteps" else "else"
                assert (chooser, name, label) in edges

    def test_stacked_ensemble_in_full(self):
        graph = load_graph(json.loads(build_definition(stacked)), EXECUTORS)
        assert mermaid_flowchart(graph) == """flowchart LR
    s0["PreprocessData<br/>Processing"]
    s1["TuneEnsemble<br/>Tuning"]
    s2["EvaluateEnsemble<br/>Processing"]
    s3["CheckQuality<br/>Condition"]
    s4["RegisterEnsemble<br/>RegisterModel"]
    s5["QualityTooLow<br/>Fail"]
    s0 --> s1
    s0 --> s2
    s1 --> s2
    s2 --> s3
    s1 --> s4
    s2 --> s4
    s3 -->|if true| s4
    s2 --> s5
    s3 -->|else| s5
"""


def test_statuses_colour_the_nodes_and_names_are_escaped():
    definition = {"Steps": [
        {"Name": 'Say "hi" <now>', "Type": "Fail", "Arguments": {}},
        {"Name": "B", "Type": "Fail", "Arguments": {}, "DependsOn": ['Say "hi" <now>']}]}
    text = mermaid_flowchart(load_graph(definition, EXECUTORS),
                             {'Say "hi" <now>': "Failed", "B": "NotRun"})
    assert 's0["Say #quot;hi#quot; #lt;now#gt;<br/>Fail"]' in text
    assert "    s0 --> s1" in text
    assert "    class s0 Failed" in text and "    class s1 NotRun" in text
    assert "classDef Failed fill:#ffd6d6,stroke:#c1121f" in text


def test_step_types_the_runner_cannot_run_are_drawn_too():
    definition = {"Steps": [
        {"Name": "Cluster", "Type": "EMR", "Arguments": {}},
        {"Name": "Score", "Type": "Transform", "Arguments": {}, "DependsOn": ["Cluster"]}]}
    nodes, edges = _parse(mermaid_flowchart(definition_graph(definition)))
    assert sorted(nodes.values()) == [("Cluster", "EMR"), ("Score", "Transform")]
    assert edges == {("Cluster", "Score", None)}
