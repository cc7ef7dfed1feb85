"""The handler's fast path (ServedEnsemble, FeatureReader, the compiled encoder) against the
reference path (`features_frame` + `coerce` + `Ensemble.predict`, the scikit-learn encoder and
the boosters' DataFrame inputs): the same predictions bit for bit, and every request the
reference refuses refused with its message, on generated rows of every feature kind."""
from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xgboost.core import XGBoostError

from steps.common import InvalidRequest, RequestError
from steps.stacked_ensemble import ensemble, inference
from steps.stacked_ensemble.compiled_encoder import compile_encoder
from steps.stacked_ensemble.ensemble import Ensemble
from steps.stacked_ensemble.features import MISSING_TOKENS, coerce, infer_spec
from steps.stacked_ensemble.learners import LearnerSettings
from steps.stacked_ensemble.out_of_fold import fit_ensemble
from steps.stacked_ensemble.request_features import BULK_MIN_ROWS, FeatureArrays
from steps.stacked_ensemble.served_ensemble import ServedEnsemble
from steps.stacked_ensemble.task import Task
from tests.hostile_inputs import SLOW

GRADES = ["low", "medium", "high", "top"]
SITES = ["north", "south", "east", "west", "rare"]
SETTINGS = LearnerSettings(num_round=40, catboost_iterations=40)


def _table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numbers, a categorical (one category rare), an ordered grade, gaps in each."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.gamma(2.0, 1.0, n),
        "site": rng.choice(SITES, n, p=[0.3, 0.3, 0.2, 0.19, 0.01]),
        "grade": pd.Categorical(rng.choice(GRADES, n), categories=GRADES, ordered=True),
        "depth": rng.normal(0.0, 3.0, n),
    })
    signal = (np.log(frame["size"]) + frame["grade"].cat.codes * 0.3
              + frame["site"].map(dict(zip(SITES, [0.0, 1.0, -1.0, 0.5, 2.0], strict=True))) + 0.1
              * frame["depth"]).to_numpy() + rng.normal(0, 0.2, n)
    for column in frame.columns:
        frame.loc[rng.choice(n, n // 20, replace=False), column] = np.nan
    return frame, signal


def _saved(tmp_path_factory, task: Task, y_of, settings: LearnerSettings = SETTINGS
           ) -> ServedEnsemble:
    frame, signal = _table(300, seed=3)
    spec = infer_spec(frame)
    y = y_of(signal)
    trained = fit_ensemble(coerce(frame, spec, "t"), y, spec, task, settings, k_fold=3)
    folder = tmp_path_factory.mktemp("model")
    ensemble.save(folder, trained, {"target": "y", **task.to_json(),
                                    "features": spec.to_json(),
                                    "hyperparameters": settings.to_json()})
    return inference.model_fn(str(folder))


@pytest.fixture(scope="module")
def regressor(tmp_path_factory) -> ServedEnsemble:
    return _saved(tmp_path_factory, Task("regression"), lambda s: np.exp(s),
                  LearnerSettings(num_round=40, catboost_iterations=40, target_transform="log"))


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory) -> ServedEnsemble:
    return _saved(tmp_path_factory, Task("classification", ("a", "b", "c")),
                  lambda s: np.digitize(s, np.quantile(s, [1 / 3, 2 / 3])))


@pytest.fixture(scope="module", params=["regressor", "multiclass"])
def model(request) -> ServedEnsemble:
    return request.getfixturevalue(request.param)


def _reference(body: str, content_type: str, model: ServedEnsemble) -> np.ndarray:
    """What the handler answered before the fast path: a DataFrame through coerce, then the
    scikit-learn encoder and the boosters' DataFrame inputs."""
    frame = inference.features_frame(inference.input_fn(body, content_type), model)
    return Ensemble.predict(model, frame)


def _fast(body: str, content_type: str, model: ServedEnsemble) -> np.ndarray:
    return model.serve(inference.read_features(inference.input_fn(body, content_type), model))


def _outcome(path, body: str, content_type: str, model: ServedEnsemble):
    try:
        return path(body, content_type, model)
    except RequestError as error:
        return type(error), str(error)
    except (ValueError, XGBoostError) as error:  # the reference's 500s, see below
        return error


def assert_same_outcome(body: str, content_type: str, model: ServedEnsemble) -> None:
    """The same predictions or the same refusal; where the reference failed with a 500 (an
    infinity reaching XGBoost or scikit-learn), the fast path refuses the request (400)."""
    expected = _outcome(_reference, body, content_type, model)
    got = _outcome(_fast, body, content_type, model)
    if isinstance(expected, Exception):
        assert isinstance(got, tuple) and got[0] is InvalidRequest, got
        assert "overflows" in got[1] or "32-bit floats" in got[1]
    elif isinstance(expected, tuple):
        assert got == expected
    else:
        assert isinstance(got, np.ndarray), got
        np.testing.assert_array_equal(got, expected)  # bit for bit, NaN nowhere


def _csv_body(rows: list[list[str]], header: list[str] | None = None,
              ending: str = "\n") -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator=ending)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return stream.getvalue()


