"""Property tests of the CLI argument parsers (--kwargs/--tags/--parameters and the declared
parameters they feed): any text ends in a JSON-shaped value or a UserError/InvalidParameters
of one bounded line; valid values round-trip."""
from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from pipelines.cli.arguments import parse_struct
from pipelines.parameter_overrides import InvalidParameters, resolve_parameters
from pipelines.project_tags import normalize_tags
from runtime.errors import UserError
from tests.hostile_inputs import FAST, MESSAGE_BOUND, any_text

DECLARED = [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": "s3://b/k.csv"},
            {"Name": "MaxTuningJobs", "Type": "Integer", "DefaultValue": 4},
            {"Name": "QualityThreshold", "Type": "Float", "DefaultValue": 65.0},
            {"Name": "MappingReviewMode", "Type": "Boolean", "DefaultValue": False}]

finite = st.floats(allow_nan=False, allow_infinity=False)
plain = st.none() | st.booleans() | st.integers(-10**9, 10**9) | finite | st.text(max_size=20)
json_shaped = st.recursive(plain, lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=12)
python_only = st.recursive(plain | st.tuples(st.integers()) | st.frozensets(st.integers()),
                           lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.integers() | st.text(max_size=5), c, max_size=3),
                           max_leaves=10)
literals = st.one_of(
    python_only.map(repr),
    st.sampled_from(["{[1]: 2}", "{1: 2}", "(" * 300 + ")" * 300, "-" * 100_000 + "1",
                     "1" + "+1j" * 5_000, "[" * 200 + "]" * 200, "{'a': {1, 2}}", "9" * 5_000,
                     "{'a': float('nan')}", "b'bytes'", "1e999"]))


def _bounded(exc: Exception) -> None:
    assert str(exc) and "\n" not in str(exc) and len(str(exc)) <= MESSAGE_BOUND


class TestParseStruct:
    @FAST
    @given(any_text() | literals)
    def test_any_text_is_a_json_shaped_value_or_a_user_error(self, text):
        try:
            value = parse_struct(text, "--kwargs")
        except UserError as exc:
            _bounded(exc)
            return
        json.dumps(value, default=repr)  # JSON-shaped: string keys, bounded depth

    @FAST
    @given(json_shaped)
    def test_json_and_python_spellings_round_trip(self, value):
        assert parse_struct(json.dumps(value), "--kwargs") == value
        if not isinstance(value, str) or value.strip():
            assert parse_struct(repr(value), "--kwargs") == value

    @FAST
    @given(any_text() | literals | st.dictionaries(st.text(max_size=8), plain).map(json.dumps))
    def test_tags_are_normalized_or_refused(self, text):
        try:
            tags = normalize_tags(parse_struct(text, "--tags"))
        except UserError as exc:
            _bounded(exc)
            return
        assert all(set(t) == {"Key", "Value"} and all(isinstance(v, str) for v in t.values())
                   for t in tags)


class TestParameters:
    @FAST
    @given(st.dictionaries(st.sampled_from([p["Name"] for p in DECLARED] + ["Typo"]),
                           json_shaped | st.sampled_from(["nan", "inf", "-Infinity", "1e999",
                                                          10**400, math.inf, " 2 ", "true"])))
    def test_any_override_resolves_to_the_declared_type_or_is_refused(self, overrides):
        try:
            values = resolve_parameters(DECLARED, overrides)
        except InvalidParameters as exc:
            _bounded(exc)
            return
        assert isinstance(values["InputDataUrl"], str)
        assert isinstance(values["MaxTuningJobs"], int)
        assert isinstance(values["QualityThreshold"], float)
        assert math.isfinite(values["QualityThreshold"])
        assert isinstance(values["MappingReviewMode"], bool)

    @FAST
    @given(st.text(max_size=20), st.integers(-10**6, 10**6), finite, st.booleans(),
           st.booleans())
    def test_typed_values_and_their_spellings_round_trip(self, url, jobs, threshold, review,
                                                         spelled):
        overrides = {"InputDataUrl": url, "MaxTuningJobs": jobs, "QualityThreshold": threshold,
                     "MappingReviewMode": review}
        if spelled:  # as a CLI passes them
            overrides = {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool)
                         else repr(v) for k, v in overrides.items()}
        assert resolve_parameters(DECLARED, overrides) == {
            "InputDataUrl": url, "MaxTuningJobs": jobs, "QualityThreshold": threshold,
            "MappingReviewMode": review}
