"""The handler: preprocessor then booster; JSON records or CSV with a header; clear errors.
Also served by steps.serve from a multi-model root laid out as <segment>/v<N>/."""
from __future__ import annotations

import http.client
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from steps.common import InvalidRequest, NotAcceptable, UnsupportedMediaType
from steps.multi_model import contract, inference
from steps.multi_model.features import coerce

pytestmark = pytest.mark.integration

HOUSE = {"year_built": 2001, "square_feet": 2800, "num_bedrooms": 4, "num_bathrooms": 2.5,
         "lot_acres": 0.9, "garage_spaces": 2, "deck": "yes", "front_porch": "no"}


@pytest.fixture(scope="module")
def model(pipeline_run):
    return inference.model_fn(str(pipeline_run.model_dir("chicago")))


@pytest.fixture(scope="module")
def test_rows(pipeline_run) -> pd.DataFrame:
    return pd.read_csv(pipeline_run.segment_dir("chicago") / contract.TEST_FILE)


def invoke(model, body, content_type="application/json", accept="application/json"):
    data = inference.input_fn(body, content_type)
    return inference.output_fn(inference.predict_fn(data, model), accept)


def records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


class TestRoundTrips:
    def test_json_predictions_are_preprocessor_then_booster(self, model, test_rows):
        features = test_rows.drop(columns=["price"])
        body = json.dumps({"instances": records(features)}).encode()
        answer = json.loads(invoke(model, body))
        x = model.preprocessor.transform(coerce(features, model.features, "test"))
        expected = model.booster.predict(xgb.DMatrix(
            x.astype(np.float32), feature_names=list(model.booster.feature_names)))
        np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-6)
        assert answer["segment"] == "Chicago"

    def test_csv_with_header_in_any_order_matches_json(self, model, test_rows):
        features = test_rows.drop(columns=["price"])
        shuffled = features[list(reversed(features.columns))]
        csv_answer = invoke(model, shuffled.to_csv(index=False), "text/csv", "text/csv")
        json_answer = json.loads(invoke(model, json.dumps(records(features))))
        np.testing.assert_allclose([float(v) for v in csv_answer.splitlines()],
                                   json_answer["predictions"])

    def test_segment_column_may_be_sent_when_it_names_this_segment(self, model):
        one = json.loads(invoke(model, json.dumps([HOUSE])))
        same = json.loads(invoke(model, json.dumps([{**HOUSE, "city": "Chicago"}])))
        assert one == same and len(one["predictions"]) == 1

    def test_missing_numeric_values_are_allowed(self, model):
        house = {**HOUSE, "lot_acres": None}
        answer = json.loads(invoke(model, json.dumps({"instances": [house]})))
        assert np.isfinite(answer["predictions"][0])
        csv_body = "square_feet,year_built,num_bedrooms,num_bathrooms,lot_acres," \
                   "garage_spaces,deck,front_porch\n2800,2001,4,2.5,,2,yes,no\n"
        assert float(invoke(model, csv_body, "text/csv", "text/csv")) == \
            pytest.approx(answer["predictions"][0], rel=1e-6)

    def test_deck_raises_the_price_in_this_city(self, model):
        answer = json.loads(invoke(model, json.dumps([{**HOUSE, "deck": "no"}, HOUSE])))
        assert answer["predictions"][1] > answer["predictions"][0]

    @pytest.mark.parametrize("accept, expected", [
        (None, "application/json"), ("*/*", "application/json"),
        ("text/csv; charset=utf-8", "text/csv"), ("application/json", "application/json")])
    def test_response_content_type(self, accept, expected):
        assert inference.response_content_type(accept) == expected


