"""Property tests of the Lambda's edges: the SQS message, its arguments, the mapping documents.

Properties: any input ends in a value or the edge's own refusal (never another exception), a
refusal's message is one bounded line, and valid input round-trips.
"""
from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from lambdas.mapping_callback.messages import log_fields, parse_arguments, parse_message
from runtime.topic_mapping.errors import InvalidMessage, UnanswerableMessage
from runtime.topic_mapping.mapping_update import MappingError, update_mapping
from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    MappingOverrides,
    SchemaError,
    TopicSummary,
    dump_document,
    load_document,
)
from tests.hostile_inputs import FAST, MESSAGE_BOUND, any_text, json_values, nested_inside
from tests.lambdas.mapping_callback.mapping_fixtures import BUCKET, EXECUTION_ARN

tokens = st.text(string.ascii_letters + string.digits, min_size=10, max_size=10)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,40}", fullmatch=True)
keys = st.from_regex(r"[a-z0-9][a-z0-9/_-]{0,30}[a-z0-9]", fullmatch=True)


@st.composite
def valid_arguments(draw: st.DrawFn) -> dict[str, str]:
    layer = draw(st.integers(1, 9))
    prefix = f"s3://{BUCKET}/{draw(keys)}"
    return {"step_name": draw(names), "layer": str(layer),
            "model_artifact": f"s3://{BUCKET}/{draw(keys)}/output/model.tar.gz",
            "previous_mapping": "" if layer == 1 else f"{prefix}/m/layer-{layer - 1}/mapping.json",
            "overrides": draw(st.sampled_from(["", f"s3://{BUCKET}/overrides.json"])),
            "output_prefix": prefix + draw(st.sampled_from(["", "/"])),
            "review_mode": draw(st.sampled_from(["true", "false", "True", " FALSE "]))}


@st.composite
def valid_messages(draw: st.DrawFn) -> dict:
    return {"token": draw(tokens), "pipelineExecutionArn": EXECUTION_ARN,
            "status": draw(st.sampled_from(["Executing", "Stopping"])),
            "arguments": draw(valid_arguments())}


@st.composite
def hostile_arguments(draw: st.DrawFn) -> dict:
    """Valid arguments with some values replaced by anything JSON can hold, some keys gone."""
    arguments = draw(valid_arguments())
    for key in draw(st.sets(st.sampled_from(sorted(arguments)), max_size=3)):
        arguments[key] = draw(json_values | st.text(max_size=3000))
    for key in draw(st.sets(st.sampled_from(sorted(arguments)), max_size=2)):
        del arguments[key]
    return arguments


@st.composite
def hostile_bodies(draw: st.DrawFn) -> str:
    message = draw(valid_messages())
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(any_text())
    if choice == 1:
        return draw(nested_inside(message))
    if choice == 2:
        return draw(nested_inside(message["arguments"]).map(
            lambda args: json.dumps({**message, "arguments": "@"}).replace('"@"', args)))
    return json.dumps({**message, "arguments": draw(hostile_arguments())})


def _refusal_is_bounded(exc: Exception) -> None:
    text = str(exc)
    assert text and "\n" not in text and len(text) <= MESSAGE_BOUND


class TestCallbackMessage:
    @FAST
    @given(valid_messages())
    def test_valid_messages_round_trip(self, message):
        parsed = parse_message(json.dumps(message))
        assert (parsed.token, parsed.execution_arn, parsed.status, parsed.arguments) == (
            message["token"], message["pipelineExecutionArn"], message["status"],
            message["arguments"])
        args = parse_arguments(parsed)
        sent = message["arguments"]
        assert (args.step_name, args.layer, args.model_artifact, args.previous_mapping,
                args.overrides) == (sent["step_name"], int(sent["layer"]), sent["model_artifact"],
                                    sent["previous_mapping"], sent["overrides"])
        assert args.output_prefix == sent["output_prefix"].rstrip("/")
        assert args.review_mode is (sent["review_mode"].strip().lower() == "true")

    @FAST
    @given(hostile_bodies())
    def test_any_body_is_parsed_or_refused_by_the_edge(self, body):
        try:
            args = parse_arguments(parse_message(body))
        except InvalidMessage as exc:
            _refusal_is_bounded(exc)
            assert len(exc.token) == 10 and exc.token in body
        except UnanswerableMessage as exc:
            _refusal_is_bounded(exc)
        else:
            assert args.layer >= 1
        fields = log_fields(body)  # runs before parsing, on every record: must never raise
        assert set(fields) == {"execution_arn", "step_name"}


class TestMappingDocuments:
    @FAST
    @given(any_text(), st.sampled_from([TopicSummary, MappingDocument, MappingOverrides]))
    def test_any_text_is_a_document_or_a_schema_error(self, text, model):
        try:
            load_document(model, text, "overrides s3://b/o.json")
        except SchemaError as exc:
            _refusal_is_bounded(exc)
            assert str(exc).startswith(f"overrides s3://b/o.json is not a valid {model.__name__}")

    @FAST
    @given(st.data())
    def test_generated_summaries_and_overrides_map_or_fail_and_round_trip(self, data):
        summary = data.draw(layer_one_summaries())
        overrides = data.draw(overrides_for(summary))
        for document in (summary, overrides):
            assert load_document(type(document), dump_document(document), "x") == document
        try:
            mapping = update_mapping(None, summary, overrides)
        except MappingError as exc:
            _refusal_is_bounded(exc)
            return
        assert load_document(MappingDocument, dump_document(mapping), "x") == mapping
        assert {t.id for t in mapping.topics} == {f"1:{t.topic}" for t in summary.topics}


@st.composite
def layer_one_summaries(draw: st.DrawFn) -> TopicSummary:
    words = st.text(string.ascii_lowercase, min_size=1, max_size=8)
    numbers = draw(st.lists(st.integers(0, 30), min_size=1, max_size=8, unique=True))
    topics = [{"topic": n, "size": draw(st.integers(1, 50)),
               "dispersion": draw(st.floats(0, 1)),
               "keywords": [{"word": w, "weight": draw(st.floats(0, 1))}
                            for w in draw(st.lists(words, min_size=1, max_size=6))]}
              for n in numbers]
    outliers = draw(st.integers(0, 20))
    return TopicSummary.model_validate({
        "layer": 1, "outliers": outliers, "topics": topics,
        "total_documents": sum(t["size"] for t in topics) + outliers})


@st.composite
def overrides_for(draw: st.DrawFn, summary: TopicSummary) -> MappingOverrides:
    ids = [f"1:{t.topic}" for t in summary.topics] + ["1:99"]
    topics = {}
    for tid in draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)):
        topics[tid] = {"label": draw(st.none() | st.text(min_size=1, max_size=20)),
                       "action": draw(st.none() | st.sampled_from(["keep", "split", "merge"])),
                       "merge_into": draw(st.none() | st.sampled_from(ids))}
    rules = {"merge_overlap": draw(st.floats(0.01, 1)), "label_words": draw(st.integers(1, 10))}
    return MappingOverrides.model_validate({"rules": rules, "topics": topics})
