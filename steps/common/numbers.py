"""Reading feature values as numbers, one way for every model's training and handler.

A value is a finite float, missing (NaN), or unusable: text that is no number, a boolean, an
infinity, or an integer too large for a float. Unusable values are refused by the callers
with the row and value named, rather than reaching a model as inf or failing with a 500.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

_SHOWN_CHARS = 40


def as_finite_float(value: Any, missing: Collection[str] = ("",)) -> float | None:
    """The value as a finite float; NaN when missing (None, NaN, or text in `missing` once
    stripped); None when unusable."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, str) and value.strip() in missing:
        return np.nan
    if isinstance(value, bool | np.bool_):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if np.isfinite(number) else None


def numeric_column(column: pd.Series, missing: Collection[str] = ("",)
                   ) -> tuple[np.ndarray, int | None]:
    """(the column as floats, the position of its first unusable value or None)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.to_numpy(dtype=float)
        bad = np.isinf(numbers)
    else:
        parsed = [as_finite_float(v, missing) for v in column.astype(object)]
        bad = np.array([v is None for v in parsed], dtype=bool)
        numbers = np.array([np.nan if v is None else v for v in parsed], dtype=float)
    return numbers, (int(np.flatnonzero(bad)[0]) if bad.any() else None)


def shown(value: Any) -> str:
    """A value for an error message: its repr, a huge one cut short."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[:20]}...({len(text)} characters)"


def whole_floats_as_integers(column: pd.Series) -> pd.Series:
    """A float column whose values are all whole numbers, as integers: an integer column with
    a gap, which pandas reads as floats, so that values that name something (a class, a
    segment) read as written: `101`, not `101.0`. Any other column is returned as it is."""
    if not pd.api.types.is_float_dtype(column):
        return column
    present = column.dropna()
    if present.empty or (present % 1 != 0).any() or present.abs().max() >= 2 ** 53:
        return column
    return column.astype("Int64" if column.isna().any() else "int64")
