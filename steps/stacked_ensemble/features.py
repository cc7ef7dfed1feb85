"""Feature kinds and the one encoding of features that training, evaluation and serving share.

A feature is numeric when pandas reads its training column as numbers, boolean when it reads
true/false (steps/common/booleans.py: 1 or 0, a request's `true`, `TRUE`, JSON true alike),
ordinal when it is an ordered pandas Categorical (its order is kept: the values become their
ranks, 0..K-1), a date when preprocessing found every value of its text column written in one
date format (steps/common/date_values.py: the value becomes days since 1970-01-01, the format is
saved with the model and a request's dates are read with it), categorical otherwise. A date
also gives the model a `date part` feature per calendar part that varies in the table
(`ordered (weekday)`, `ordered (month)`, `ordered (hour)`): computed from the date, never sent.
Categorical values are strings with missing ones as MISSING_CATEGORY, so CatBoost (native
categoricals), XGBoost (native categoricals; it reads MISSING_CATEGORY as missing) and the
one-hot encoder see the same categories.

A CSV cannot carry an order: a text column read from one is an unordered categorical. Orders
come from ordered Categoricals: a Parquet input's (preprocessing writes them beside each
split's CSV, CATEGORY_ORDERS_FILE, and training applies them with `with_category_orders`) or a
caller's DataFrame (the benchmark's, for diamonds' cut, color and clarity). The order is saved
with the model, and serving maps each value to its rank again, an unknown or missing value to
a missing rank.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steps.common.booleans import boolean_feature, is_boolean_column
from steps.common.date_values import DateColumn, calendar_parts, feature_days, text_cells
from steps.common.errors import InvalidData
from steps.common.input_tables import PANDAS_MISSING_TOKENS
from steps.common.numbers import numeric_column, shown

NUMERIC = "numeric"
CATEGORICAL = "categorical"
ORDINAL = "ordinal"
BOOLEAN = "boolean"
DATE = "date"
DATE_PART = "date part"
MISSING_CATEGORY = "<missing>"
# pandas.read_csv's default missing-value markers: serving reads a field as training read it.
MISSING_TOKENS = PANDAS_MISSING_TOKENS


@dataclass(frozen=True)
class FeatureSpec:
    """The model's features in order, each with its kind: the input columns, then each date's
    parts. `orders` holds each ordinal feature's categories, lowest first; `dates` how each date
    feature is read; `date_parts` each date part's (date feature, part)."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dates: dict[str, DateColumn] = field(default_factory=dict)
    date_parts: dict[str, tuple[str, str]] = field(default_factory=dict)

    def _of_kind(self, kind: str) -> list[str]:
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k == kind]

    @property
    def inputs(self) -> list[str]:
        """The columns a table or a request gives: every feature but the date parts."""
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k != DATE_PART]

    @property
    def numeric(self) -> list[str]:
        return self._of_kind(NUMERIC)

    @property
    def categorical(self) -> list[str]:
        return self._of_kind(CATEGORICAL)

    @property
    def ordinal(self) -> list[str]:
        return self._of_kind(ORDINAL)

    @property
    def numbers(self) -> list[str]:
        """The features every learner reads as numbers: numeric values, booleans' 1/0, ordinal
        ranks, dates' days and their parts."""
        return [n for n, k in zip(self.names, self.kinds, strict=True) if k != CATEGORICAL]

    def to_json(self) -> list[dict[str, Any]]:
        return [{"name": n, "kind": k,
                 **({"categories": list(self.orders[n])} if k == ORDINAL else {}),
                 **(self.dates[n].to_json() if k == DATE else {}),
                 **(dict(zip(("of", "part"), self.date_parts[n], strict=True))
                    if k == DATE_PART else {})}
                for n, k in zip(self.names, self.kinds, strict=True)]

    @classmethod
    def from_json(cls, features: list[dict[str, Any]]) -> FeatureSpec:
        return cls(tuple(f["name"] for f in features), tuple(f["kind"] for f in features),
                   {f["name"]: tuple(f["categories"]) for f in features
                    if f["kind"] == ORDINAL},
                   {f["name"]: DateColumn.from_json(f) for f in features if f["kind"] == DATE},
                   {f["name"]: (f["of"], f["part"]) for f in features
                    if f["kind"] == DATE_PART})

    def csv_dtypes(self) -> dict[str, type]:
        """read_csv dtypes that keep categorical values and dates as written ('01' stays
        '01')."""
        return {name: str for name in self.inputs if name not in self.numeric}


def _is_ordered(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) and bool(column.dtype.ordered)


def with_category_orders(frame: pd.DataFrame, orders: dict[str, list[str]]) -> pd.DataFrame:
    """`frame` with each column named in `orders` as an ordered Categorical of its values as
    text; a value outside its order would silently become missing, so it is refused."""
    out = frame.copy()
    for name, order in orders.items():
        if name not in out.columns:
            continue
        text = out[name].map(str, na_action="ignore")
        unknown = sorted(set(text.dropna()) - set(order))
        if unknown:
            raise InvalidData(f"column {name!r} has value(s) {unknown[:5]} outside its "
                              f"category order {list(order)}")
        out[name] = pd.Categorical(text, categories=list(order), ordered=True)
    return out


