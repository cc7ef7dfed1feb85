"""Feature kinds, the preprocessor and the checks on values (no scripts involved)."""
from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from steps.common.date_values import DateColumn, date_columns
from steps.common.errors import InvalidData, InvalidRequest
from steps.multi_model import inference, model
from steps.multi_model.features import (
    BOOLEAN,
    CATEGORICAL,
    DATE,
    DATE_PART,
    NUMERIC,
    Feature,
    coerce,
    compile_preprocessor,
    feature_names_out,
    fit_preprocessor,
)


@pytest.mark.parametrize("frame, names", [
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2, 3, 5]}), ["numeric__a", "numeric__b"]),
    (pd.DataFrame({"c": ["x", "y", "x"]}), ["categorical__c_x", "categorical__c_y"]),
])
def test_only_numeric_or_only_categorical_features(frame, names):
    preprocessor, features = fit_preprocessor(frame)
    assert feature_names_out(preprocessor) == names
    assert preprocessor.transform(coerce(frame, features, "t")).shape == (3, len(names))


def test_kinds_and_categories_come_from_the_training_rows():
    frame = pd.DataFrame({"n": [1, 2], "flag": [True, False], "c": ["b", "a"]})
    _, features = fit_preprocessor(frame)
    assert features == [Feature("n", NUMERIC), Feature("flag", BOOLEAN),
                        Feature("c", CATEGORICAL, ("a", "b"))]


def test_numeric_text_is_parsed_and_blanks_are_missing():
    features = [Feature("n", NUMERIC)]
    frame = pd.DataFrame({"n": [" 2800 ", "", None, 3]}, dtype=object)
    np.testing.assert_array_equal(coerce(frame, features, "req")["n"],
                                  [2800.0, np.nan, np.nan, 3.0])


@pytest.mark.parametrize("value, message", [
    (True, "req: feature 'n' is numeric but row 1 has True"),
    ("1,5", "req: feature 'n' is numeric but row 1 has '1,5'"),
    (10 ** 400, r"req: feature 'n' is numeric but row 1 has 10000000000000000000\.\.\.\(401 "
                r"characters\); send a finite number"),
    ("1e400", "req: feature 'n' is numeric but row 1 has '1e400'"),
    (float("inf"), "req: feature 'n' is numeric but row 1 has inf"),
    ("nan", "req: feature 'n' is numeric but row 1 has 'nan'"),
])
def test_bad_numbers_are_named(value, message):
    with pytest.raises(InvalidData, match=message):
        coerce(pd.DataFrame({"n": [value]}, dtype=object), [Feature("n", NUMERIC)], "req")


def test_infinity_in_a_numeric_column_is_named():
    frame = pd.DataFrame({"n": [1.0, np.inf]})
    with pytest.raises(InvalidData, match="req: feature 'n' is numeric but row 2 has inf"):
        coerce(frame, [Feature("n", NUMERIC)], "req")


def test_a_long_feature_list_is_shortened_in_messages():
    features = [Feature(f"f{i:02d}", NUMERIC) for i in range(20)]
    with pytest.raises(InvalidData, match=r"features are f00, f01, .*, f11, \.\.\.$"):
        coerce(pd.DataFrame({"f00": [1.0]}), features, "req")


