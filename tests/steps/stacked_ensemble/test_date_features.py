"""A date column read as days since 1970-01-01 and its calendar parts: the model follows a trend
over dates it never saw (as categories it could not) and a weekend effect (days alone could
not), saves the format, serves requests' dates read the same way on the fast path as on the
reference path, and refuses a date in another format by name."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steps.common import InvalidRequest
from steps.common.date_values import DateColumn, date_columns
from steps.stacked_ensemble import ensemble, inference
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import MISSING_TOKENS, coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.served_ensemble import ServedEnsemble
from steps.stacked_ensemble.task import Task
from tests.hostile_inputs import SLOW
from tests.steps.stacked_ensemble.test_served_ensemble import _csv_body, assert_same_outcome

SETTINGS = LearnerSettings(num_round=60, catboost_iterations=60)
DATE_FORMAT = "%d/%m/%Y"
START = pd.Timestamp("2020-01-01")


def _sales(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Orders over three years whose units grow with the date and rise by 8 at weekends, with a
    gap in each column."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 1100, n)
    dates = START + pd.to_timedelta(day, unit="D")
    frame = pd.DataFrame({"ordered": dates.strftime(DATE_FORMAT),
                          "price": rng.uniform(1.0, 5.0, n)})
    units = (day / 20.0 - 3.0 * frame["price"].to_numpy() + 8.0 * (dates.day_of_week >= 5)
             + rng.normal(0.0, 1.0, n))
    frame.loc[rng.choice(n, n // 25, replace=False), "ordered"] = None
    frame.loc[rng.choice(n, n // 25, replace=False), "price"] = np.nan
    return frame, units


def _fitted(frame: pd.DataFrame, units: np.ndarray, dates: dict[str, DateColumn]):
    spec = infer_spec(frame, dates)
    return fit_ensemble(coerce(frame, spec, "t"), units, spec, Task("regression"), SETTINGS,
                        k_fold=3), spec


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> ServedEnsemble:
    frame, units = _sales(400, seed=1)
    trained, spec = _fitted(frame, units, date_columns(frame))
    folder = tmp_path_factory.mktemp("model")
    ensemble.save(folder, trained, {"target": "units", **Task("regression").to_json(),
                                    "features": spec.to_json(),
                                    "hyperparameters": SETTINGS.to_json()})
    return inference.model_fn(str(folder))


def test_the_format_and_parts_are_saved_with_the_model(dated):
    assert dated.spec.to_json() == [
        {"name": "ordered", "kind": "date", "format": DATE_FORMAT,
         "parts": ["weekday", "month"]},
        {"name": "price", "kind": "numeric"},
        {"name": "ordered (weekday)", "kind": "date part", "of": "ordered", "part": "weekday"},
        {"name": "ordered (month)", "kind": "date part", "of": "ordered", "part": "month"}]
    assert dated.spec.inputs == ["ordered", "price"]


def test_dates_the_model_never_saw_follow_the_trend_that_categories_miss():
    frame, units = _sales(600, seed=2)
    new_frame, new_units = _sales(300, seed=3)  # mostly days the training rows lack
    known = ~new_frame["ordered"].isin(set(frame["ordered"].dropna())) & \
        new_frame["ordered"].notna()
    assert known.mean() > 0.4

    def rmse(dates: dict[str, DateColumn]) -> float:
        trained, spec = _fitted(frame, units, dates)
        model = Ensemble(spec, Task("regression"), trained.learners, trained.combiner_params,
                         trained.chosen, {})
        predicted = model.predict(coerce(new_frame[known], spec, "new"))
        return float(np.sqrt(np.mean((predicted - new_units[known.to_numpy()]) ** 2)))

    as_dates, as_days, as_categories = (rmse(date_columns(frame)),
                                        rmse({"ordered": DateColumn(DATE_FORMAT)}), rmse({}))
    assert as_dates < 0.2 * np.std(new_units)  # the trend spans ~55 units, the noise is 1
    assert as_dates < 0.4 * as_categories
    assert as_dates < 0.6 * as_days  # the weekend's 8 units are in no day count


def test_a_request_date_in_another_format_is_refused_naming_the_format(dated):
    body = json.dumps({"instances": [{"ordered": "01/02/2022", "price": 2.0},
                                     {"ordered": "2022-02-01", "price": 2.0}]})
    with pytest.raises(InvalidRequest) as info:
        inference.predict_fn(inference.input_fn(body, "application/json"), dated)
    assert str(info.value) == (
        "request: feature 'ordered' is a date but row 2 has '2022-02-01'; send a date written "
        "as the training data's were (e.g. '04/03/2021') or leave the field empty for a "
        "missing value")


def test_a_later_date_and_a_weekend_predict_more(dated):
    body = _csv_body([["05/02/2020", "2.0"], ["02/02/2022", "2.0"], ["05/02/2022", "2.0"],
                      ["", "2.0"]])  # Wednesday, two years on, that Saturday
    predicted = dated.serve(inference.read_features(inference.input_fn(body, "text/csv"),
                                                    dated))
    assert predicted[1] - predicted[0] > 20  # ~730 days / 20
    assert predicted[2] - predicted[1] > 4  # the weekend's 8
    assert np.isfinite(predicted[3])


def test_a_request_naming_a_date_part_is_refused(dated):
    body = json.dumps({"instances": [{"ordered": "01/02/2022", "ordered (weekday)": 5}]})
    with pytest.raises(InvalidRequest, match=r"unknown feature name\(s\) \['ordered \(weekday\)'\]"):
        inference.predict_fn(inference.input_fn(body, "application/json"), dated)


dates = (st.dates(min_value=START.date(), max_value=pd.Timestamp("2024-12-31").date())
         .map(lambda d: d.strftime(DATE_FORMAT))
         | st.sampled_from(["2021-03-04", "31/02/2021", "1/2/2021", " 04/03/2021", "soon", "0",
                            "04/03/21"])
         | st.sampled_from(sorted(MISSING_TOKENS)))
prices = st.sampled_from(["1.5", "", "NA", "abc", "4"])


@SLOW
@given(rows=st.lists(st.tuples(dates, prices).map(list), min_size=1, max_size=6),
       bulk=st.booleans(), records=st.booleans())
def test_generated_requests_with_dates(dated, rows, bulk, records):
    rows = rows * (200 // len(rows) + 1) if bulk else rows
    assert_same_outcome(_csv_body(rows, ["ordered", "price"]), "text/csv", dated)
    instances = ([{"ordered": d, "price": p} for d, p in rows] if records else rows)
    assert_same_outcome(json.dumps({"instances": instances}), "application/json", dated)
