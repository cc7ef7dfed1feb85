"""A segment's features and its scikit-learn preprocessing model.

A feature is numeric when pandas reads its training column as numbers, boolean when it reads
true/false (steps/common/booleans.py: 1 or 0; a request's `true`, `TRUE`, JSON true alike), a
date when preprocessing found every value of its text column, in the whole table, written in
one date format (steps/common/date_values.py: read as days since 1970-01-01, the format saved
with the model and used on requests), categorical otherwise. The preprocessor is a
ColumnTransformer: StandardScaler for numerics, booleans and dates' days (missing values stay
missing; XGBoost handles them) and a one-hot encoder for categoricals.
A missing categorical value is a category of its own (MISSING_CATEGORY), learnt where the
training rows have gaps. A value the training rows never had (a new shop, a date, a missing one
where training had none) is all zeros, as the encoder's handle_unknown='ignore' does: as for the
stacked ensemble, a segment's model predicts for it rather than refusing the row, and a
category that only the validation or test rows hold cannot stop a training job.

Serving compiles the fitted preprocessor into `CompiledPreprocessor` (plain numpy on request
rows): scikit-learn's transform and the pandas objects `coerce` builds cost milliseconds per
request, most of it input checking; the compiled form gives the same numbers in microseconds.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steps.common.booleans import boolean_feature, boolean_number, is_boolean_column
from steps.common.date_values import DateColumn, calendar_parts, feature_days, text_cells
from steps.common.errors import InvalidData
from steps.common.input_tables import PANDAS_MISSING_TOKENS
from steps.common.numbers import numeric_column, shown
from steps.common.xgboost_names import xgboost_feature_names

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
DATE = "date"
DATE_PART = "date part"
MISSING_CATEGORY = ""  # a gap in a categorical column, as the encoder learns and reads it
_SHOWN = 12  # names or values quoted in a message before "..."


@dataclass(frozen=True)
class Feature:
    """A model input column (numeric, boolean, date, categorical with its learnt categories)
    or a date part computed from date feature `of` (never sent by a request)."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    date_format: str = ""
    of: str = ""
    part: str = ""

    def to_json(self) -> dict:
        out: dict = {"name": self.name, "kind": self.kind}
        if self.kind == CATEGORICAL:
            out["categories"] = list(self.categories)
        if self.kind == DATE:
            out["format"] = self.date_format
        if self.kind == DATE_PART:
            out.update({"of": self.of, "part": self.part})
        return out

    @classmethod
    def from_json(cls, document: dict) -> Feature:
        return cls(document["name"], document["kind"], tuple(document.get("categories", ())),
                   document.get("format", ""), document.get("of", ""), document.get("part", ""))


def _listed(values: list | tuple) -> str:
    shown = ", ".join(map(str, values[:_SHOWN]))
    return shown + (", ..." if len(values) > _SHOWN else "")


def inputs(features: list[Feature]) -> list[Feature]:
    """The features a table or a request gives: all but the date parts."""
    return [f for f in features if f.kind != DATE_PART]


def infer_features(frame: pd.DataFrame, dates: dict[str, DateColumn]) -> list[Feature]:
    """A training table's features in order: its columns by type (`dates`: the date columns
    found in the whole table; categoricals without categories until fitted), then each date's
    parts (a part whose name the table already has is left to that column)."""
    features = [Feature(str(c), DATE, date_format=dates[str(c)].format) if str(c) in dates
                else Feature(str(c), BOOLEAN) if is_boolean_column(frame[c])
                else Feature(str(c), NUMERIC) if pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c]) else Feature(str(c), CATEGORICAL)
                for c in frame.columns]
    names = {f.name for f in features}
    return features + [Feature(f"{name} ({part})", DATE_PART, of=name, part=part)
                       for name, date in dates.items() for part in date.parts
                       if f"{name} ({part})" not in names]


def build_preprocessor(features: list[Feature]) -> ColumnTransformer:
    """The unfitted ColumnTransformer for these features (in that order)."""
    numeric = [f.name for f in features if f.kind != CATEGORICAL]
    categorical = [f.name for f in features if f.kind == CATEGORICAL]
    return ColumnTransformer(
        [("numeric", StandardScaler(), numeric),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                       dtype=np.float64), categorical)],
        remainder="drop", verbose_feature_names_out=True)


def fit_preprocessor(frame: pd.DataFrame, dates: dict[str, DateColumn] | None = None
                     ) -> tuple[ColumnTransformer, list[Feature]]:
    """Fit on training features only; returns the transformer and the feature list.
    `dates`: date_values.date_columns of the whole table, so every segment and split reads a
    date column alike (none: no dates)."""
    planned = infer_features(frame, dates or {})
    preprocessor = build_preprocessor(planned).fit(coerce_training(frame, planned))
    encoder = preprocessor.named_transformers_["categorical"]
    categorical = [f.name for f in planned if f.kind == CATEGORICAL]
    learnt = dict(zip(categorical, getattr(encoder, "categories_", []), strict=False))
    return preprocessor, [replace(f, categories=tuple(str(v) for v in learnt[f.name]))
                          if f.name in learnt else f for f in planned]


