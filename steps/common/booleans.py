"""True/false columns, read alike in training and in requests.

pandas reads a CSV column of `true`/`false` (or `True`, `TRUE`, ...) as booleans, so the
training table holds True/False whatever the file's spelling. Taken as text categories, a
request sending the file's own `true` met the category `True` it had never seen, and a JSON
`true` was refused. As a feature a boolean is a number, 1 true and 0 false, and a request's
cell is read with the spellings pandas reads, plus JSON's booleans and `1`/`0`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from steps.common.errors import InvalidData
from steps.common.numbers import shown

TRUE_TEXTS = frozenset({"True", "TRUE", "true", "1"})
FALSE_TEXTS = frozenset({"False", "FALSE", "false", "0"})


def is_boolean_column(column: pd.Series) -> bool:
    """A column pandas read as booleans: bool dtype, or (with gaps) objects that are all
    booleans."""
    if pd.api.types.is_bool_dtype(column):
        return True
    if column.dtype != object:
        return False
    present = column.dropna()
    return len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present)


def boolean_number(value: Any) -> float | None:
    """1.0 or 0.0 for a true or false cell (a boolean, its text as pandas reads it, `1`/`0`);
    None for any other value."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        return 1.0 if text in TRUE_TEXTS else 0.0 if text in FALSE_TEXTS else None
    if isinstance(value, (int, np.integer)) and value in (0, 1):  # a JSON 1 or 0
        return float(value)
    return None


def boolean_feature(cells: Sequence[Any], name: str, source: str,
                    missing: frozenset[str] = frozenset({""})) -> np.ndarray:
    """A boolean feature's cells as 1.0/0.0, NaN where missing (None, NaN, text in
    `missing`); InvalidData names the first cell that is neither true nor false."""
    out = np.full(len(cells), np.nan)
    for row, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or \
                (isinstance(cell, str) and cell.strip() in missing):
            continue
        number = boolean_number(cell)
        if number is None:
            raise InvalidData(f"{source}: feature {name!r} is true/false but row {row + 1} has "
                              f"{shown(cell)}; send true or false, or leave the field empty "
                              "for a missing value")
        out[row] = number
    return out
