"""Amounts as spreadsheets and finance exports write them (currency signs, percent signs,
accounting negatives, `-`/`?` for missing) are read as the numbers shown; a column that mixes
units, or holds words, stays text."""
from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steps.common.formatted_numbers import decimal_mark
from steps.common.input_tables import read_input_table


def _read(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    frame, formats = read_input_table(path)
    return frame, formats[0]


def test_a_us_finance_export(tmp_path):
    frame, table_format = _read(tmp_path, 'id,amount,discount,units\n'
                                          'A,"$1,234.50",12%,3\nB,-$5.00,0%,?\n'
                                          'C,"(1,200.00)",12.5 %,4\nD,$-3,N/A,5\nE,-,7%,6\n')
    assert frame["amount"].tolist()[:4] == [1234.5, -5.0, -1200.0, -3.0]
    assert np.isnan(frame["amount"][4])
    assert frame["discount"].tolist()[:3] == [12.0, 0.0, 12.5] and np.isnan(frame["discount"][3])
    assert frame["units"].tolist()[0] == 3 and np.isnan(frame["units"][1])
    numbers = {name: dataclasses.asdict(f) for name, f in table_format.formatted_numbers.items()}
    assert numbers == {"amount": {"unit": "$", "missing_marks": 1, "missing_words": {}},
                       "discount": {"unit": "%", "missing_marks": 0, "missing_words": {}},
                       "units": {"unit": None, "missing_marks": 1, "missing_words": {}}}
    json.dumps(dataclasses.asdict(table_format))  # the data report writes it


def test_a_european_export_with_euro_amounts(tmp_path):
    """`;`-separated, decimal commas only visible behind the euro sign."""
    frame, table_format = _read(tmp_path, "id;revenue;share\nA;1.234,56 €;12,5 %\n"
                                          "B;-1,70 €;3 %\nC;€ 999;100 %\n")
    assert (table_format.separator, table_format.decimal) == (";", ",")
    assert frame["revenue"].tolist() == [1234.56, -1.7, 999.0]
    assert frame["share"].tolist() == [12.5, 3.0, 100.0]


def test_other_currency_writings(tmp_path):
    frame, _ = _read(tmp_path, "a,b,c\nUS$ 12,£3.50,¥1000\nUS$ 7,£0.99,¥20\n")
    assert frame[["a", "b", "c"]].to_numpy().tolist() == [[12, 3.5, 1000], [7, 0.99, 20]]


def test_a_column_mixing_currencies_stays_text_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        frame, table_format = _read(tmp_path, "price\n$5\n€5\n")
    assert frame["price"].tolist() == ["$5", "€5"] and table_format.formatted_numbers == {}
    assert "column 'price' mixes units ['$', '€']: kept as text" in caplog.text


@pytest.mark.parametrize("values", [["12", "abc", "$5"], ["(5", "6)"], ["-$-5", "1"],
                                    ["$5 €", "1"], ["-", "?"], ["1-2", "3"], ["5$5", "1"]])
def test_anything_else_stays_text(tmp_path, values):
    frame, table_format = _read(tmp_path, "code\n" + "\n".join(values) + "\n")
    assert frame["code"].tolist() == values and table_format.formatted_numbers == {}


def test_a_corpus_keeps_its_text_as_written(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("id,cost\n1,$5\n2,-\n")
    frame, _ = read_input_table(path, dtype=str)
    assert frame["cost"].tolist() == ["$5", "-"]


@pytest.mark.parametrize("values, mark", [(["1,5 €", "2"], ","), (["1.5 €", "2,5"], "."),
                                          (["1.234 €", "5 %"], "."), (["(2,25)"], ",")])
def test_the_decimal_mark_is_read_behind_units(values, mark):
    assert decimal_mark(values) == mark


AMOUNTS = st.floats(-1e7, 1e7, allow_nan=False).map(lambda x: round(x, 2))


def _us(amount: float, accounting: bool) -> str:
    text = f"${abs(amount):,.2f}"
    return (f"({text})" if accounting else f"-{text}") if amount < 0 else text


def _european(amount: float, accounting: bool) -> str:
    text = f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",") + " €"
    return (f"({text})" if accounting else f"-{text}") if amount < 0 else text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(AMOUNTS, min_size=1, max_size=20), accounting=st.booleans(),
       convention=st.sampled_from([(",", _us), (";", _european), ("\t", _us)]))
def test_any_amount_round_trips(tmp_path, amounts, accounting, convention):
    separator, write = convention
    table = pd.DataFrame({"amount": [write(a, accounting) for a in amounts], "n": 1})
    path = tmp_path / "t.csv"
    table.to_csv(path, sep=separator, index=False)
    frame, _ = read_input_table(path)
    assert frame["amount"].tolist() == pytest.approx(amounts)


def test_words_and_spreadsheet_errors_marking_a_missing_number_are_missing(tmp_path, caplog):
    """A survey export: `unknown` and `n.a.` in number columns, an Excel `#DIV/0!`; pandas kept
    each column as text, every number a category of its own."""
    rows = "".join(f"{50 + i},{i % 7}.5,{i * 3}\n" for i in range(30))
    with caplog.at_level(logging.WARNING):
        frame, table_format = _read(tmp_path, "income,score,ratio\n" + rows
                                    + "Unknown,N.A.,#DIV/0!\nunknown,n.a.,7\n")
    assert frame["income"].dtype == float and frame["income"].isna().sum() == 2
    assert frame["score"].tolist()[:2] == [0.5, 1.5] and frame["score"].isna().sum() == 2
    assert frame["ratio"].tolist()[-1] == 7.0 and np.isnan(frame["ratio"].tolist()[-2])
    assert table_format.formatted_numbers["income"].missing_words == {"Unknown": 1,
                                                                      "unknown": 1}
    assert table_format.formatted_numbers["ratio"].missing_words == {"#DIV/0!": 1}
    assert "column 'income' holds numbers and 'Unknown' in 1 row(s), 'unknown' in 1 row(s) " \
           "where a number is missing: read as missing" in caplog.text


def test_numbers_with_other_text_stay_text_and_the_text_is_named(tmp_path, caplog):
    rows = "".join(f"{20 + i},{i}\n" for i in range(40))
    with caplog.at_level(logging.WARNING):
        frame, table_format = _read(tmp_path, "age,n\n" + rows + "65+,1\nhigh,2\n")
    assert not pd.api.types.is_numeric_dtype(frame["age"])
    assert "age" not in table_format.formatted_numbers
    assert "column 'age' holds numbers but also ['65+', 'high'] in 2 row(s): kept as text" \
        in caplog.text


def test_a_column_of_words_is_left_alone_quietly(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        frame, table_format = _read(tmp_path, "colour,n\n" + "red,1\nunknown,2\n" * 20)
    assert frame["colour"].tolist()[:2] == ["red", "unknown"]
    assert table_format.formatted_numbers == {} and "colour" not in caplog.text
