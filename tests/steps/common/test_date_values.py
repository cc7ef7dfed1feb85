"""Dates as users' exports write them are found in one format per column and read as days
since 1970-01-01 and the calendar parts that vary; codes, numbers and columns mixing formats
are not dates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steps.common.date_values import (
    CALENDAR_PARTS,
    ISO8601,
    DateColumn,
    calendar_parts,
    column_date_format,
    date_columns,
    days_since_epoch,
    example_date,
    without_missing_dates,
)


def _format(values: list) -> str | None:
    return column_date_format(pd.Series(values, dtype=object))


@pytest.mark.parametrize("values, expected", [
    (["2021-03-04", "2021-03-05 10:00", None], ISO8601),          # mixed precision
    (["2021-03-04T10:00:00+02:00", "2021-03-04T10:00:00Z"], ISO8601),
    (["2021-03", "2021-04"], ISO8601),
    (["04/03/2021", "25/12/2020"], "%d/%m/%Y"),                   # a day above 12 decides
    (["04/03/2021", "05/12/2020"], "%m/%d/%Y"),                   # ambiguous: month first
    (["1.5.2021", "31.12.2020"], "%d.%m.%Y"),
    (["03/04/21", "12/31/20"], "%m/%d/%y"),                       # a spreadsheet's short year
    (["31.12.20", "1.1.21"], "%d.%m.%y"),
    (["Mar 4, 2021", "Dec 25, 2020"], "%b %d, %Y"),
    (["12/31/2020 10:30", "1/2/2021 08:05"], "%m/%d/%Y %H:%M"),
])
def test_a_column_of_dates_has_its_format(values, expected):
    assert _format(values) == expected


@pytest.mark.parametrize("values", [
    ["1234", "2345"],                    # postal codes kept as text
    ["20210304", "20210305"],            # digits alone
    ["12-05", "3-4"],                    # no year
    ["A12", "B3"], ["v1.2", "v2.3"], ["red", "blue"],
    ["03/04/2022", "2022-05-06"],        # two formats
    ["2021-03-04", "soon"],              # a value that is no date
    [None, None],
])
def test_codes_words_and_mixed_formats_are_not_dates(values):
    assert _format(values) is None


def test_number_boolean_and_ordered_columns_are_not_dates():
    frame = pd.DataFrame({"n": [20210304, 20210305], "b": [True, False],
                          "o": pd.Categorical(["2021-01-01", "2021-01-02"], ordered=True),
                          "d": ["2021-01-01", None]})
    assert date_columns(frame) == {"d": DateColumn(ISO8601, ())}  # one date: no part varies


def test_a_column_becomes_the_parts_that_vary_in_it():
    frame = pd.DataFrame({
        "one_month": ["2021-03-01", "2021-03-02", "2021-03-08"],        # weekdays vary
        "mondays": ["04/01/2021", "11/01/2021", "22/02/2021"],          # months vary
        "times": ["2021-03-01 09:00", "2021-03-01 17:30", None]})       # hours vary
    assert date_columns(frame) == {"one_month": DateColumn(ISO8601, ("weekday",)),
                                   "mondays": DateColumn("%d/%m/%Y", ("month",)),
                                   "times": DateColumn(ISO8601, ("hour",))}
    assert DateColumn.from_json(DateColumn("%d/%m/%Y", ("month",)).to_json()) == \
        DateColumn("%d/%m/%Y", ("month",))


def test_days_since_epoch_in_utc():
    days, bad = days_since_epoch(["1970-01-02", "2021-03-04T12:00:00+02:00", None], ISO8601)
    assert bad is None
    assert days[0] == 1.0 and days[1] == pytest.approx(18690 + 10 / 24) and np.isnan(days[2])


def test_the_first_text_that_is_no_date_is_named():
    days, bad = days_since_epoch(["04/03/2021", None, "2021-03-04", "tomorrow"], "%d/%m/%Y")
    assert bad == 2 and np.isnan(days).all()


@given(st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                    max_value=pd.Timestamp("2200-01-01").to_pydatetime()),
       st.sampled_from(["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                        "%d.%m.%Y %H:%M:%S"]))
def test_a_written_date_reads_back_as_its_days(when, date_format):
    days, bad = days_since_epoch([when.strftime(date_format)], date_format)
    expected = (pd.Timestamp(when.replace(microsecond=0)) - pd.Timestamp("1970-01-01")) \
        / pd.Timedelta(days=1)
    assert bad is None and days[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("date_format", [ISO8601, "%d/%m/%Y", "%m/%d/%y %H:%M"])
def test_the_example_reads_in_its_format(date_format):
    assert days_since_epoch([example_date(date_format)], date_format)[1] is None


@given(st.datetimes(min_value=pd.Timestamp("1800-01-01").to_pydatetime(),
                    max_value=pd.Timestamp("2200-01-01").to_pydatetime()))
def test_calendar_parts_are_pandas_calendar(when):
    when = pd.Timestamp(when).floor("s")
    days, _ = days_since_epoch([when.isoformat()], ISO8601)
    parts = calendar_parts(days, CALENDAR_PARTS)
    assert (parts["weekday"][0], parts["month"][0], parts["hour"][0]) == \
        (when.day_of_week, when.month, when.hour)


def test_missing_dates_have_missing_parts():
    parts = calendar_parts(np.array([np.nan, 0.5]), CALENDAR_PARTS)
    assert [np.isnan(parts[p][0]) for p in CALENDAR_PARTS] == [True] * 3
    assert (parts["weekday"][1], parts["month"][1], parts["hour"][1]) == (3, 1, 12)


def test_dates_that_read_either_way_round_are_warned_about(caplog):
    frame = pd.DataFrame({"either": ["04/03/2021", "05/12/2020"],
                          "day_first": ["04/03/2021", "25/12/2020"]})
    with caplog.at_level("WARNING"):
        found = date_columns(frame)
    assert found["either"].format == "%m/%d/%Y" and found["day_first"].format == "%d/%m/%Y"
    assert "column 'either': no day is above 12" in caplog.text
    assert "day_first" not in caplog.text


def test_missing_marks_and_words_among_dates_are_missing_dates(caplog):
    """An orders export writes `-` or `TBD` where an order has not shipped yet."""
    frame = pd.DataFrame({"shipped": ["04/03/2021", "-", "TBD", "25/12/2020", None, "Unknown"]})
    found = date_columns(frame)
    assert found == {"shipped": DateColumn("%d/%m/%Y", ("weekday", "month"))}
    with caplog.at_level("WARNING"):
        blanked = without_missing_dates(frame, found)
    assert blanked["shipped"].isna().tolist() == [False, True, True, False, True, True]
    assert frame["shipped"][1] == "-"  # the input is not changed
    assert "column 'shipped': '-' in 1 row(s), 'TBD' in 1 row(s), 'Unknown' in 1 row(s) " \
           "read as missing date(s)" in caplog.text