def test_a_gap_in_a_training_category_is_a_category_and_new_values_are_unseen():
    """Users' tables have gaps, and a value may reach only the validation rows (a date, a new
    shop): neither may stop a segment's training."""
    preprocessor, features = fit_preprocessor(pd.DataFrame({"shop": ["a", None, "b", "a"]}))
    assert features == [Feature("shop", CATEGORICAL, ("", "a", "b"))]
    rows = coerce(pd.DataFrame({"shop": [None, "c", "a"]}), features, "validation split")
    assert rows["shop"].tolist() == ["", "c", "a"]
    np.testing.assert_array_equal(preprocessor.transform(rows),
                                  [[1, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_a_date_column_is_days_in_every_split_and_a_date_in_another_format_is_refused():
    """A sale's date as a category told the model nothing about a day it had not seen."""
    preprocessor, features = fit_preprocessor(
        pd.DataFrame({"sold": ["04/03/2021", None, "25/12/2020"], "rooms": [3.0, 4.0, 2.0]}),
        {"sold": DateColumn("%d/%m/%Y", ("weekday",))})
    assert features == [Feature("sold", DATE, (), "%d/%m/%Y"), Feature("rooms", NUMERIC),
                        Feature("sold (weekday)", DATE_PART, of="sold", part="weekday")]
    assert [Feature.from_json(f.to_json()) for f in features] == features
    assert features[0].to_json() == {"name": "sold", "kind": "date", "format": "%d/%m/%Y"}
    assert features[2].to_json() == {"name": "sold (weekday)", "kind": "date part",
                                     "of": "sold", "part": "weekday"}
    rows = coerce(pd.DataFrame({"sold": ["01/01/2022", "", None], "rooms": [1.0] * 3}),
                  features, "test split")
    assert rows["sold"].iloc[0] == 18993.0 and rows["sold"].iloc[1:].isna().all()
    assert rows["sold (weekday)"].iloc[0] == 5.0  # a Saturday
    assert rows["sold (weekday)"].iloc[1:].isna().all()
    scaled = preprocessor.transform(rows)[:, 0]
    assert scaled[0] > 1.0  # a later day than any training day, scaled as a number
    with pytest.raises(InvalidData, match=r"^request: feature 'sold' is a date but row 1 has "
                                          r"'2022-01-01'; send a date written as the training "
                                          r"data's were \(e.g. '04/03/2021'\)"):
        coerce(pd.DataFrame({"sold": ["2022-01-01"], "rooms": [1.0]}), features, "request")


def test_column_names_xgboost_refuses_become_a_booster_that_saves_and_loads(tmp_path):
    """A segment's `size [m²]` and a category `<18` stopped its training job in XGBoost."""
    frame = pd.DataFrame({"size [m²]": [50.0, 80.0, 120.0, 65.0],
                          "age": ["<18", "18-65", "<18", ">65"]})
    preprocessor, features = fit_preprocessor(frame)
    assert feature_names_out(preprocessor) == [
        "numeric__size (m²)", "categorical__age_18-65", "categorical__age_\u203918",
        "categorical__age_>65"]
    booster = xgb.train({"max_depth": 2}, model.to_dmatrix(preprocessor, frame,
                                                           np.array([1.0, 2.0, 3.0, 1.5])), 5)
    joblib.dump(preprocessor, tmp_path / "preprocessor.joblib")
    model.save(tmp_path / "model", tmp_path / "preprocessor.joblib", booster,
               {"features": [f.to_json() for f in features]})
    loaded = model.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(frame), booster.predict(
        model.to_dmatrix(preprocessor, frame)), rtol=1e-6)


def test_a_saved_model_with_a_date_serves_requests_that_send_the_date_only(tmp_path):
    frame = pd.DataFrame({"sold": ["04/01/2021", "13/02/2021", "20/03/2021", "02/04/2021"],
                          "rooms": [3.0, 4.0, 2.0, 5.0]})
    preprocessor, features = fit_preprocessor(frame, date_columns(frame))
    booster = xgb.train({"max_depth": 2}, model.to_dmatrix(
        preprocessor, coerce(frame, features, "t"), np.array([1.0, 2.0, 3.0, 1.5])), 5)
    joblib.dump(preprocessor, tmp_path / "preprocessor.joblib")
    model.save(tmp_path / "model", tmp_path / "preprocessor.joblib", booster,
               {"features": [f.to_json() for f in features], "segment": "Old Town"})
    loaded = model.load(tmp_path / "model")
    request = inference.input_fn(json.dumps({"instances": [
        {"sold": "20/03/2021", "rooms": 2}, {"sold": None, "rooms": 4}]}), "application/json")
    assert len(inference.predict_fn(request, loaded).values) == 2
    naming_a_part = inference.input_fn(json.dumps([{"sold": "20/03/2021",
                                                    "sold (month)": 3}]), "application/json")
    with pytest.raises(InvalidRequest, match=r"unknown feature name\(s\) \['sold \(month\)'\]; "
                                             r"the model's features are sold, rooms$"):
        inference.predict_fn(naming_a_part, loaded)


def test_a_true_false_column_is_a_boolean_feature_read_in_every_spelling():
    """pandas read the file's `true` as True; as a category, a request's `true` was unseen."""
    frame = pd.read_csv(io.StringIO("deck,rooms\ntrue,3\nfalse,4\n,2\nTRUE,5\n"))
    preprocessor, features = fit_preprocessor(frame)
    assert features == [Feature("deck", BOOLEAN), Feature("rooms", NUMERIC)]
    compiled = compile_preprocessor(preprocessor, features)
    cells = [["true", "1"], [True, "1"], ["1", "1"], [1, "1"], ["False", "1"], ["", "1"],
             [None, "1"]]
    fast = compiled.read(["deck", "rooms"], cells)
    slow = coerce(pd.DataFrame(cells, columns=["deck", "rooms"], dtype=object), features, "r")
    np.testing.assert_array_equal(np.array(fast, dtype=float), slow.to_numpy(dtype=float))
    np.testing.assert_array_equal(slow["deck"], [1, 1, 1, 1, 0, np.nan, np.nan])
    assert compiled.read(["deck", "rooms"], [["yes", "1"]]) is None  # coerce refuses it:
    with pytest.raises(InvalidData, match="feature 'deck' is true/false but row 1 has 'yes'"):
        coerce(pd.DataFrame({"deck": ["yes"], "rooms": [1]}), features, "request")


def test_spaces_around_a_category_are_trimmed_in_requests_as_in_the_table():
    preprocessor, features = fit_preprocessor(pd.DataFrame({"shop": ["north", "south", None]}))
    compiled = compile_preprocessor(preprocessor, features)
    cells = [["north "], [" north"], ["  "], [" NA"]]  # (None: read() leaves it to coerce)
    fast = compiled.read(["shop"], cells)
    slow = coerce(pd.DataFrame(cells, columns=["shop"], dtype=object), features, "r")
    assert [row[0] for row in fast] == slow["shop"].tolist() == ["north", "north", "", ""]
