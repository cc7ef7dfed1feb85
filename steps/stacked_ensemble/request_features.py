"""A request's values as the model's features, without a DataFrame per call.

`FeatureReader` makes exactly the values `features.coerce` makes of a request (the tests
compare them on generated requests), or answers None where only the reference path can tell:
a value coerce refuses (its message names the row and value), a row of the wrong length, an
unknown or repeated column name, or a rare form. The handler then takes the reference path,
so a refused request is refused with the same message as before.

Two readers: `cells` reads rows of cells (a JSON body, a short CSV) with coerce's own number
parser; `bulk_csv` reads a long plain CSV body (no quotes, no NULs) with pandas' C parser,
whose float parsing equals Python's float() on every value it accepts (a correctly rounded
parser; tested), after checking every line's field count itself (pandas pads short lines).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steps.common.booleans import boolean_feature
from steps.common.date_values import calendar_parts
from steps.common.errors import InvalidData
from steps.common.numbers import as_finite_float
from steps.stacked_ensemble.features import (
    BOOLEAN,
    CATEGORICAL,
    DATE,
    DATE_PART,
    MISSING_CATEGORY,
    MISSING_TOKENS,
    NUMERIC,
    ORDINAL,
    FeatureSpec,
    date_column,
)

# From this many data lines on, a plain CSV body goes to pandas' C parser: below it, the
# parser's fixed cost (about 1 ms) is more than reading the cells in Python.
BULK_MIN_ROWS = 200


@dataclass(frozen=True, eq=False)
class FeatureArrays:
    """A batch of coerced features: `numbers` (rows x spec.numbers, float64: numeric values,
    booleans' 1/0, ordinal ranks, dates' days and parts, NaN missing) and `categories` (rows x
    spec.categorical, strings, with MISSING_CATEGORY)."""

    numbers: np.ndarray
    categories: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)

    @classmethod
    def of_frame(cls, x: pd.DataFrame, spec: FeatureSpec) -> FeatureArrays:
        """The arrays of a frame `coerce` made."""
        return cls(x[spec.numbers].to_numpy(dtype=np.float64),
                   x[spec.categorical].to_numpy(dtype=object))


@dataclass(frozen=True)
class _Slot:
    """Where a feature's values go: numbers or categories column `index`; `ranks` maps an
    ordinal feature's categories to their ranks; a date's `name` and `date_format` read it and
    `parts` are its calendar parts' (part, numbers column)."""

    kind: str
    index: int
    ranks: dict[str, float] | None = None
    name: str = ""
    date_format: str = ""
    parts: tuple[tuple[str, int], ...] = ()

    def fill_date(self, texts: Sequence[Any], numbers: np.ndarray) -> bool:
        """Write coerce's days and parts of a date feature's cells (text or None) into
        `numbers`; False where coerce would refuse one (or a cell is another type): the
        reference path words the refusal."""
        if any(t is not None and type(t) is not str for t in texts):
            return False
        try:
            days = date_column(list(texts), self.name, self.date_format, "request")
        except InvalidData:
            return False
        numbers[:, self.index] = days
        values = calendar_parts(days, [part for part, _ in self.parts])
        for part, index in self.parts:
            numbers[:, index] = values[part]
        return True

    def fill_booleans(self, cells: Sequence[Any], numbers: np.ndarray) -> bool:
        """Write coerce's 1/0 of a boolean feature's cells into `numbers`; False where coerce
        would refuse one (the reference path words the refusal)."""
        try:
            numbers[:, self.index] = boolean_feature(cells, self.name, "request",
                                                     MISSING_TOKENS)
        except InvalidData:
            return False
        return True


def _category(value: Any) -> str | None:
    """coerce's text of a categorical cell (str or None), trimmed; None for another type."""
    if value is None:
        return MISSING_CATEGORY
    if type(value) is not str:
        return None
    text = value.strip()
    return MISSING_CATEGORY if text in MISSING_TOKENS else text


