"""Dates in a user's table: the one format a column's dates are written in, and each date as
numbers the learners can split on: days since 1970-01-01 (UTC), and the calendar parts that
vary in the table (weekday, month, hour of day).

A learner given dates as text takes each date as a category: it learns nothing it can use for
a date it has not seen (every new order is on a new day). Read as numbers, dates order the
rows in time, so trees split on "before/after" and a new date falls beside its neighbours; the
parts carry what days alone hide (weekends, seasons, the time of day).

A text column is a date column when every value that is not missing reads with one format
that names a year: ISO 8601 (`2021-03-04`, `2021-03-04T10:00:00+02:00`, mixed precision) or
one that pandas guesses from the values (`%d/%m/%Y`, `%m/%d/%Y %H:%M`, `%d.%m.%Y`, ...), or a
spreadsheet's two-digit year (`%m/%d/%y`, `%d.%m.%y`, ...). Text of digits alone (`1234`, a
postal code or a code kept as text) is not a date. Where both the month-first and the
day-first reading fit every value (no day above 12), the month-first one is taken, as pandas
does, with a warning; the data report shows the format chosen. The format is saved with the
model, so a served request's dates are read exactly as training read them.
Times with an offset are converted to UTC; times without one are taken as UTC. A missing
mark or word (`-`, `unknown`, `TBD`: formatted_numbers.missing_markers) among the dates is a
missing date (preprocessing blanks it, with a warning), not a reason to take the column as text.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from steps.common.errors import InvalidData
from steps.common.formatted_numbers import missing_markers
from steps.common.numbers import shown

ISO8601 = "ISO8601"  # pandas' name for any ISO 8601 form
GUESS_SAMPLE = 20  # distinct values a format is guessed from; every value is then checked
YEAR_DIRECTIVES = ("%Y", "%y")  # a format without a year ("%m-%d") reads codes as dates
# Spreadsheets' two-digit years, which pandas does not guess; month-first first, as it does.
TWO_DIGIT_YEARS = tuple(f"{day_month}{time}" for day_month in ("%m/%d/%y", "%d/%m/%y", "%d.%m.%y")
                        for time in ("", " %H:%M", " %H:%M:%S"))
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)
CALENDAR_PARTS = ("weekday", "month", "hour")  # weekday: Monday 0; hour: 0-23, UTC
SECONDS_A_DAY = 86_400
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DateColumn:
    """How a date column is read: its `format`, and the calendar `parts` it becomes besides
    its days (those that take more than one value in the table)."""

    format: str
    parts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "parts": list(self.parts)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> DateColumn:
        return cls(document["format"], tuple(document.get("parts", ())))


def _parsed(texts: Iterable[str], date_format: str) -> pd.DatetimeIndex:
    """The texts as UTC times under `date_format`; NaT where one does not read so."""
    with warnings.catch_warnings():  # pandas warns on a mixed offset; utc=True settles it
        warnings.simplefilter("ignore")
        return pd.DatetimeIndex(pd.to_datetime(pd.Index(list(texts), dtype=object),
                                               format=date_format, errors="coerce", utc=True))


def _candidate_formats(sample: list[str]) -> list[str]:
    """ISO 8601, the month-first and day-first formats guessed from `sample`, then two-digit
    years, each once."""
    with warnings.catch_warnings():  # "Parsing dates in %d/%m/%Y format when dayfirst=False"
        warnings.simplefilter("ignore")
        guesses = [guess_datetime_format(text, dayfirst=dayfirst)
                   for dayfirst in (False, True) for text in sample]
    named = [f for f in guesses if f and any(d in f for d in YEAR_DIRECTIVES)]
    return list(dict.fromkeys([ISO8601, *named, *TWO_DIGIT_YEARS]))


def _distinct_texts(column: pd.Series) -> list[str]:
    """A text column's distinct values, trimmed, without missing ones or missing markers;
    none for a number, boolean or categorical column."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column) or \
            isinstance(column.dtype, pd.CategoricalDtype):
        return []
    text = column.dropna().astype(str).str.strip()
    return [str(v) for v in pd.unique(text[~missing_markers(text)])]


def _format_of(values: list[str]) -> str | None:
    """The format every one of these distinct texts reads with, or None."""
    head = values[:GUESS_SAMPLE]
    if not values or not all(any(c.isdigit() for c in v) and not v.isdigit() for v in head):
        return None
    for date_format in _candidate_formats(head):
        if _parsed(head, date_format).notna().all() and \
                _parsed(values, date_format).notna().all():
            return date_format
    return None


def column_date_format(column: pd.Series) -> str | None:
    """The format every non-missing value of a text column reads with, or None: a number or
    boolean column, an empty one, or one with a value that no single format fits."""
    return _format_of(_distinct_texts(column))