def coerce_training(frame: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """Training columns as the preprocessor sees them: floats (dates as days, and their
    parts), or strings (MISSING_CATEGORY for a gap)."""
    out = {f.name: frame[f.name].to_numpy(dtype=float) if f.kind == NUMERIC
           else _dates(frame[f.name], f, "training rows") if f.kind == DATE
           else _booleans(frame[f.name], f, "training rows") if f.kind == BOOLEAN
           else _categorical(frame[f.name]) for f in inputs(features)}
    return pd.DataFrame(_with_parts(out, features), index=range(len(frame)))


def _with_parts(columns: dict[str, np.ndarray], features: list[Feature]
                ) -> dict[str, np.ndarray]:
    """The input columns, then the date parts computed from their dates' days."""
    return {**columns, **{f.name: calendar_parts(columns[f.of], [f.part])[f.part]
                          for f in features if f.kind == DATE_PART}}


def _numeric(column: pd.Series, name: str, source: str) -> np.ndarray:
    numbers, bad_row = numeric_column(column)
    if bad_row is not None:
        raise InvalidData(f"{source}: feature {name!r} is numeric but row {bad_row + 1} has "
                          f"{shown(column.iloc[bad_row])}; send a finite number (or nothing, "
                          "for missing)")
    return numbers


def _dates(column: pd.Series, feature: Feature, source: str) -> np.ndarray:
    return feature_days(text_cells(column), feature.name, feature.date_format, source)


def _booleans(column: pd.Series, feature: Feature, source: str) -> np.ndarray:
    return boolean_feature(column.astype(object).to_list(), feature.name, source)


def _categorical(column: pd.Series) -> np.ndarray:
    """Each value as text without surrounding spaces, as input_tables reads a table's;
    MISSING_CATEGORY for a gap (or a missing marker, as pandas reads one)."""
    values = column.astype(object).to_numpy()
    return np.array([MISSING_CATEGORY if v is None or (isinstance(v, float) and np.isnan(v))
                     else _text(v) for v in values], dtype=object)


def _text(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else str(value)
    return MISSING_CATEGORY if text in PANDAS_MISSING_TOKENS else text


def coerce(frame: pd.DataFrame, features: list[Feature], source: str) -> pd.DataFrame:
    """The model's features from `frame`, in order and kind; InvalidData names the first
    absent column or non-numeric value. Other columns are not read."""
    absent = [f.name for f in inputs(features) if f.name not in frame.columns]
    if absent:
        raise InvalidData(f"{source} lacks feature(s) {absent}; the model's features are "
                          f"{_listed([f.name for f in inputs(features)])}")
    columns = {f.name: _numeric(frame[f.name], f.name, source) if f.kind == NUMERIC
               else _dates(frame[f.name], f, source) if f.kind == DATE
               else _booleans(frame[f.name], f, source) if f.kind == BOOLEAN
               else _categorical(frame[f.name]) for f in inputs(features)}
    return pd.DataFrame(_with_parts(columns, features), index=range(len(frame)))


def feature_names_out(preprocessor: ColumnTransformer) -> list[str]:
    """The transformed columns' names ('numeric__square_feet', 'categorical__deck_yes') as
    the booster knows them (see xgboost_names)."""
    return xgboost_feature_names([str(n) for n in preprocessor.get_feature_names_out()])


def csv_dtypes(features: list[Feature]) -> dict[str, type]:
    """read_csv dtypes that keep categorical values and dates as written ('01' stays '01')."""
    return {f.name: str for f in features if f.kind in (CATEGORICAL, DATE)}


# Text `coerce` reads as a number, and how: an integer pandas parses as an int (so '-0' is 0.0,
# not -0.0), any other decimal with float(). Anything else (hex, '1_000', 'nan', non-ASCII
# digits) is left to `coerce`, which accepts or refuses it.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(value: Any) -> float | None:
    """The float `coerce` makes of a numeric cell, or None when only `coerce` can tell (it
    refuses what is not a finite number)."""
    kind = type(value)
    if value is None:
        return math.nan
    number = None
    try:
        if kind is float or kind is int:
            number = float(value)
        elif kind is str:
            text = value.strip()
            if not text:
                return math.nan
            if _INTEGER.fullmatch(text) or _DECIMAL.fullmatch(text):
                number = float(text)
    except (OverflowError, ValueError):  # beyond float, or int's digit limit
        return None
    if number is None or math.isinf(number):
        return None
    return number


def _date(value: Any, feature: Feature) -> float | None:
    """The days `coerce` makes of a date cell, or None when only `coerce` can tell (it refuses
    what is not a date in the feature's format)."""
    if value is not None and type(value) is not str:
        return None
    try:
        return float(feature_days([value], feature.name, feature.date_format, "request")[0])
    except InvalidData:
        return None


def _boolean(value: Any) -> float | None:
    """The 1/0 (NaN missing) `coerce` makes of a boolean cell, or None when it refuses it."""
    if value is None or (type(value) is str and not value.strip()):
        return math.nan
    return boolean_number(value)


def _category(value: Any) -> str | None:
    """The text `coerce` makes of a categorical cell (None: missing or an unusual type)."""
    kind = type(value)
    if kind is str or ((kind is int or kind is float) and value == value):
        return _text(value)
    return None


@dataclass(frozen=True, eq=False)
class CompiledPreprocessor:
    """A fitted `build_preprocessor` transformer as plain numpy, for request rows.

    `read` coerces rows as `coerce` does (or returns None so the caller runs `coerce` and its
    messages); `transform` does the scaler's float64 subtract-then-divide and the encoder's
    one-hot, so its output equals ColumnTransformer.transform's bit for bit.
    """

    features: tuple[Feature, ...]
    width: int                            # transformed columns
    scaled: tuple[int, ...]               # feature positions the scaler reads, in its order
    scaled_out: slice                     # where its output goes
    mean: np.ndarray
    scale: np.ndarray
    encoded: tuple[tuple[int, dict[str, int]], ...]  # (feature position, {category: column})

    def read(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list] | None:
        """Rows of cells under `names` -> rows of the features in order (floats with NaN for
        missing, category strings), exactly as `coerce` reads them; None when any cell is one
        `coerce` would refuse or that needs its full parsing (an absent feature, a missing
        category, an odd type or number format)."""
        index = {name: column for column, name in enumerate(names)}
        given = inputs(list(self.features))
        try:
            columns = [index[f.name] for f in given]
        except KeyError:
            return None
        position = {f.name: p for p, f in enumerate(self.features)}
        parts = [(position[f.of], f.part) for f in self.features if f.kind == DATE_PART]
        out = []
        for row in rows:
            values = []
            for column, feature in zip(columns, given, strict=True):
                cell = row[column]
                value = (_category(cell) if feature.kind == CATEGORICAL else
                         _date(cell, feature) if feature.kind == DATE else
                         _boolean(cell) if feature.kind == BOOLEAN else _number(cell))
                if value is None:
                    return None
                values.append(value)
            for date, part in parts:  # after the inputs, as in the feature list
                values.append(float(calendar_parts(np.array([values[date]]), [part])[part][0]))
            out.append(values)
        return out

    def transform(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """Coerced rows (features in order) -> the float32 matrix the booster takes. A category
        the encoder never saw gives all zeros, as its handle_unknown='ignore' does."""
        out = np.zeros((len(rows), self.width), dtype=np.float64)
        if self.scaled:
            numbers = np.array([[row[p] for p in self.scaled] for row in rows], dtype=np.float64)
            numbers -= self.mean
            numbers /= self.scale
            out[:, self.scaled_out] = numbers
        for position, columns in self.encoded:
            for number, row in enumerate(rows):
                column = columns.get(row[position])
                if column is not None:
                    out[number, column] = 1.0
        return out.astype(np.float32)


def _unsupported(name: str, part: Any) -> InvalidData:
    return InvalidData(f"the preprocessor's {name!r} step is a {type(part).__name__}; serving supports only "
                       f"what build_preprocessor makes (StandardScaler, OneHotEncoder ignoring "
                       f"unknown values, without drop or infrequent categories): re-run the preprocess job")


def compile_preprocessor(preprocessor: ColumnTransformer,
                         features: list[Feature]) -> CompiledPreprocessor:
    """The fitted transformer's arithmetic, read from its fitted attributes; InvalidData for a
    step `build_preprocessor` does not make."""
    position = {f.name: p for p, f in enumerate(features)}
    scaled: tuple[int, ...] = ()
    scaled_out, mean, scale = slice(0, 0), np.zeros(0), np.ones(0)
    encoded = []
    for name, part, columns in preprocessor.transformers_:
        out = preprocessor.output_indices_[name]
        if part == "drop" or out.stop == out.start:
            continue
        if not all(isinstance(c, str) and c in position for c in columns):
            raise InvalidData(f"the preprocessor's {name!r} step reads columns {columns!r}; "
                              f"the model's features are {_listed(list(position))}")
        if isinstance(part, StandardScaler):
            scaled, scaled_out = tuple(position[c] for c in columns), out
            mean = part.mean_ if part.with_mean else np.zeros(len(columns))
            scale = part.scale_ if part.with_std else np.ones(len(columns))
        elif isinstance(part, OneHotEncoder) and part.handle_unknown == "ignore" \
                and part.drop is None and part.min_frequency is None \
                and part.max_categories is None:
            start = out.start
            for column, categories in zip(columns, part.categories_, strict=True):
                encoded.append((position[column],
                                {str(c): start + i for i, c in enumerate(categories)}))
                start += len(categories)
        else:
            raise _unsupported(name, part)
    return CompiledPreprocessor(tuple(features), len(feature_names_out(preprocessor)), scaled,
                                scaled_out, np.asarray(mean, dtype=np.float64),
                                np.asarray(scale, dtype=np.float64), tuple(encoded))