class FeatureReader:
    """Reads requests for one model's FeatureSpec."""

    def __init__(self, spec: FeatureSpec):
        self.spec = spec
        numbers = {name: i for i, name in enumerate(spec.numbers)}
        categories = {name: i for i, name in enumerate(spec.categorical)}
        self._slots: dict[str, _Slot] = {}
        for name, kind in zip(spec.names, spec.kinds, strict=True):
            if kind == CATEGORICAL:
                self._slots[name] = _Slot(kind, categories[name])
            elif kind == DATE:
                parts = tuple((part, numbers[derived])
                              for derived, (date, part) in spec.date_parts.items()
                              if date == name)
                self._slots[name] = _Slot(kind, numbers[name], name=name,
                                          date_format=spec.dates[name].format, parts=parts)
            elif kind == DATE_PART:
                continue  # filled with its date: a request never sends it
            elif kind == BOOLEAN:
                self._slots[name] = _Slot(kind, numbers[name], name=name)
            else:
                ranks = ({c: float(r) for r, c in enumerate(spec.orders[name])}
                         if kind == ORDINAL else None)
                self._slots[name] = _Slot(kind, numbers[name], ranks)

    def _empty(self, rows: int) -> FeatureArrays:
        """Every feature missing: what coerce makes of columns a request leaves out."""
        categories = np.empty((rows, len(self.spec.categorical)), dtype=object)
        categories.fill(MISSING_CATEGORY)
        return FeatureArrays(np.full((rows, len(self.spec.numbers)), np.nan), categories)

    def _columns(self, names: Sequence[str] | None) -> list[_Slot] | None:
        """The slots of a request's columns (training order when `names` is None); None for
        an unknown or repeated name."""
        if names is None:
            return [self._slots[name] for name in self.spec.inputs]
        if len(set(names)) != len(names) or any(n not in self._slots for n in names):
            return None
        return [self._slots[name] for name in names]

    def cells(self, rows: Sequence[Sequence[Any]],
              names: Sequence[str] | None = None) -> FeatureArrays | None:
        """Rows of cells (text or None) under `names`, or in training order."""
        slots = self._columns(names)
        if slots is None or any(len(row) != len(slots) for row in rows):
            return None
        out = self._empty(len(rows))
        for position, slot in enumerate(slots):
            column = [row[position] for row in rows]
            if slot.kind == CATEGORICAL:
                values = [_category(v) for v in column]
                if None in values:
                    return None
                out.categories[:, slot.index] = values
            elif slot.kind == DATE:
                if not slot.fill_date(column, out.numbers):
                    return None
            elif slot.kind == BOOLEAN:
                if not slot.fill_booleans(column, out.numbers):
                    return None
            elif slot.ranks is not None:
                texts = [_category(v) for v in column]
                if None in texts:
                    return None
                out.numbers[:, slot.index] = [slot.ranks.get(t, np.nan) for t in texts]
            else:
                numbers = _numbers(column)
                if numbers is None:
                    return None
                out.numbers[:, slot.index] = numbers
        return out

    def csv_header(self, first_row: Sequence[str]) -> list[str] | None:
        """The names of a CSV's first row when it is a header (a cell names a feature)."""
        header = [cell.strip() for cell in first_row]
        return header if any(cell in self._slots for cell in header) else None

    def bulk_csv(self, text: str) -> FeatureArrays | None:
        """A long CSV body without quotes or NULs, read by pandas' C parser; None for a short
        or unusual body (or one only the reference can read)."""
        if text.count("\n") + text.count("\r") < BULK_MIN_ROWS or '"' in text \
                or "\x00" in text:
            return None
        if "\r" in text:  # csv's record ends: \r\n, \r and \n
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.lstrip("\n")
        first, _, body = text.partition("\n")
        header = self.csv_header(first.split(","))
        names = header if header is not None else self.spec.inputs
        slots = self._columns(names)
        if slots is None or len(slots) < 2:
            return None
        if header is None:
            body = text
        lines = _line_count(body, len(slots))
        if not lines:
            return None
        dtypes = {i: (object if slot.kind != NUMERIC else np.float64)
                  for i, slot in enumerate(slots)}
        try:
            frame = pd.read_csv(io.StringIO(body), header=None, names=range(len(slots)),
                                index_col=False, dtype=dtypes, keep_default_na=False,
                                na_values=[""], quoting=csv.QUOTE_NONE, engine="c",
                                skip_blank_lines=True, comment=None, thousands=None)
        except (ValueError, pd.errors.ParserError):
            return None
        if len(frame) != lines:
            return None
        out = self._empty(lines)
        for position, slot in enumerate(slots):
            column = frame[position].to_numpy()
            if slot.kind == NUMERIC:
                if np.isinf(column).any():
                    return None
                out.numbers[:, slot.index] = column
                continue
            if slot.kind in (DATE, BOOLEAN):
                cells = [None if pd.isna(v) else v for v in column]
                filled = (slot.fill_date(cells, out.numbers) if slot.kind == DATE
                          else slot.fill_booleans(cells, out.numbers))
                if not filled:
                    return None
                continue
            trimmed = pd.Series(column, copy=False).str.strip()
            missing = pd.isna(column) | trimmed.isin(MISSING_TOKENS).to_numpy()
            texts = np.where(missing, MISSING_CATEGORY, trimmed.to_numpy())
            if slot.ranks is None:
                out.categories[:, slot.index] = texts
            else:
                out.numbers[:, slot.index] = [slot.ranks.get(t, np.nan) for t in texts]
        return out


def _numbers(column: list[Any]) -> np.ndarray | list[float] | None:
    """coerce's numbers for a column of cells (text or None); None if it refuses one. Text
    that float() reads as a finite number is what as_finite_float makes of it (no missing
    token reads so); any other column takes as_finite_float cell by cell, which costs ten
    times more (its checks, numpy's isfinite on each float)."""
    try:
        numbers = np.array([float(v) for v in column], dtype=np.float64)
    except (TypeError, ValueError):  # None, or text that is no plain number
        numbers = None
    if numbers is not None and np.isfinite(numbers).all():
        return numbers
    checked = [as_finite_float(v, MISSING_TOKENS) for v in column]
    return None if any(v is None for v in checked) else checked


def _line_count(body: str, fields: int) -> int:
    """The number of non-empty lines when every one has `fields` fields and none is longer
    than csv's field size limit (which the reference parser enforces), else 0."""
    raw = np.frombuffer(body.encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    if not len(raw) or raw[-1] != ord("\n"):
        ends = np.append(ends, len(raw))
    starts = np.concatenate([[0], ends[:-1] + 1])
    filled = ends > starts
    if np.any(ends - starts > csv.field_size_limit()):
        return 0
    commas = np.searchsorted(np.flatnonzero(raw == ord(",")), ends)
    per_line = np.diff(commas, prepend=0)
    if np.any(per_line[filled] != fields - 1) or np.any(per_line[~filled] != 0):
        return 0
    return int(filled.sum())
