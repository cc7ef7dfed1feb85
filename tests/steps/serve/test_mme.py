"""SageMaker's multi-model API (steps.serve.mme) over real HTTP on loopback, as SageMaker drives it.

Model dirs are built like test_serve_app's; SageMaker passes the unpacked dir as `url`.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from steps.serve import BackgroundServer
from steps.serve.mme import LoadedModels, ModelAlreadyLoaded, MultiModelApp
from tests.steps.serve.test_serve_app import HANDLERS, error_of, make_model

REPO = Path(__file__).resolve().parents[3]
LIMIT = 1024


@pytest.fixture(autouse=True)
def handlers_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HANDLERS))
    yield
    sys.modules.get("linear_handler") and sys.modules["linear_handler"].LOADS.clear()


@pytest.fixture
def models(tmp_path) -> Path:
    """The layout SageMaker unpacks into: /opt/ml/models/<name>/model."""
    root = tmp_path / "models"
    make_model(root / "a1" / "model", 0.0, [1.0, 1.0])
    make_model(root / "b2" / "model", 100.0, [10.0, 0.0])
    (make_model(root / "broken" / "model", 0.0, [1.0], handler="failing_handler")
     / "broken").touch()
    make_model(root / "huge" / "model", 0.0, [1.0], handler="memory_hungry_handler")
    return root


def serve(registry: LoadedModels | None = None, page_size: int = 1000) -> BackgroundServer:
    app = MultiModelApp(registry or LoadedModels(), max_request_bytes=LIMIT, page_size=page_size)
    return BackgroundServer(app, threads=8)


@pytest.fixture
def server():
    with serve() as running:
        yield running


def call(server: BackgroundServer, method: str, path: str, body: bytes | None = None,
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def load(server, name: str, url: Path | str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"model_name": name, "url": str(url)}).encode()
    return call(server, "POST", "/models", body, **{"Content-Type": "application/json",
                                                    "Accept": "application/json"})


def invoke(server, name: str, body: bytes, content_type: str = "text/csv", **headers: str):
    return call(server, "POST", f"/models/{name}/invoke", body,
                **{"Content-Type": content_type, **headers})


class TestLoad:
    def test_load_then_again_is_409(self, server, models):
        url = models / "a1" / "model"
        status, _, body = load(server, "a1", url)
        assert (status, json.loads(body)) == (200, {"status": "loaded", "modelName": "a1",
                                                    "modelUrl": str(url)})
        status, headers, raw = load(server, "a1", url)
        assert status == 409
        assert error_of(409, headers, raw)["error"] == \
            "model 'a1' is already loaded; unload it first (DELETE /models/a1)"
        assert sys.modules["linear_handler"].LOADS == [str(url)]

    def test_concurrent_loads_of_one_name_load_it_once(self, models):
        registry = LoadedModels()
        url = str(models / "a1" / "model")
        barrier = threading.Barrier(4)

        def attempt(_):
            barrier.wait()
            try:
                return registry.load("a1", url).name
            except ModelAlreadyLoaded:
                return 409
        with ThreadPoolExecutor(4) as pool:
            outcomes = sorted(pool.map(attempt, range(4)), key=str)
        assert outcomes == [409, 409, 409, "a1"]
        assert sys.modules["linear_handler"].LOADS == [url]

    def test_out_of_memory_is_507_and_the_name_stays_free(self, server, models):
        status, headers, raw = load(server, "huge", models / "huge" / "model")
        assert status == 507
        assert error_of(507, headers, raw)["error"] == \
            "not enough memory to load model 'huge'; unload a model first"
        assert json.loads(call(server, "GET", "/models")[2]) == {"models": []}

    def test_full_model_slots_are_507_until_one_is_unloaded(self, models):
        with serve(LoadedModels(max_models=1)) as server:
            assert load(server, "a1", models / "a1" / "model")[0] == 200
            status, headers, raw = load(server, "b2", models / "b2" / "model")
            assert status == 507
            assert "all 1 model slots are in use" in error_of(507, headers, raw)["error"]
            assert call(server, "DELETE", "/models/a1")[0] == 200
            assert load(server, "b2", models / "b2" / "model")[0] == 200

    def test_a_model_whose_model_fn_fails_is_500_without_its_details(self, server, models):
        status, headers, raw = load(server, "broken", models / "broken" / "model")
        assert status == 500
        error = error_of(500, headers, raw)["error"]
        assert error == "model 'broken' failed to load; see the endpoint's log"
        assert load(server, "broken", models / "a1" / "model")[0] == 200  # name not kept

    @pytest.mark.parametrize("body, fragment", [
        (b"not json", "load request is not valid JSON"),
        (b'["a1"]', "lacks a non-empty string model_name and url"),
        (b'{"model_name": "a1"}', "lacks a non-empty string url"),
        (b'{"model_name": "", "url": "/x"}', "lacks a non-empty string model_name"),
        (b'{"model_name": "a/b", "url": "/x"}', "model_name 'a/b' must not contain '/'"),
        (b'{"model_name": "a1", "url": "/no/such/dir"}', "url '/no/such/dir' is not a directory"),
    ])
    def test_bad_load_requests_are_400(self, server, body, fragment):
        status, headers, raw = call(server, "POST", "/models", body)
        assert status == 400
        assert fragment in error_of(400, headers, raw)["error"]


class TestListAndDescribe:
    def test_list_describe_and_unknown(self, server, models):
        assert json.loads(call(server, "GET", "/models")[2]) == {"models": []}
        for name in ("b2", "a1"):
            load(server, name, models / name / "model")
        status, _, body = call(server, "GET", "/models")
        assert (status, json.loads(body)) == (200, {"models": [
            {"modelName": "a1", "modelUrl": str(models / "a1" / "model")},
            {"modelName": "b2", "modelUrl": str(models / "b2" / "model")}]})
        status, _, body = call(server, "GET", "/models/b2")
        assert (status, json.loads(body)) == (200, {"modelName": "b2",
                                                    "modelUrl": str(models / "b2" / "model")})
        status, headers, raw = call(server, "GET", "/models/zz")
        assert status == 404
        assert error_of(404, headers, raw)["error"] == \
            "model 'zz' is not loaded; load it with POST /models"

    def test_list_pages_with_next_page_token(self, models):
        with serve(page_size=1) as server:
            for name in ("a1", "b2"):
                load(server, name, models / name / "model")
            first = json.loads(call(server, "GET", "/models")[2])
            assert first == {"models": [{"modelName": "a1",
                                         "modelUrl": str(models / "a1" / "model")}],
                             "nextPageToken": "a1"}
            second = json.loads(call(server, "GET", "/models?next_page_token=a1")[2])
            assert second == {"models": [{"modelName": "b2",
                                          "modelUrl": str(models / "b2" / "model")}]}

    def test_ping_is_healthy_with_no_models(self, server):
        status, _, body = call(server, "GET", "/ping")
        assert (status, json.loads(body)) == (200, {"status": "healthy"})

    @pytest.mark.parametrize("method, path, status, allow", [
        ("PUT", "/models", 405, "GET, POST"),
        ("POST", "/models/a1", 405, "GET, DELETE"),
        ("GET", "/models/a1/invoke", 405, "POST"),
        ("GET", "/invocations", 404, None),
        ("GET", "/models/a/b", 404, None),
    ])
    def test_wrong_method_or_route(self, server, method, path, status, allow):
        got, headers, raw = call(server, method, path)
        assert got == status
        error_of(status, headers, raw)
        assert headers.get("Allow") == allow


class TestInvoke:
    @pytest.fixture
    def loaded(self, server, models):
        for name in ("a1", "b2"):
            assert load(server, name, models / name / "model")[0] == 200
        return server

    def test_each_model_answers_with_its_own_coefficients(self, loaded):
        # SageMaker passes the caller's TargetModel along for logging only: it does not route.
        status, headers, body = invoke(loaded, "a1", b"1,2\n",
                                       **{"X-Amzn-SageMaker-Target-Model": "b2.tar.gz"})
        assert (status, headers["Content-Type"], body) == (200, "text/csv", b"3.0\n")
        status, headers, body = invoke(loaded, "b2", json.dumps({"instances": [[1, 2]]}).encode(),
                                       "application/json")
        assert (status, headers["Content-Type"]) == (200, "application/json")
        assert json.loads(body) == {"predictions": [110.0]}

    @pytest.mark.parametrize("body, content_type, status, fragment", [
        (b"1,abc\n", "text/csv", 400, "CSV rows must be numbers"),
        (b"1,2,3\n", "text/csv", 400, "each row needs 2 features, got 3"),
        (b"<x/>", "application/xml", 415, "'application/xml' is not text/csv"),
        (b"", "text/csv", 400, "the request body is empty"),
        (b"1" * (LIMIT + 1), "text/csv", 413, f"exceeds the {LIMIT}-byte limit"),
    ])
    def test_bad_payloads_get_the_handlers_status(self, loaded, body, content_type, status,
                                                  fragment):
        got, headers, raw = invoke(loaded, "a1", body, content_type)
        assert got == status
        assert fragment in error_of(status, headers, raw)["error"]

    def test_a_bug_in_predict_fn_is_500_without_details(self, server, models):
        url = models / "broken" / "model"
        (url / "broken").unlink()  # model_fn loads; predict_fn still has its KeyError
        assert load(server, "buggy", url)[0] == 200
        status, headers, raw = invoke(server, "buggy", b"x")
        assert status == 500
        error = error_of(500, headers, raw)["error"]
        assert error == "internal error in predict_fn; see the endpoint's log"

    def test_unload_then_invoke_is_404_and_unload_again_is_404(self, loaded, models):
        status, _, body = call(loaded, "DELETE", "/models/a1")
        assert (status, json.loads(body)) == (200, {"status": "unloaded", "modelName": "a1",
                                                    "modelUrl": str(models / "a1" / "model")})
        status, headers, raw = invoke(loaded, "a1", b"1,2\n")
        assert status == 404
        assert error_of(404, headers, raw)["error"] == \
            "model 'a1' is not loaded; load it with POST /models"
        assert call(loaded, "DELETE", "/models/a1")[0] == 404
        assert [m["modelName"] for m in json.loads(call(loaded, "GET", "/models")[2])["models"]] \
            == ["b2"]
        assert invoke(loaded, "b2", b"1,2\n")[2] == b"110.0\n"

    def test_unknown_model_is_404(self, server):
        status, headers, raw = invoke(server, "never-loaded", b"1,2\n")
        assert status == 404
        assert "'never-loaded' is not loaded" in error_of(404, headers, raw)["error"]

    def test_concurrent_invokes_of_two_models_each_get_their_answer(self, loaded):
        def one(i: int) -> tuple[str, bytes]:
            name = ("a1", "b2")[i % 2]
            return name, invoke(loaded, name, f"{i},1\n".encode())[2]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(40)))
        expected = [(("a1", "b2")[i % 2], f"{float(i + 1 if i % 2 == 0 else 100 + 10 * i)}\n"
                     .encode()) for i in range(40)]
        assert results == expected


def test_serve_entrypoint_serves_the_api_when_sagemaker_sets_multi_model(models):
    """`serve` as SageMaker starts a MultiModel container: SAGEMAKER_MULTI_MODEL=true, no model
    dir at /opt/ml/model, then load and invoke over the API."""
    env = {**os.environ, "SAGEMAKER_MULTI_MODEL": "true",
           "PYTHONPATH": os.pathsep.join([str(HANDLERS), str(REPO)])}
    env.pop("SERVE_HANDLER", None)
    process = subprocess.Popen([sys.executable, "-m", "steps.serve", "--host", "127.0.0.1",
                                "--port", "0"], env=env, stderr=subprocess.PIPE, text=True,
                               cwd=REPO)
    try:
        for line in process.stderr:
            if (match := re.search(r"on http://127\.0\.0\.1:(\d+)", line)):
                break
        else:
            pytest.fail("the server never reported its address")
        port = int(match[1])

        def send(method, path, body=None, **headers):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            finally:
                conn.close()
        assert send("GET", "/ping")[0] == 200
        body = json.dumps({"model_name": "a1", "url": str(models / "a1" / "model")}).encode()
        assert send("POST", "/models", body)[0] == 200
        assert send("POST", "/models/a1/invoke", b"2,3\n",
                    **{"Content-Type": "text/csv"}) == (200, b"5.0\n")
    finally:
        process.send_signal(signal.SIGTERM)
        remaining = process.communicate(timeout=30)[1]
    assert process.returncode == 0, remaining
