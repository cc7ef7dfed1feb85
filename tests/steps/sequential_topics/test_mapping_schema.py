"""The mapping schema module: its generated JSON schema, its validators and their messages."""
from __future__ import annotations

import json

import jsonschema
import pytest

from lambdas.mapping_callback.messages import StepArguments
from runtime.topic_mapping.mapping_update import update_mapping
from steps.sequential_topics import mapping_schema
from steps.sequential_topics.mapping_schema import (
    CALLBACK_ARGUMENTS,
    MappingDocument,
    MappingOverrides,
    SchemaError,
    TopicSummary,
    dump_document,
    load_document,
)
from tests.lambdas.mapping_callback.mapping_fixtures import layer1_summary, layer2_summary


def validator(definition: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(mapping_schema.JSON_SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"})


def layer1_mapping() -> dict:
    return json.loads(dump_document(update_mapping(
        None, TopicSummary.model_validate(layer1_summary()))))


class TestGeneratedJsonSchema:
    def test_the_file_matches_the_models(self, capsys):
        assert mapping_schema.main(["--check"]) == 0
        assert mapping_schema.JSON_SCHEMA_FILE.read_text() == mapping_schema.render_json_schema()

    def test_check_reports_a_stale_file(self, tmp_path, monkeypatch, capsys):
        stale = tmp_path / "mapping_schema.json"
        stale.write_text("{}\n")
        monkeypatch.setattr(mapping_schema, "JSON_SCHEMA_FILE", stale)
        assert mapping_schema.main(["--check"]) == 1
        assert "is stale: run python -m steps.sequential_topics.mapping_schema" in \
            capsys.readouterr().err
        assert mapping_schema.main([]) == 0
        assert stale.read_text() == mapping_schema.render_json_schema()

    @pytest.mark.parametrize(("definition", "document"), [
        ("TopicSummary", layer1_summary()), ("TopicSummary", layer2_summary()),
        ("MappingDocument", layer1_mapping()),
        ("MappingOverrides", {"schema_version": 1, "rules": {"broad_share": 0.2},
                              "topics": {"1:0": {"label": "sport", "action": "keep"}}}),
    ])
    def test_documents_the_code_accepts_pass_the_json_schema(self, definition, document):
        assert list(validator(definition).iter_errors(document)) == []

    def test_the_json_schema_rejects_an_unknown_action(self):
        document = layer1_mapping()
        document["topics"][0]["action"] = "drop"
        errors = [e.message for e in validator("MappingDocument").iter_errors(document)]
        assert errors == ["'drop' is not one of ['keep', 'split', 'merge']"]


class TestSummaryValidation:
    @pytest.mark.parametrize(("change", "message"), [
        ({"total_documents": 199}, "document: topic sizes plus outliers add up to "
                         "200, but total_documents is 199"),
        ({"layer": 2}, "document: layer 2 topic 0 needs a parent topic of layer 1, got None"),
        ({"topics": [{"topic": 0, "size": 5, "dispersion": 0.1, "keywords": []}]},
         "topics.0.keywords: List should have at least 1 item after validation, not 0"),
        ({"topics": "many"}, "topics: Input should be a valid array"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ])
    def test_bad_summaries_give_one_line_naming_the_field(self, change, message):
        with pytest.raises(SchemaError) as caught:
            load_document(TopicSummary, json.dumps({**layer1_summary(), **change}), "summary")
        assert str(caught.value) == f"summary is not a valid TopicSummary: {message}"

    def test_not_json_is_named_as_such(self):
        with pytest.raises(SchemaError, match=r"^x is not a valid TopicSummary: document: not "
                                              r"JSON \(.*\)$"):
            load_document(TopicSummary, b"{oops", "x")

    def test_many_errors_are_counted_not_listed(self):
        with pytest.raises(SchemaError, match=r"\(\+2 more\)$"):
            load_document(MappingOverrides, json.dumps({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}),
                          "x")


class TestMappingValidation:
    def test_recluster_must_list_the_split_topics(self):
        document = {**layer1_mapping(), "recluster": []}
        with pytest.raises(SchemaError, match=r"recluster lists \[\] but the layer 1 topics with "
                                              r"action 'split' are \['1:0'\]: make them match"):
            load_document(MappingDocument, json.dumps(document), "m")

    def test_a_merge_needs_a_kept_target(self):
        document = layer1_mapping()
        document["topics"][3]["merge_into"] = "1:0"
        with pytest.raises(SchemaError, match="topic 1:3 merges into 1:0, which must be a topic "
                                              "of the same layer and parent with action 'keep'"):
            load_document(MappingDocument, json.dumps(document), "m")

    def test_merge_into_needs_action_merge(self):
        document = layer1_mapping()
        document["topics"][4]["merge_into"] = "1:1"
        with pytest.raises(SchemaError, match="topic 1:4 has merge_into but its action is 'keep'"):
            load_document(MappingDocument, json.dumps(document), "m")

    def test_a_child_needs_a_split_parent(self):
        document = layer1_mapping()
        document["layer"] = 2
        document["recluster"] = []
        document["topics"].append({"id": "2:0", "label": "x", "keywords": [], "size": 3,
                                   "parent": "1:1", "action": "keep"})
        with pytest.raises(SchemaError, match="topic 2:0 needs a parent of layer 1 with action "
                                              "'split', got '1:1'"):
            load_document(MappingDocument, json.dumps(document), "m")

    @pytest.mark.parametrize("bad_id", ["1.3", "0:1", "1:", "a:1"])
    def test_topic_ids_are_layer_colon_topic(self, bad_id):
        document = layer1_mapping()
        document["topics"][1]["id"] = bad_id
        with pytest.raises(SchemaError, match=r"topics\.1\.id: String should match pattern"):
            load_document(MappingDocument, json.dumps(document), "m")


def test_the_callback_arguments_are_the_messages_fields():
    assert set(CALLBACK_ARGUMENTS) == set(StepArguments.model_fields)
