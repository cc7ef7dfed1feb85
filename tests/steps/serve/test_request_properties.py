"""Property tests of every handler's request parsers (input_fn, JSON and CSV): any body ends in
a parsed request or a 4xx RequestError with one bounded line; valid bodies round-trip."""
from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steps.common.errors import RequestError
from steps.multi_model import inference as multi_model
from steps.sequential_topics import inference as topics
from steps.stacked_ensemble import inference as stacked
from tests.hostile_inputs import FAST, MESSAGE_BOUND, any_text, deep_nesting, json_values

HANDLERS = [stacked, multi_model, topics]
cells = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
names = st.text(st.characters(exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=8)
finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**6, 10**6)


def csv_text(rows: list[list[str]], line_end: str = "\n") -> str:
    stream = io.StringIO()
    csv.writer(stream, lineterminator=line_end, quoting=csv.QUOTE_ALL).writerows(rows)
    return stream.getvalue()


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(any_text()).encode("utf-8", "surrogatepass")
    if kind == 2:
        return ('{"instances": ' + draw(deep_nesting()) + "}").encode()
    if kind == 3:
        return json.dumps({"instances": draw(st.lists(json_values, max_size=4))}).encode()
    if kind == 4:  # CSV-ish text: quotes, separators, carriage returns, NULs, huge fields
        pieces = st.sampled_from(['"', ",", "\r", "\n", "\r\n", "\x00", "a", "1", " ",
                                  "x" * 140_000])
        return "".join(draw(st.lists(pieces, max_size=30))).encode()
    return json.dumps(draw(st.lists(st.dictionaries(names, json_values, max_size=3),
                                    max_size=3))).encode()


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__.split(".")[1])
class TestAnyBody:
    @FAST
    @given(body=hostile_bodies(), content_type=st.sampled_from(["text/csv",
                                                               "application/json"]))
    def test_is_parsed_or_refused_with_a_bounded_4xx(self, handler, body, content_type):
        try:
            handler.input_fn(body, content_type)
        except RequestError as exc:
            assert 400 <= exc.status < 500
            assert str(exc) and "\n" not in str(exc) and len(str(exc)) <= MESSAGE_BOUND


class TestStackedEnsembleRoundTrip:
    @FAST
    @given(st.lists(st.lists(finite | cells | st.none(), min_size=1, max_size=5), min_size=1,
                    max_size=5))
    def test_json_rows(self, rows):
        parsed = stacked.input_fn(json.dumps({"instances": rows}), "application/json")
        assert parsed.names is None
        assert parsed.rows == [[v if v is None or isinstance(v, str) else repr(v) for v in row]
                               for row in rows]

    @FAST
    @given(st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=5),
           st.sampled_from(["\n", "\r\n", "\r"]))
    def test_csv_rows_with_any_line_ending(self, rows, line_end):
        parsed = stacked.input_fn(csv_text(rows, line_end).encode(), "text/csv")
        assert parsed.rows == rows


class TestMultiModelRoundTrip:
    @FAST
    @given(st.lists(st.dictionaries(names, finite | cells | st.none(), min_size=1, max_size=4),
                    min_size=1, max_size=4))
    def test_json_records(self, records):
        parsed = multi_model.input_fn(json.dumps({"instances": records}), "application/json")
        assert [dict(zip(parsed.names, row, strict=True)) for row in parsed.rows] == [
            {name: record.get(name) for name in parsed.names} for record in records]

    @FAST
    @given(st.lists(names.filter(lambda n: n == n.strip()), min_size=1, max_size=4,
                    unique=True), st.data())
    def test_csv_records(self, header, data):
        body = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)),
                                  min_size=1, max_size=4))
        parsed = multi_model.input_fn(csv_text([header, *body]).encode(), "text/csv")
        assert parsed.names == header
        assert parsed.rows == [[c if c.strip() else None for c in row] for row in body]


class TestTopicsRoundTrip:
    @FAST
    @given(st.lists(st.dictionaries(names.filter(lambda n: n != "id"), cells, min_size=1,
                                    max_size=3) | cells, min_size=1, max_size=4))
    def test_json_records(self, records):
        parsed = topics.input_fn(json.dumps({"instances": records}), "application/json")
        assert [r.fields if isinstance(sent, dict) else r.text
                for r, sent in zip(parsed.records, records, strict=True)] == records
