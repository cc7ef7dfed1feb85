"""The stacked ensemble behind the serve module, over real HTTP on loopback: what the image's
`serve` entrypoint and local deployment answer for a model the training job produced."""
from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from steps.serve import BackgroundServer, ServingApp, SingleModelSource
from steps.stacked_ensemble import inference

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(regression):
    source = SingleModelSource(regression.model_dir)
    source.load()
    with BackgroundServer(ServingApp(source), threads=4) as server:
        yield server.port, regression


def _post(port: int, body: bytes, content_type: str, accept: str = "application/json"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/invocations", body,
                           {"Content-Type": content_type, "Accept": accept})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _test_rows(trained, n: int) -> pd.DataFrame:
    test = pd.read_csv(trained.splits / "test" / "data.csv")
    return test.drop(columns=[trained.target]).head(n)


def test_csv_rows_get_the_handler_s_own_predictions(served):
    port, trained = served
    rows = _test_rows(trained, 20)
    body = rows.to_csv(index=False, header=False).encode()
    status, text = _post(port, body, "text/csv")
    assert status == 200
    model = inference.model_fn(str(trained.model_dir))
    expected = json.loads(inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "text/csv"), model), "application/json"))
    assert json.loads(text) == expected
    assert len(expected["predictions"]) == 20


def test_json_records_by_feature_name(served):
    port, trained = served
    records = json.loads(_test_rows(trained, 3).to_json(orient="records"))
    status, text = _post(port, json.dumps({"instances": records}).encode(), "application/json")
    assert status == 200 and len(json.loads(text)["predictions"]) == 3


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"1,2,3\n", "text/csv", 400, "values"),
    (b"", "text/csv", 400, "empty"),
    (b'{"instances": [{"no_such_feature": 1}]}', "application/json", 400, "no_such_feature"),
    (b"<rows/>", "application/xml", 415, "application/xml"),
])
def test_bad_requests_get_a_clear_4xx(served, body, content_type, status, message):
    port, _ = served
    got, text = _post(port, body, content_type)
    assert got == status
    error = json.loads(text)["error"]
    assert message in error and "Traceback" not in error


def test_concurrent_requests_all_succeed_with_consistent_answers(served):
    port, trained = served
    body = _test_rows(trained, 5).to_csv(index=False, header=False).encode()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _post(port, body, "text/csv"), range(32)))
    assert {status for status, _ in results} == {200}
    assert len({text for _, text in results}) == 1