def date_columns(features: pd.DataFrame) -> dict[str, DateColumn]:
    """{column: how it is read} for the text columns of `features` that hold dates (the
    format and parts found on their distinct values)."""
    found = {}
    for name in features.columns:
        values = _distinct_texts(features[name])
        date_format = _format_of(values)
        if date_format:
            days, _ = days_since_epoch(values, date_format)
            found[str(name)] = DateColumn(date_format, varying_parts(days))
            if _day_month_ambiguous(values, date_format):
                logger.warning("column %r: no day is above 12, so its dates read both month "
                               "first and day first; read as %s (month first, as pandas "
                               "does): if they are day first, write them as 2021-03-04",
                               str(name), date_format)
    return found


def _day_month_ambiguous(values: list[str], date_format: str) -> bool:
    """Whether the texts also read, every one, with day and month swapped in the format."""
    if "%d" not in date_format or "%m" not in date_format:
        return False
    swapped = date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return bool(_parsed(values, swapped).notna().all())


def without_missing_dates(table: pd.DataFrame, dates: dict[str, DateColumn]) -> pd.DataFrame:
    """`table` (a copy) with the missing marks and words of its date columns blanked, so the
    steps after preprocessing read only dates there; a warning counts them."""
    out = table.copy()
    for name in dates:
        marked = out[name].notna() & missing_markers(out[name])
        if marked.any():
            logger.warning("column %r: %s read as missing date(s)", name, ", ".join(
                f"{value!r} in {count} row(s)"
                for value, count in out.loc[marked, name].value_counts().sort_index().items()))
            out[name] = out[name].where(~marked)
    return out


def calendar_parts(days: np.ndarray, parts: Sequence[str]) -> dict[str, np.ndarray]:
    """Each part of each date (NaN where the days are): from whole seconds, so 10:00 is hour
    10 whatever the float rounding of its days."""
    seconds = np.round(np.asarray(days, dtype=float) * SECONDS_A_DAY)
    whole_days = np.floor(seconds / SECONDS_A_DAY)
    out = {}
    for part in parts:
        if part == "weekday":
            out[part] = (whole_days + EPOCH_WEEKDAY) % 7
        elif part == "hour":
            out[part] = np.floor((seconds - whole_days * SECONDS_A_DAY) / 3600)
        elif part == "month":
            months = pd.DatetimeIndex(pd.to_datetime(whole_days, unit="D")).month
            out[part] = np.asarray(months, dtype=float)
        else:
            raise ValueError(f"unknown calendar part {part!r}; known: {CALENDAR_PARTS}")
    return out


def varying_parts(days: np.ndarray) -> tuple[str, ...]:
    """The calendar parts that take more than one value among these dates: a constant one
    tells a learner nothing."""
    present = np.asarray(days, dtype=float)
    present = present[~np.isnan(present)]
    parts = calendar_parts(present, CALENDAR_PARTS)
    return tuple(p for p in CALENDAR_PARTS if len(np.unique(parts[p])) > 1)


def days_since_epoch(texts: Iterable[str | None], date_format: str
                     ) -> tuple[np.ndarray, int | None]:
    """(each date as days since 1970-01-01 UTC, NaN for None; the position of the first text
    that does not read as a date in `date_format`, or None)."""
    texts = list(texts)
    present = np.array([t is not None for t in texts], dtype=bool)
    days = np.full(len(texts), np.nan)
    if present.any():
        parsed = _parsed([t.strip() for t in texts if t is not None], date_format)
        unread = np.flatnonzero(parsed.isna())
        if len(unread):
            return days, int(np.flatnonzero(present)[unread[0]])
        days[present] = (parsed - EPOCH) / DAY
    return days, None


def text_cells(column: pd.Series) -> list[str | None]:
    """A column's cells as text, None where missing: what feature_days reads."""
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in column.astype(object).to_numpy()]


def feature_days(texts: list[str | None], name: str, date_format: str, source: str,
                 missing: frozenset[str] = frozenset({""})) -> np.ndarray:
    """A date feature's cells (text, None when missing; text in `missing` is missing too) as
    days since 1970-01-01, NaN missing; InvalidData names the first cell that is no date in the
    feature's format and shows that format by example. `source` names the input."""
    days, bad_row = days_since_epoch(
        [None if t is None or t.strip() in missing else t for t in texts], date_format)
    if bad_row is not None:
        raise InvalidData(
            f"{source}: feature {name!r} is a date but row {bad_row + 1} has "
            f"{shown(texts[bad_row])}; send a date written as the training data's were (e.g. "
            f"{example_date(date_format)!r}) or leave the field empty for a missing value")
    return days


def example_date(date_format: str) -> str:
    """A date written in `date_format`, for messages."""
    return "2021-03-04" if date_format == ISO8601 else \
        pd.Timestamp("2021-03-04 10:30:00").strftime(date_format)