def infer_spec(frame: pd.DataFrame, dates: dict[str, DateColumn] | None = None) -> FeatureSpec:
    """Kinds from the training table's column types; ordered Categoricals keep their order;
    the columns in `dates` (date_values.date_columns of the whole table) are dates, and their
    parts follow the table's columns (a part whose name the table already has is left to that
    column)."""
    dates = {str(c): d for c, d in (dates or {}).items() if c in frame.columns}
    kinds = [
        DATE if str(c) in dates else
        BOOLEAN if is_boolean_column(frame[c]) else
        ORDINAL if _is_ordered(frame[c]) else
        NUMERIC if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
            frame[c]) else CATEGORICAL
        for c in frame.columns]
    orders = {str(c): tuple(str(v) for v in frame[c].cat.categories)
              for c in frame.columns if _is_ordered(frame[c])}
    names = [str(c) for c in frame.columns]
    parts = {f"{name} ({part})": (name, part) for name, date in dates.items()
             for part in date.parts if f"{name} ({part})" not in names}
    return FeatureSpec(tuple(names + list(parts)), tuple(kinds + [DATE_PART] * len(parts)),
                       orders, dates, parts)


def _numeric_column(column: pd.Series, name: str, source: str) -> np.ndarray:
    numbers, bad_row = numeric_column(column, MISSING_TOKENS)
    if bad_row is not None:
        raise InvalidData(
            f"{source}: feature {name!r} is numeric but row {bad_row + 1} has "
            f"{shown(column.iloc[bad_row])}; send a finite number or leave the field empty for "
            "a missing value")
    return numbers


def _categorical_column(column: pd.Series) -> np.ndarray:
    """Each value as text without surrounding spaces, as input_tables reads a table's (a
    request's `north ` is the shop `north`); MISSING_CATEGORY where missing."""
    values = column.astype(object).to_numpy()
    texts = np.array([v.strip() if isinstance(v, str) else str(v) for v in values],
                     dtype=object)
    missing = pd.isna(values) | np.array([isinstance(v, str) and t in MISSING_TOKENS
                                          for v, t in zip(values, texts, strict=True)],
                                         dtype=bool)
    texts[missing] = MISSING_CATEGORY
    return texts


def date_column(texts: list[str | None], name: str, date_format: str, source: str) -> np.ndarray:
    """Each date's days since 1970-01-01 (NaN missing: None or a missing token); InvalidData
    names the first value that is not a date in the feature's format."""
    return feature_days(texts, name, date_format, source, MISSING_TOKENS)


def _ordinal_column(column: pd.Series, order: tuple[str, ...]) -> np.ndarray:
    """Each value's rank in `order`; missing and unknown values are NaN."""
    ranks = pd.Index(order).get_indexer(_categorical_column(column)).astype(float)
    ranks[ranks < 0] = np.nan
    return ranks


def coerce(frame: pd.DataFrame, spec: FeatureSpec, source: str) -> pd.DataFrame:
    """The features of `frame` in the model's order and kinds: numbers as floats, categoricals
    as strings, booleans as 1/0, ordinals as ranks, dates as days and their parts; raise
    InvalidData naming the first missing column, non-numeric value, non-boolean or non-date.
    `source` names the input in messages."""
    absent = [n for n in spec.inputs if n not in frame.columns]
    if absent:
        raise InvalidData(f"{source} lacks feature column(s) {absent}; expected "
                          f"{spec.inputs}")
    columns = {}
    for name, kind in zip(spec.names, spec.kinds, strict=True):
        if kind == NUMERIC:
            columns[name] = _numeric_column(frame[name], name, source)
        elif kind == ORDINAL:
            columns[name] = _ordinal_column(frame[name], spec.orders[name])
        elif kind == BOOLEAN:
            columns[name] = boolean_feature(frame[name].astype(object).to_list(), name, source,
                                            MISSING_TOKENS)
        elif kind == DATE:
            columns[name] = date_column(text_cells(frame[name]), name,
                                        spec.dates[name].format, source)
        elif kind == DATE_PART:
            date, part = spec.date_parts[name]
            columns[name] = calendar_parts(columns[date], [part])[part]
        else:
            columns[name] = _categorical_column(frame[name])
    return pd.DataFrame(columns, index=range(len(frame)))


def split_target(table: pd.DataFrame, target: str,
                 source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a split; the target column must be there, and a feature."""
    if target not in table.columns:
        raise InvalidData(f"{source} has no target column {target!r}; columns found: "
                          f"{', '.join(map(str, table.columns))}")
    features = table.drop(columns=[target])
    if features.shape[1] == 0:
        raise InvalidData(f"{source} has only the target column {target!r}: no features")
    return features, table[target]