def _sample_rows(n: int) -> pd.DataFrame:
    """Fresh rows with a gap in every kind of feature from the second row on."""
    frame, _ = _table(n, seed=11)
    for offset, column in enumerate(frame.columns, start=1):
        frame.loc[offset::5, column] = np.nan
    return frame


class TestSampleData:
    @pytest.mark.parametrize("rows", [1, 7, BULK_MIN_ROWS + 50])
    def test_csv_plain_and_with_header(self, model, rows):
        frame = _sample_rows(rows)
        assert rows == 1 or frame.isna().any().any()
        assert_same_outcome(frame.to_csv(index=False, header=False), "text/csv", model)
        shuffled = frame[["grade", "depth", "site", "size"]]
        assert_same_outcome(shuffled.to_csv(index=False), "text/csv", model)
        assert_same_outcome(frame.to_csv(index=False, header=False, lineterminator="\r\n"),
                            "text/csv", model)

    @pytest.mark.parametrize("body", [
        "1,north,low,2\n" * BULK_MIN_ROWS + '"3",north,low,2\n',  # quoted: the csv module
        "\n\n1,north,low,2\n\n" * BULK_MIN_ROWS,  # blank lines
        "1,north,low,2\r" * BULK_MIN_ROWS,  # old Mac line ends
        "grade,size\nhigh,1\n" + "low,\n" * BULK_MIN_ROWS,  # a header naming some features
    ])
    def test_odd_but_valid_csv(self, model, body):
        assert_same_outcome(body, "text/csv", model)

    def test_json_lists_and_records(self, model):
        frame = _sample_rows(20).astype(object)
        plain = frame.where(frame.notna(), None)
        assert_same_outcome(json.dumps({"instances": plain.to_numpy().tolist()}),
                            "application/json", model)
        records = [{k: v for k, v in r.items() if v is not None}
                   for r in plain.to_dict(orient="records")]
        assert_same_outcome(json.dumps({"instances": records}), "application/json", model)

    def test_the_bulk_reader_reads_a_long_csv(self, regressor):
        """The pandas reader takes a long plain body (not the cell reader or the reference)."""
        body = _sample_rows(BULK_MIN_ROWS + 50).to_csv(index=False, header=False)
        features = regressor.reader.bulk_csv(body)
        assert isinstance(features, FeatureArrays) and len(features) == BULK_MIN_ROWS + 50
        assert regressor.reader.bulk_csv("1,a,low,2\n" * 10) is None  # short: cells instead

    def test_classification_answers_labels_and_probabilities(self, multiclass):
        body = _sample_rows(5).to_csv(index=False, header=False)
        prediction = inference.predict_fn(inference.input_fn(body, "text/csv"), multiclass)
        expected = _reference(body, "text/csv", multiclass)
        np.testing.assert_array_equal(prediction.probabilities, expected)
        assert list(prediction.values) == [("a", "b", "c")[i] for i in expected.argmax(axis=1)]


def test_the_compiled_encoder_equals_scikit_learn(regressor):
    frame = coerce(_sample_rows(500), regressor.spec, "t")
    frame.loc[0, "size"], frame.loc[1, "depth"] = 1e300, -1e-310  # extremes and a subnormal
    frame.loc[2, "site"] = "never seen"
    compiled = compile_encoder(regressor.learners.encoder)
    features = FeatureArrays.of_frame(frame, regressor.spec)
    np.testing.assert_array_equal(compiled.transform(features.numbers, features.categories),
                                  regressor.learners.encoder.transform(frame))


# ---- generated requests --------------------------------------------------------------------

_ODD_NUMBERS = ["inf", "-inf", "Infinity", "+nan", "nan", "NaN", "-NaN", "1e400", "-1e400",
                "1e-400", "0x10", "1_000", " 2.5 ", "1.", ".5", "+3", "1e5", "١٢", "abc", "NA",
                " NA", "null", "None", "", "1,5", "2.2250738585072014e-308",
                "4.9406564584124654e-324", "1.7976931348623157e308", "9" * 400]
