"""Numbers as spreadsheets and finance exports format them, read as numbers.

`1,234.50`, `1.234,50 €`, `$-5.00`, `US$ 12`, `(1,200.00)` (accounting's negative), `12 %`,
and `-` or `?` where a value is missing: pandas keeps such a column as text, and the learners
would then take every amount as its own category. So does one word in a column of numbers:
`unknown`, `n.a.`, `missing`, or a spreadsheet's error (`#DIV/0!`, `#VALUE!`); those
(MISSING_WORDS, any case) are read as missing too, with a warning naming them and their rows.
A column becomes numbers only when every value is such a number, a missing mark or a missing
word, and its values share one unit: dollars and euros in one column are not comparable, so
such a column stays text, with a warning, as does a column of numbers with other words in it
(`65+`, `high`: the warning names them). The number is the one shown (`12 %` is 12, `$5` is
5); the unit is recorded, not applied.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪₫₴₦₱฿¢"
MISSING_MARKS = ("-", "--", "\u2013", "\u2014", "?")  # hyphen(s), en and em dash, question mark
# Words (lower case, trailing dots dropped) that mark a missing number, and spreadsheet errors.
MISSING_WORDS = frozenset({"unknown", "unk", "missing", "none", "nan", "na", "n.a", "n/a",
                           "not available", "not applicable", "no data", "nil", "null",
                           "undefined", "tbd", "empty", "#div/0!", "#value!", "#ref!",
                           "#name?", "#num!", "#null!", "#n/a", "error", "#error"})
OTHER_TEXT_SHARE = 0.05  # at most this share of other text in a number column is named
SAMPLE_VALUES = 200
_GROUP_MARKS = {".": ",", ",": ". \u00a0\u202f"}
# An unsigned number with thousands grouped (1,234.5 / 1.234,5 / 1 234,5) or plain, by decimal.
_UNSIGNED = {".": r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?",
             ",": r"(?:\d{1,3}(?:[. \u00a0\u202f]\d{3})+|\d+)(?:,\d+)?"}
_SYMBOL = re.escape(CURRENCY_SYMBOLS)
_FORMATTED = {decimal: re.compile(
    rf"(?P<open>\()?\s*(?P<sign1>[+-])?\s*(?P<prefix>(?:[A-Z]{{1,2}})?\$|[{_SYMBOL}])?\s*"
    rf"(?P<sign2>[+-])?(?P<number>{number})\s*(?P<suffix>[{_SYMBOL}%])?\s*(?P<close>\))?")
    for decimal, number in _UNSIGNED.items()}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NumberFormat:
    """How a column's numbers were written: what the data report records."""

    unit: str | None  # "$", "€", "%", ... or None: plain (thousands grouped)
    missing_marks: int  # values written as `-` or `?`, read as missing
    missing_words: dict[str, int] = field(default_factory=dict)  # word as written: rows


def decimal_mark(values: list[str]) -> str:
    """`,` where the values hold decimal commas and no decimal points, else `.`: `1.234` and
    `1,234` could be either, so they are no evidence."""
    series = pd.Series(values, dtype=object)
    comma = _parsed(series, ",")
    point = _parsed(series, ".")
    comma_decimals = (comma.ok & comma.number.str.contains(",", regex=False)).any()
    point_decimals = (point.ok & ~comma.ok & point.number.str.contains(".", regex=False)).any()
    return "," if comma_decimals and not point_decimals else "."


def number_share(values: list[str]) -> float:
    """The share of `values` written as numbers, with either decimal mark."""
    series = pd.Series(values, dtype=object)
    numbers = _parsed(series, ".").ok | _parsed(series, ",").ok
    return float(numbers.mean()) if len(series) else 0.0


def read_formatted_numbers(frame: pd.DataFrame, decimal: str,
                           shown: str) -> tuple[pd.DataFrame, dict[str, NumberFormat]]:
    """The frame with each text column of formatted numbers converted (the frame is changed in
    place), and how each converted column was written."""
    formats: dict[str, NumberFormat] = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object and not pd.api.types.is_string_dtype(column):
            continue
        values = column.dropna().astype(str).str.strip()
        if values.empty or not _mostly_numbers(values.head(SAMPLE_VALUES), decimal):
            continue  # most text columns stop here, at a sample
        numbers, number_format = _converted(values, decimal, shown, str(name))
        if number_format is None:
            continue
        frame[name] = numbers.reindex(column.index).to_numpy(dtype=float)
        formats[str(name)] = number_format
    if formats:
        logger.info("%s: column(s) %s hold formatted numbers: read as numbers (%s)", shown,
                    list(formats), "; ".join(f"{name}: {_describe(f)}"
                                             for name, f in formats.items()))
    return frame, formats