class TestBadRequests:
    @pytest.mark.parametrize("body, content_type, error, message", [
        (b"", "application/json", InvalidRequest, "the request body is empty"),
        (b"{", "application/json", InvalidRequest, "the request body is not valid JSON"),
        (b'{"instances": []}', "application/json", InvalidRequest,
         'the JSON body must be {"instances": [{"feature": value, ...}, ...]}'),
        (b'{"instances": [[1, 2]]}', "application/json", InvalidRequest,
         'the JSON body must be {"instances"'),
        (b'[{"square_feet": [1]}]', "application/json", InvalidRequest,
         "instance 1, feature 'square_feet' is [1]; values must be numbers, strings or null"),
        (b'[{"deck": {"a": 1}}]', "application/json", InvalidRequest,
         "instance 1, feature 'deck' is {\"a\": 1}"),
        (b"\xff\xfe", "text/csv", InvalidRequest, "the request body is not UTF-8 text"),
        (b"square_feet,deck\n", "text/csv", InvalidRequest,
         "the CSV needs a header row naming the features and at least one data row"),
        (b"deck,deck\nyes,no\n", "text/csv", InvalidRequest,
         "CSV header names ['deck'] more than once"),
        (b"a,b\n1\n", "text/csv", InvalidRequest, "CSV row 1 has 1 values; the header names 2"),
        (b"1,2", "text/plain", UnsupportedMediaType,
         "content type 'text/plain' is not supported; send text/csv or application/json"),
    ])
    def test_input_errors(self, body, content_type, error, message):
        with pytest.raises(error) as info:
            inference.input_fn(body, content_type)
        assert str(info.value).startswith(message)

    @pytest.mark.parametrize("change, message", [
        ({"sqft": 1}, "unknown feature name(s) ['sqft']; the model's features are year_built, "
                      "square_feet, num_bedrooms, num_bathrooms, lot_acres, garage_spaces, "
                      "deck, front_porch"),
        ({"square_feet": "big"}, "request: feature 'square_feet' is numeric but row 1 has "
                                 "'big'; send a finite number (or nothing, for missing)"),
        ({"square_feet": False}, "request: feature 'square_feet' is numeric but row 1 has "
                                 "'False'; send a finite number (or nothing, for missing)"),
        ({"square_feet": 10 ** 400}, "request: feature 'square_feet' is numeric but row 1 has "
                                     "10000000000000000000...(401 characters); send a finite "
                                     "number (or nothing, for missing)"),
        ({"city": "San Diego"}, "instance 1 is for city 'San Diego' but this model serves "
                                "'Chicago'; invoke that segment's target model"),
    ])
    def test_values_the_model_cannot_use(self, model, change, message):
        body = json.dumps({"instances": [{**HOUSE, **change}]})
        with pytest.raises(InvalidRequest) as info:
            invoke(model, body)
        assert str(info.value) == message

    def test_an_unseen_or_missing_category_predicts_as_unseen(self, model):
        """A value training never saw is all zeros in the one-hot columns, whatever it is:
        a new value, a missing one (the sample has no gaps), a boolean."""
        answers = [json.loads(invoke(model, json.dumps([{**HOUSE, "deck": value}])))
                   for value in ("maybe", None, True, "yes", "no")]
        maybe, missing, boolean, yes, no = (a["predictions"][0] for a in answers)
        assert maybe == missing == boolean
        x = coerce(pd.DataFrame([{**HOUSE, "deck": "maybe"}]), model.features, "t")
        encoded = model.preprocessor.transform(x)
        names = list(model.booster.feature_names)
        assert encoded[0, names.index("categorical__deck_yes")] == 0
        assert encoded[0, names.index("categorical__deck_no")] == 0
        assert maybe == pytest.approx(float(model.booster.predict(
            xgb.DMatrix(encoded.astype(np.float32), feature_names=names))[0]), rel=1e-6)
        assert len({maybe, yes, no}) > 1  # the deck matters to this model

    def test_an_absent_feature_is_named(self, model):
        house = {k: v for k, v in HOUSE.items() if k != "front_porch"}
        with pytest.raises(InvalidRequest, match=r"request lacks feature\(s\) \['front_porch'\]"):
            invoke(model, json.dumps([house]))

    def test_unsupported_accept(self):
        with pytest.raises(NotAcceptable, match="accept type 'text/html' is not supported"):
            inference.response_content_type("text/html")

    def test_a_directory_without_the_model_files(self, tmp_path):
        (tmp_path / contract.MODEL_METADATA).write_text("{}")
        with pytest.raises(inference.InvalidData, match="lacks xgboost-model.json, "
                                                        "preprocessor.joblib"):
            inference.model_fn(str(tmp_path))


class TestServedFromAMultiModelRoot:
    """steps.serve finds the handler through serving.json; the target model is the versioned
    artifact name '<segment>/v<N>.tar.gz'."""

    def test_each_target_model_answers_with_its_segment(self, tmp_path, pipeline_run):
        from steps.serve import BackgroundServer, DirectoryModelSource, ServingApp
        root = tmp_path / "models"
        for ident in ("chicago", "san-diego"):
            key = contract.artifact_key(ident, 1).removesuffix(contract.ARTIFACT_SUFFIX)
            shutil.copytree(pipeline_run.model_dir(ident), root / key)
        body = json.dumps({"instances": [HOUSE]})
        answers = {}
        with BackgroundServer(ServingApp(DirectoryModelSource(root))) as server:
            for target in ("chicago/v1.tar.gz", "san-diego/v1.tar.gz", "chicago/v2.tar.gz"):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("POST", "/invocations", body=body, headers={
                    "Content-Type": "application/json",
                    "X-Amzn-SageMaker-Target-Model": target})
                response = conn.getresponse()
                answers[target] = (response.status, json.loads(response.read()))
                conn.close()
        assert answers["chicago/v1.tar.gz"][0] == answers["san-diego/v1.tar.gz"][0] == 200
        assert answers["chicago/v1.tar.gz"][1]["segment"] == "Chicago"
        assert answers["san-diego/v1.tar.gz"][1]["segment"] == "San Diego"
        assert answers["san-diego/v1.tar.gz"][1]["predictions"][0] != \
            answers["chicago/v1.tar.gz"][1]["predictions"][0]
        assert answers["chicago/v2.tar.gz"][0] == 404
