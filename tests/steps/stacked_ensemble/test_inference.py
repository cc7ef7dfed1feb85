"""The inference handler: round trips for every input and output form, and every bad request."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from steps.common import InvalidRequest, NotAcceptable, RequestError, UnsupportedMediaType
from steps.stacked_ensemble import contract, inference
from steps.stacked_ensemble.features import coerce

pytestmark = pytest.mark.integration

FEATURES = "age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, site"


@pytest.fixture(scope="module")
def model(regression):
    return inference.model_fn(str(regression.model_dir))


@pytest.fixture(scope="module")
def classifier(classification):
    return inference.model_fn(str(classification.model_dir))


def _test_rows(trained, model, rows: int | None = None) -> pd.DataFrame:
    frame = pd.read_csv(trained.splits / "test" / contract.DATA_FILE, dtype=model.spec.csv_dtypes())
    return frame.drop(columns=[trained.target]).iloc[:rows]


def _csv(frame: pd.DataFrame, header: bool = False) -> str:
    return frame.to_csv(index=False, header=header)


def _invoke(model, body, content_type="text/csv", accept="application/json"):
    prediction = inference.predict_fn(inference.input_fn(body, content_type), model)
    return inference.output_fn(prediction, accept)


class TestRegressionRoundTrips:
    def test_csv_rows_match_the_ensemble(self, regression, model):
        rows = _test_rows(regression, model)
        expected = model.predict(coerce(rows, model.spec, "test"))
        got = json.loads(_invoke(model, _csv(rows)))["predictions"]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert rows.isna().any().any()  # missing values travel as empty fields

    def test_csv_out(self, regression, model):
        rows = _test_rows(regression, model)
        body = _invoke(model, _csv(rows), accept="text/csv")
        expected = json.loads(_invoke(model, _csv(rows)))["predictions"]
        assert [float(line) for line in body.splitlines()] == expected

    def test_header_in_any_order_and_json_forms_agree(self, regression, model):
        rows = _test_rows(regression, model)
        expected = json.loads(_invoke(model, _csv(rows)))["predictions"]
        shuffled = rows[list(reversed(rows.columns))]
        assert json.loads(_invoke(model, _csv(shuffled, header=True)))["predictions"] == expected
        plain = rows.astype(object).where(rows.notna(), None)
        instances = {"instances": plain.to_numpy().tolist()}
        assert json.loads(_invoke(model, json.dumps(instances), "application/json"))[
            "predictions"] == expected
        records = {"instances": [{k: v for k, v in r.items() if v is not None}
                                 for r in plain.to_dict(orient="records")]}
        assert json.loads(_invoke(model, json.dumps(records).encode(),
                                  "application/json; charset=utf-8"))["predictions"] == expected

    def test_absent_record_feature_is_a_missing_value(self, model):
        record = {"age": 0.02, "sex": 0.05, "bmi": 0.06, "bp": 0.02, "s1": -0.04, "s2": -0.03,
                  "s3": -0.04, "s4": 0.0, "s5": 0.02, "s6": -0.02}
        from_json = json.loads(_invoke(model, json.dumps({"instances": [record]}),
                                       "application/json"))
        from_csv = json.loads(_invoke(model, "0.02,0.05,0.06,0.02,-0.04,-0.03,-0.04,0.0,0.02,"
                                             "-0.02,\n"))
        assert from_json == from_csv

    def test_unknown_category_is_accepted(self, model):
        known = json.loads(_invoke(model, "0.02,0.05,0.06,0.02,-0.04,-0.03,-0.04,0.0,0.02,"
                                          "-0.02,north\n"))["predictions"]
        unseen = json.loads(_invoke(model, "0.02,0.05,0.06,0.02,-0.04,-0.03,-0.04,0.0,0.02,"
                                           "-0.02,mars\n"))["predictions"]
        assert len(known) == len(unseen) == 1 and np.isfinite(unseen[0])

    def test_content_type_for_accept(self):
        assert inference.response_content_type("*/*") == "application/json"
        assert inference.response_content_type(None) == "application/json"
        assert inference.response_content_type("text/csv; charset=utf-8") == "text/csv"


class TestClassificationRoundTrips:
    def test_labels_and_probabilities(self, classification, classifier):
        rows = _test_rows(classification, classifier, rows=8)
        document = json.loads(_invoke(classifier, _csv(rows)))
        assert document["classes"] == [0, 1]
        proba = np.asarray(document["probabilities"])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert document["predictions"] == [[0, 1][i] for i in proba.argmax(axis=1)]
        expected = classifier.predict(coerce(rows, classifier.spec, "test"))
        np.testing.assert_allclose(proba, expected, rtol=1e-12)

    def test_csv_out_has_label_then_probabilities(self, classification, classifier):
        rows = _test_rows(classification, classifier, rows=3)
        document = json.loads(_invoke(classifier, _csv(rows)))
        lines = list(csv.reader(io.StringIO(_invoke(classifier, _csv(rows),
                                                    accept="text/csv"))))
        assert [int(line[0]) for line in lines] == document["predictions"]
        assert [[float(v) for v in line[1:]] for line in lines] == document["probabilities"]


def _error(model, body, content_type="text/csv", accept="application/json") -> RequestError:
    with pytest.raises(RequestError) as info:
        _invoke(model, body, content_type, accept)
    assert "\n" not in str(info.value)
    return info.value


class TestBadRequests:
    @pytest.mark.parametrize("body, content_type, kind, message", [
        ("1,2,3\n", "text/csv", InvalidRequest,
         f"CSV row 1 has 3 values; expected 11 ({FEATURES})"),
        ('{"instances": [[1, 2]]}', "application/json", InvalidRequest,
         f"instance 1 has 2 values; expected 11 ({FEATURES})"),
        ('{"instances": [{"age": 1, "weight": 2}]}', "application/json", InvalidRequest,
         f"JSON instances: unknown feature name(s) ['weight']; the model's features are "
         f"{FEATURES}"),
        ("age,weight\n1,2\n", "text/csv", InvalidRequest,
         f"CSV header: unknown feature name(s) ['weight']; the model's features are {FEATURES}"),
        ("age,age\n1,2\n", "text/csv", InvalidRequest,
         "CSV header: feature name(s) ['age'] appear more than once"),
        ("age,bmi\n", "text/csv", InvalidRequest, "the CSV has a header but no data rows"),
        ("age,bmi\n1,2,3\n", "text/csv", InvalidRequest,
         "CSV row 1 has 3 values; the header names 2"),
        ("0.1,abc,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,north\n", "text/csv", InvalidRequest,
         "request: feature 'sex' is numeric but row 1 has 'abc'; send a finite number or leave the "
         "field empty for a missing value"),
        ('{"instances": [{"bmi": "high"}]}', "application/json", InvalidRequest,
         "request: feature 'bmi' is numeric but row 1 has 'high'; send a finite number or leave the "
         "field empty for a missing value"),
        ('{"instances": [{"bmi": 1%s}]}' % ("0" * 400), "application/json", InvalidRequest,
         "request: feature 'bmi' is numeric but row 1 has '1000000000000000000...(403 "
         "characters); send a finite number or leave the field empty for a missing value"),
        ("0.1,1e400,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,north\n", "text/csv", InvalidRequest,
         "request: feature 'sex' is numeric but row 1 has '1e400'; send a finite number or leave "
         "the field empty for a missing value"),
        ('{"instances": [[[1]]]}', "application/json", InvalidRequest,
         "instance 1, value 1 is [1]; values must be numbers, strings, true/false or null"),
        ('{"instances": [{"bmi": true}]}', "application/json", InvalidRequest,
         "request: feature 'bmi' is numeric but row 1 has 'True'; send a finite number or leave "
         "the field empty for a missing value"),
        ("", "text/csv", InvalidRequest,
         "the request body is empty; send at least one row of features"),
        ("  \n", "application/json", InvalidRequest,
         "the request body is empty; send at least one row of features"),
        ("{not json", "application/json", InvalidRequest,
         "the request body is not valid JSON (Expecting property name enclosed in double "
         "quotes at line 1 column 2)"),
        ('{"rows": [[1]]}', "application/json", InvalidRequest,
         'the JSON body must be {"instances": [...]} with at least one row (a list of values '
         "in feature order, or an object keyed by feature name)"),
        ('{"instances": [[1], {"a": 1}]}', "application/json", InvalidRequest,
         'every item of "instances" must be a list of values in feature order or an object '
         "keyed by feature name, not a mix or other values"),
        (b"\xff\xfe", "text/csv", InvalidRequest, "the request body is not UTF-8 text"),
        ("1,2", "application/x-npy", UnsupportedMediaType,
         "content type 'application/x-npy' is not supported; send text/csv or application/json"),
    ])
    def test_rejected_with_exact_message(self, model, body, content_type, kind, message):
        error = _error(model, body, content_type)
        assert type(error) is kind
        assert str(error) == message

    def test_statuses(self):
        assert (InvalidRequest.status, UnsupportedMediaType.status, NotAcceptable.status) == \
            (400, 415, 406)
        assert issubclass(InvalidRequest, ValueError)

    def test_unsupported_accept(self, model):
        error = _error(model, "0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,north\n",
                       accept="application/x-protobuf")
        assert type(error) is NotAcceptable
        assert str(error) == ("accept type 'application/x-protobuf' is not supported; ask for "
                              "text/csv or application/json")