class _Parts:
    """The pieces of each value: whether it is a formatted number, its digits, sign and unit."""

    def __init__(self, values: pd.Series, decimal: str):
        parts = values.str.extract(f"^{_FORMATTED[decimal].pattern}$")
        matched = parts["number"].notna()
        parenthesised = parts["open"].notna()
        signed = parts["sign1"].notna() | parts["sign2"].notna()
        self.ok = (matched & (parenthesised == parts["close"].notna())
                   & ~(parts["prefix"].notna() & parts["suffix"].notna())
                   & ~(parts["sign1"].notna() & parts["sign2"].notna())
                   & ~(parenthesised & signed))
        self.number = parts["number"].fillna("")
        self.negative = parenthesised | parts["sign1"].eq("-") | parts["sign2"].eq("-")
        self.unit = parts["prefix"].fillna(parts["suffix"])


def _parsed(values: pd.Series, decimal: str) -> _Parts:
    return _Parts(values.astype(str).str.strip(), decimal)


def _is_missing_word(values: pd.Series) -> pd.Series:
    return values.str.lower().str.rstrip(".").isin(MISSING_WORDS)


def missing_markers(values: pd.Series) -> pd.Series:
    """Which text values mark a missing value: a missing mark (`-`, `?`) or word (`unknown`,
    `TBD`, `#VALUE!`); date columns read them so too (date_values)."""
    text = values.astype(str).str.strip()
    return text.isin(MISSING_MARKS) | _is_missing_word(text)


def _mostly_numbers(values: pd.Series, decimal: str) -> bool:
    """Numbers (or missing marks and words) but for at most OTHER_TEXT_SHARE of the values,
    and at least one number: the columns worth reading whole."""
    numbers = _parsed(values, decimal).ok
    known = numbers | values.isin(MISSING_MARKS) | _is_missing_word(values)
    return bool(numbers.any()) and float((~known).mean()) <= OTHER_TEXT_SHARE


def _converted(values: pd.Series, decimal: str, shown: str,
               name: str) -> tuple[pd.Series, NumberFormat | None]:
    missing = values.isin(MISSING_MARKS)
    words = ~missing & _is_missing_word(values)
    parts = _parsed(values[~missing & ~words], decimal)
    if parts.ok.empty:
        return values, None
    if not parts.ok.all():
        other = values[~missing & ~words][~parts.ok.to_numpy()]
        if len(other) <= OTHER_TEXT_SHARE * len(values):
            logger.warning("%s: column %r holds numbers but also %s in %d row(s): kept as text, "
                           "so the learners take each number as a category; empty those cells "
                           "if they mark missing values, or fix them", shown, name,
                           sorted(set(other))[:5], len(other))
        return values, None
    units = sorted(set(parts.unit.dropna()))
    if len(units) > 1:
        logger.warning("%s: column %r mixes units %s: kept as text; put each unit in its own "
                       "column or convert them to one", shown, name, units)
        return values, None
    digits = parts.number
    for mark in _GROUP_MARKS[decimal]:
        digits = digits.str.replace(mark, "", regex=False)
    magnitude = pd.to_numeric(digits.str.replace(decimal, ".", regex=False)).astype(float)
    numbers = pd.Series(np.nan, index=values.index)
    numbers[~missing & ~words] = np.where(parts.negative, -magnitude, magnitude)
    counted = {str(w): int(n) for w, n in values[words].value_counts().sort_index().items()}
    if counted:
        logger.warning("%s: column %r holds numbers and %s where a number is missing: read as "
                       "missing (the served model takes an empty field, not the word)", shown,
                       name, ", ".join(f"{w!r} in {n} row(s)" for w, n in counted.items()))
    return numbers, NumberFormat(units[0] if units else None, int(missing.sum()), counted)


def _describe(number_format: NumberFormat) -> str:
    unit = f"in {number_format.unit}" if number_format.unit else "plain"
    marks = number_format.missing_marks
    return f"{unit}, {marks} '-' or '?' read as missing" if marks else unit
