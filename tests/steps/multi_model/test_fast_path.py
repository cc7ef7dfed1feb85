"""The serving fast path (CompiledPreprocessor + inplace_predict) against the reference path
(coerce, ColumnTransformer.transform, a named DMatrix): same values, same refusals."""
from __future__ import annotations

import json
import re
import shutil

import joblib
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steps.common.date_values import DateColumn, date_columns
from steps.common.errors import InvalidData
from steps.multi_model import contract, inference
from steps.multi_model.features import (
    CATEGORICAL,
    DATE,
    NUMERIC,
    Feature,
    coerce,
    compile_preprocessor,
    fit_preprocessor,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model(pipeline_run):
    return inference.model_fn(str(pipeline_run.model_dir("chicago")))


@pytest.fixture(scope="module")
def houses(pipeline_run) -> pd.DataFrame:
    """Every Chicago row (train, validation, test: 200), a tenth of the numbers blanked."""
    folder = pipeline_run.segment_dir("chicago")
    frame = pd.concat([pd.read_csv(folder / name) for name in contract.SPLIT_FILES.values()],
                      ignore_index=True).drop(columns=["price"])
    rng = np.random.default_rng(3)
    for name in ("lot_acres", "garage_spaces", "year_built"):
        frame.loc[rng.random(len(frame)) < 0.1, name] = np.nan
    return frame


def reference(model, frame: pd.DataFrame) -> np.ndarray:
    x = model.preprocessor.transform(coerce(frame, model.features, "test"))
    return model.booster.predict(xgb.DMatrix(x.astype(np.float32), missing=np.nan,
                                             feature_names=list(model.booster.feature_names)))


class TestSamePredictions:
    def test_json_requests_match_the_scikit_learn_and_dmatrix_path(self, model, houses):
        instances = json.loads(houses.to_json(orient="records"))
        data = inference.input_fn(json.dumps({"instances": instances}), "application/json")
        assert model.compiled.read(data.names, data.rows) is not None  # no pandas fallback
        answer = inference.predict_fn(data, model)
        assert len(answer.values) == len(houses) > 150
        assert np.isnan(houses["lot_acres"]).sum() > 5
        np.testing.assert_allclose(answer.values, reference(model, houses), rtol=1e-6)

    def test_csv_text_cells_match_too(self, model, houses):
        data = inference.input_fn(houses.to_csv(index=False), "text/csv")
        assert model.compiled.read(data.names, data.rows) is not None
        np.testing.assert_allclose(inference.predict_fn(data, model).values,
                                   reference(model, houses), rtol=1e-6)

    def test_transform_equals_the_column_transformer_with_unknowns_and_gaps(self, model,
                                                                            houses):
        frame = coerce(houses, model.features, "test")
        frame.loc[::7, "deck"] = "maybe"  # unseen: all zeros under handle_unknown='ignore'
        frame.loc[::5, "square_feet"] = np.nan
        rows = frame[[f.name for f in model.features]].to_numpy(dtype=object).tolist()
        fast = model.compiled.transform(rows)
        slow = np.asarray(model.preprocessor.transform(frame), dtype=np.float32)
        np.testing.assert_array_equal(fast, slow)
        assert fast[::7, 6:8].sum() == 0 < fast[:, 6:8].sum()  # deck_no, deck_yes
        np.testing.assert_allclose(model.booster.inplace_predict(fast), model.booster.predict(
            xgb.DMatrix(slow, feature_names=list(model.booster.feature_names))), rtol=1e-6)


# Cells read without pandas, then cells left to coerce (it refuses most of them).
NUMBERS = [2800, 2.5, -3, 2**60, 1e308, None, float("nan"), " 2800 ", "", "  ", "-0", "-0.0",
           "+5", ".5", "5.", "1e3", "1E-400", "12345678901234567890", "0.1000000000000000055511"]
ODD_NUMBERS = ["big", "1,5", "nan", "inf", float("inf"), "1e400", 10**400,
               "0x10", "1_000", "\u0661\u0662", "True", True, [1]]
CATEGORIES = ["yes", "no", 3, "yes ", "maybe", "", "True", 3.5]  # unseen ones included
ODD_CATEGORIES = [None, True, float("nan")]
DATES = ["04/03/2021", "31/12/1999", " 04/03/2021", "", None]
ODD_DATES = ["2021-03-04", "31/02/2021", "soon", 20210304, True]  # refused, or left to coerce


class TestReadsCellsAsCoerceDoes:
    """read() gives coerce's value, or None (so coerce runs); never accepts what it refuses."""

    @pytest.mark.parametrize("cell", NUMBERS, ids=repr)
    def test_numbers(self, cell):
        assert self.check(Feature("n", NUMERIC), cell) is not None

    @pytest.mark.parametrize("cell", ODD_NUMBERS, ids=repr)
    def test_odd_numbers_are_left_to_coerce(self, cell):
        assert self.check(Feature("n", NUMERIC), cell) is None

    @pytest.mark.parametrize("cell", CATEGORIES, ids=repr)
    def test_categories(self, cell):
        assert self.check(Feature("c", CATEGORICAL, ("3", "no", "yes")), cell) is not None

    @pytest.mark.parametrize("cell", ODD_CATEGORIES, ids=repr)
    def test_odd_categories_are_left_to_coerce(self, cell):
        assert self.check(Feature("c", CATEGORICAL, ("3", "no", "yes")), cell) is None

    @pytest.mark.parametrize("cell", DATES, ids=repr)
    def test_dates(self, cell):
        assert self.check(Feature("d", DATE, date_format="%d/%m/%Y"), cell) is not None

    @pytest.mark.parametrize("cell", ODD_DATES, ids=repr)
    def test_odd_dates_are_left_to_coerce(self, cell):
        assert self.check(Feature("d", DATE, date_format="%d/%m/%Y"), cell) is None

    @staticmethod
    def check(feature, cell):
        """read()'s rows for one cell, after checking them against coerce's answer."""
        frame = pd.DataFrame({"n": [1.0, 2.0], "c": ["no", "yes"],
                              "d": ["01/02/2021", "13/04/2021"]})
        preprocessor, _ = fit_preprocessor(frame[[feature.name]],
                                           {"d": DateColumn(feature.date_format)}
                                           if feature.date_format else None)
        compiled = compile_preprocessor(preprocessor, [feature])
        fast = compiled.read([feature.name], [[cell]])
        try:
            slow = coerce(pd.DataFrame({feature.name: [cell]}, dtype=object), [feature],
                          "r")[feature.name].iloc[0]
        except InvalidData:
            assert fast is None
            return None
        if fast is not None:
            value = fast[0][0]
            assert value == slow or (value != value and slow != slow)
            if feature.kind == NUMERIC and value == 0:
                assert np.signbit(value) == np.signbit(slow)
        return fast

    def test_a_date_and_its_parts_read_and_transform_as_coerce_makes_them(self):
        frame = pd.DataFrame({"d": ["04/01/2021", "11/02/2021", "15/03/2021"],
                              "n": [1.0, 2.0, 3.0]})
        preprocessor, features = fit_preprocessor(frame, date_columns(frame))
        assert [f.name for f in features] == ["d", "n", "d (weekday)", "d (month)"]
        compiled = compile_preprocessor(preprocessor, features)
        cells = [["20/03/2021", "2.5"], [None, "1"], ["", None], ["31/12/2030", "4"]]
        fast = compiled.read(["d", "n"], cells)
        slow = coerce(pd.DataFrame(cells, columns=["d", "n"], dtype=object), features, "r")
        np.testing.assert_array_equal(np.array(fast, dtype=float), slow.to_numpy(dtype=float))
        np.testing.assert_array_equal(compiled.transform(fast),
                                      preprocessor.transform(slow).astype(np.float32))
        assert compiled.read(["n"], [["1"]]) is None  # the date absent: coerce names it

    def test_an_absent_feature_leaves_the_message_to_coerce(self, model):
        names = [f.name for f in model.features][:-1]
        assert model.compiled.read(names, [[1] * len(names)]) is None


class TestLoading:
    def test_the_booster_predicts_on_one_thread(self, model):
        config = json.loads(model.booster.save_config())
        assert config["learner"]["generic_param"]["nthread"] == "1"

    @pytest.mark.parametrize("part, message", [
        (OneHotEncoder(drop="first", sparse_output=False), "a OneHotEncoder"),
        (OneHotEncoder(handle_unknown="error", sparse_output=False), "a OneHotEncoder"),
        ("passthrough", "a FunctionTransformer"),
    ])
    def test_a_step_build_preprocessor_does_not_make_is_refused(self, part, message):
        frame = pd.DataFrame({"n": [1.0, 2.0, 4.0], "c": ["a", "b", "a"]})
        preprocessor = ColumnTransformer([("numeric", StandardScaler(), ["n"]),
                                          ("categorical", part, ["c"])]).fit(frame)
        features = [Feature("n", NUMERIC), Feature("c", CATEGORICAL, ("a", "b"))]
        with pytest.raises(InvalidData, match=r"the preprocessor's 'categorical' step is "
                                              + re.escape(message)):
            compile_preprocessor(preprocessor, features)

    def test_a_preprocessor_from_another_job_is_refused(self, pipeline_run, tmp_path):
        folder = tmp_path / "model"
        shutil.copytree(pipeline_run.model_dir("chicago"), folder)
        other, _ = fit_preprocessor(pd.DataFrame({"rooms": [1.0, 2.0]}))
        joblib.dump(other, folder / contract.PREPROCESSOR_FILE)
        with pytest.raises(InvalidData, match=r"the booster was trained on columns \[.*\] but "
                                              r"the preprocessor makes \['numeric__rooms'\]"):
            inference.model_fn(str(folder))