numbers = (st.floats(allow_nan=False, allow_infinity=False).map(repr)
           | st.integers(min_value=-(10 ** 320), max_value=10 ** 320).map(str)
           | st.sampled_from(_ODD_NUMBERS) | st.sampled_from(sorted(MISSING_TOKENS)))
categories = (st.sampled_from([*SITES, *GRADES, "mars", "Low", " low", "<missing>", "0",
                               "1.0", "<NA>", "", "NA", "north "])
              | st.sampled_from(sorted(MISSING_TOKENS))
              | st.text(alphabet=st.characters(codec="utf-8"), max_size=8))
row = st.tuples(numbers, categories, categories, numbers).map(list)


def _as_json_value(cell: str):
    """A JSON value a client could send for the cell: the text, or a number or null."""
    try:
        value = float(cell)
    except ValueError:
        return None if cell == "" else cell
    return value if np.isfinite(value) and cell.strip() == cell else cell


@SLOW
@given(rows=st.lists(row, min_size=1, max_size=6), bulk=st.booleans(),
       ending=st.sampled_from(["\n", "\r\n"]), header=st.booleans())
def test_generated_csv_requests(regressor, multiclass, rows, bulk, ending, header):
    rows = rows * (BULK_MIN_ROWS // len(rows) + 1) if bulk else rows
    names = ["size", "site", "grade", "depth"] if header else None
    body = _csv_body(rows, names, ending)
    for model in (regressor, multiclass):
        assert_same_outcome(body, "text/csv", model)


@SLOW
@given(rows=st.lists(row, min_size=1, max_size=6), records=st.booleans())
def test_generated_json_requests(regressor, multiclass, rows, records):
    names = ["size", "site", "grade", "depth"]
    values = [[_as_json_value(cell) for cell in r] for r in rows]
    instances = ([{n: v for n, v in zip(names, r, strict=True) if v is not None}
                  for r in values] if records else values)
    body = json.dumps({"instances": instances})
    for model in (regressor, multiclass):
        assert_same_outcome(body, "application/json", model)


@pytest.mark.parametrize("body", [
    "1,north,low\n", "size,site\n1,north,2\n", "size,size\n1,2\n", "weight\n1\n",
    "1,north,low,abc\n" * (BULK_MIN_ROWS + 1), "1,north,low,2,3\n" * (BULK_MIN_ROWS + 1),
    "1,north,low,inf\n" * (BULK_MIN_ROWS + 1), "1,north,low,+nan\n" * (BULK_MIN_ROWS + 1),
    "size,site\n" + "1,north\n" * (BULK_MIN_ROWS + 1) + "2\n",
])
def test_bad_requests_are_refused_as_the_reference_refuses_them(regressor, body):
    assert isinstance(_outcome(_reference, body, "text/csv", regressor), tuple)
    assert_same_outcome(body, "text/csv", regressor)


@pytest.mark.parametrize("cell, message", [
    ("3.5e38", "request: feature 'size' has 3.5e+38 in row 1, beyond the 3.402823e+38 the "
               "boosters read (32-bit floats); send a smaller number"),
    ("-1e300", "request: feature 'size' has -1e+300 in row 1, beyond the 3.402823e+38 the "
               "boosters read (32-bit floats); send a smaller number"),
])
def test_numbers_beyond_float32_are_refused(regressor, cell, message):
    body = f"{cell},north,low,1\n"
    with pytest.raises(InvalidRequest) as info:
        _fast(body, "text/csv", regressor)
    assert str(info.value) == message


def test_a_row_whose_transform_overflows_is_refused(regressor):
    """Within float32 but past what the Yeo-Johnson view can hold: these models' lambdas
    never overflow at float32's range, so the same model with a steeper view stands in."""
    numeric = regressor.encoder.numeric
    steep = copy.copy(regressor)
    steep.encoder = replace(regressor.encoder,
                            numeric=replace(numeric, lambdas=np.full_like(numeric.lambdas, 12.0)))
    body = "1,north,low,1\n1e30,north,low,1\n"
    with pytest.raises(InvalidRequest) as info:
        _fast(body, "text/csv", steep)
    assert str(info.value) == (
        "request: row 2 has a number so far outside the training data's range that the model's "
        "feature transform overflows; send values nearer the training data's")


def test_spaces_around_a_category_are_trimmed_as_the_training_table_was(regressor):
    body = _csv_body([["1.5", "north", "low", "0"], ["1.5", "north ", " low", "0"],
                      ["1.5", " NA ", "low", "0"], ["1.5", "", "low", "0"]])
    for path in (_fast, _reference):
        predicted = path(body, "text/csv", regressor)
        assert predicted[0] == predicted[1] and predicted[2] == predicted[3]
