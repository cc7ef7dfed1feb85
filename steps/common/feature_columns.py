"""Which of a user's columns are features, for both tabular pipelines.

The IgnoreColumns parameter names the columns that are not (ids, leakage); it is checked
against the table. Columns that look like record ids, or like dates the pipelines could not
read as dates (steps/common/date_values.py: not all in one format), are only warned about: a
learner takes each of their values as a category it cannot reuse on new rows, but a column
of that shape may still carry signal, so the user decides.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.common.input_tables import listed_columns

DATE_SHARE = 0.95  # of a text column's values that must read as dates to call it a date column
DATE_SAMPLE = 1000  # values read per column: parsing is per value, a sample tells enough

logger = logging.getLogger(__name__)


def column_list(text: str) -> list[str]:
    """'id, notes,' -> ['id', 'notes']: a comma-separated parameter value."""
    return [name.strip() for name in text.split(",") if name.strip()]


def without_ignored(table: pd.DataFrame, needed: dict[str, str],
                    ignore: list[str]) -> pd.DataFrame:
    """The table without the IgnoreColumns, once the `needed` columns ({parameter: column},
    e.g. the TargetColumn) are in it and not ignored, and no number column kept holds
    infinity (an ignored one may: the user has left it out)."""
    for parameter, column in needed.items():
        if column not in table.columns:
            raise InvalidData(f"{parameter} {column!r} is not a column of the input; its "
                              f"columns are: {listed_columns(table.columns)}; set the "
                              f"{parameter} parameter to one of them")
    _check_ignored(table, ignore, needed)
    kept = table.drop(columns=list(ignore))
    _check_finite(kept)
    return kept


def _check_ignored(table: pd.DataFrame, ignore: list[str], needed: dict[str, str]) -> None:
    """IgnoreColumns must name columns of `table` and none of the `needed` ones."""
    unknown = [c for c in ignore if c not in table.columns]
    if unknown:
        raise InvalidData(f"IgnoreColumns names {unknown}, which the input does not have; its "
                          f"columns are: {listed_columns(table.columns)}")
    for parameter, column in needed.items():
        if column in ignore:
            raise InvalidData(f"IgnoreColumns includes the {parameter} {column!r}: remove it "
                              "from IgnoreColumns")


def _check_finite(table: pd.DataFrame) -> None:
    """No infinity in a number column (a spreadsheet's division by zero, written `inf`): the
    learners cannot use it and the served model refuses it, so the user decides what it
    means."""
    for name in table.columns:
        column = table[name]
        if not pd.api.types.is_float_dtype(column):
            continue
        infinite = np.isinf(column.to_numpy(dtype=float))
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0]) + 1
            raise InvalidData(f"column {name!r} holds infinity in {int(infinite.sum())} row(s) "
                              f"(the first is data row {first}): replace it with a number, or "
                              "empty the cell to leave the value missing")


def identifier_like(features: pd.DataFrame) -> list[str]:
    """Columns whose value differs on every row and is text or a whole number: record ids,
    which carry no signal a model can reuse on new rows (IgnoreColumns should name them)."""
    suspects = []
    for name in features.columns:
        column = features[name].dropna()
        whole = pd.api.types.is_integer_dtype(column) or not pd.api.types.is_numeric_dtype(column)
        if len(column) == len(features) > 1 and whole and column.is_unique:
            suspects.append(str(name))
    return suspects


def date_like(features: pd.DataFrame) -> list[str]:
    """Text columns whose values mostly read as dates or times ("2021-03-04", "04/03/2021
    10:00") in any mix of formats. Given the columns the pipeline did not read as dates, these
    are dates the learners take as categories, one level per date, which says nothing about a
    date they have not seen, so the user should write them in one format or ignore them."""
    dates = []
    for name in features.columns:
        column = features[name].dropna()
        if column.empty or pd.api.types.is_numeric_dtype(column):
            continue
        text = column.sample(min(len(column), DATE_SAMPLE), random_state=0).astype(str)
        if not text.str.contains(r"\d", regex=True).all():
            continue  # every date has a digit; this also skips plain words quickly
        with warnings.catch_warnings():  # "could not infer format": read each value alone
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.notna().mean() >= DATE_SHARE:
            dates.append(str(name))
    return dates


def suspect_columns(features: pd.DataFrame) -> dict[str, list[str]]:
    """The data report's `suspected_identifiers` and `date_columns` among `features` (the
    columns not read as dates), each logged as a warning (a local run shows it on the
    console)."""
    found = {"suspected_identifiers": identifier_like(features),
             "date_columns": date_like(features)}
    if found["suspected_identifiers"]:
        logger.warning("column(s) %s hold a different value on every row, like record ids: "
                       "name them in the IgnoreColumns parameter unless they carry signal",
                       found["suspected_identifiers"])
    if found["date_columns"]:
        logger.warning("column(s) %s hold dates, but not all written in one format (or with "
                       "values that are no dates), so the learners take them as categories (a "
                       "date they have not seen is unknown to them): write every date in one "
                       "format (e.g. 2021-03-04) to have them read as dates, or name them in "
                       "IgnoreColumns", found["date_columns"])
    return found
