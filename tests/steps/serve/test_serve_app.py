"""The serve module over real HTTP on loopback, with the tiny handlers in handlers/."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from steps.serve import (
    HANDLER_FILE,
    BackgroundServer,
    DirectoryModelSource,
    HandlerError,
    ServingApp,
    SingleModelSource,
    load_handler,
)
from steps.serve.handler import handler_name_for

HANDLERS = Path(__file__).parent / "handlers"
TARGET = "X-Amzn-SageMaker-Target-Model"
LIMIT = 1024


@pytest.fixture(autouse=True)
def handlers_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HANDLERS))
    yield
    sys.modules.get("linear_handler") and sys.modules["linear_handler"].LOADS.clear()


def make_model(path: Path, intercept: float, coef: list[float],
               handler: str | None = "linear_handler") -> Path:
    path.mkdir(parents=True)
    (path / "coefficients.json").write_text(json.dumps({"intercept": intercept, "coef": coef}))
    if handler:
        (path / HANDLER_FILE).write_text(json.dumps({"handler": handler}))
    return path


def request(server: BackgroundServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def invoke(server, body: bytes, content_type: str | None = "text/csv", **headers):
    if content_type:
        headers["Content-Type"] = content_type
    return request(server, "POST", "/invocations", body, headers)


@pytest.fixture
def single(tmp_path):
    source = SingleModelSource(make_model(tmp_path / "model", 1.0, [2.0, 3.0]))
    with BackgroundServer(ServingApp(source, max_request_bytes=LIMIT)) as server:
        yield server


@pytest.fixture
def multi(tmp_path):
    root = tmp_path / "models"
    make_model(root / "Chicago", 0.0, [1.0, 1.0])
    make_model(root / "team_a" / "Houston", 100.0, [10.0, 0.0])
    (make_model(root / "Broken", 0.0, [1.0], handler="failing_handler") / "broken").touch()
    with BackgroundServer(ServingApp(DirectoryModelSource(root), LIMIT), threads=8) as server:
        yield server


def error_of(status: int, headers: dict[str, str], body: bytes) -> dict:
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["status"] == status
    assert payload["request_id"] == headers["X-Request-Id"]
    assert "Traceback" not in payload["error"]
    return payload


class TestSingleModel:
    def test_ping_answers_200_when_the_model_loads(self, single):
        status, _, body = request(single, "GET", "/ping")
        assert (status, json.loads(body)) == (200, {"status": "healthy"})

    def test_csv_in_csv_out(self, single):
        status, headers, body = invoke(single, b"1,2\n0,0\n", Accept="text/csv")
        assert status == 200
        assert headers["Content-Type"] == "text/csv"
        assert body == b"9.0\n1.0\n"

    def test_json_in_json_out_with_charset_and_accept_list(self, single):
        status, headers, body = invoke(
            single, json.dumps({"instances": [[1, 1]]}).encode(),
            "application/json; charset=utf-8", Accept="application/json, text/csv;q=0.5")
        assert (status, headers["Content-Type"]) == (200, "application/json")
        assert json.loads(body) == {"predictions": [6.0]}

    def test_accept_defaults_to_the_request_content_type(self, single):
        status, headers, body = invoke(single, b"2,0\n", Accept="*/*")
        assert (status, headers["Content-Type"], body) == (200, "text/csv", b"5.0\n")

    @pytest.mark.parametrize("body, fragment", [
        (b"1,abc\n", "CSV rows must be numbers"),
        (b"1,2,3\n", "each row needs 2 features, got 3"),
    ])
    def test_bad_payload_is_400_with_the_handlers_message(self, single, body, fragment):
        status, headers, raw = invoke(single, body)
        assert status == 400
        assert fragment in error_of(400, headers, raw)["error"]

    def test_unsupported_content_type_is_415(self, single):
        status, headers, raw = invoke(single, b"<x/>", "application/xml")
        assert status == 415
        assert "'application/xml' is not text/csv" in error_of(415, headers, raw)["error"]

    def test_missing_content_type_is_415(self, single):
        status, headers, raw = invoke(single, b"1,2\n", content_type=None)
        assert status == 415
        assert error_of(415, headers, raw)["error"] == "the request has no Content-Type header"

    def test_unsupported_accept_is_406(self, single):
        status, headers, raw = invoke(single, b"1,2\n", Accept="image/png")
        assert status == 406
        error_of(406, headers, raw)

    def test_empty_body_is_400(self, single):
        status, headers, raw = invoke(single, b"")
        assert status == 400
        assert error_of(400, headers, raw)["error"] == "the request body is empty"

    def test_body_at_the_limit_is_served_and_one_byte_more_is_413(self, single):
        at_limit = b"1,2\n" * (LIMIT // 4)
        assert len(at_limit) == LIMIT
        status, _, body = invoke(single, at_limit)
        assert status == 200
        assert body.count(b"9.0\n") == LIMIT // 4
        status, headers, raw = invoke(single, at_limit + b"\n")
        assert status == 413
        assert error_of(413, headers, raw)["error"] == "request body exceeds the 1024-byte limit"

    def test_a_huge_declared_body_is_refused_before_it_is_sent(self, single):
        with socket.create_connection(("127.0.0.1", single.port), timeout=30) as sock:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         b"Content-Length: 1073741824\r\n\r\n1,2\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 413 ")

    def test_target_model_header_is_refused_by_a_single_model_endpoint(self, single):
        status, headers, raw = invoke(single, b"1,2\n", **{TARGET: "Chicago.tar.gz"})
        assert status == 400
        assert "serves a single model" in error_of(400, headers, raw)["error"]

    def test_unknown_route_and_wrong_method(self, single):
        status, headers, raw = request(single, "GET", "/predict")
        assert status == 404
        assert "GET /ping and POST /invocations" in error_of(404, headers, raw)["error"]
        status, headers, raw = request(single, "GET", "/invocations")
        assert (status, headers["Allow"]) == (405, "POST")
        error_of(405, headers, raw)


class TestResponseContentType:
    @pytest.fixture
    def labelled(self, tmp_path):
        model = make_model(tmp_path / "model", 0.0, [], handler="labelled_handler")
        with BackgroundServer(ServingApp(SingleModelSource(model))) as server:
            yield server

    def test_the_handlers_hook_names_the_type_of_a_bare_body(self, labelled):
        status, headers, body = invoke(labelled, b"1,2", Accept="application/*")
        assert (status, headers["Content-Type"], json.loads(body)) == (
            200, "application/json", [2.0, 4.0])

    def test_the_hook_can_refuse_an_accept_type(self, labelled):
        status, headers, raw = invoke(labelled, b"1,2", Accept="text/csv")
        assert status == 406
        assert "ask for application/json" in error_of(406, headers, raw)["error"]


class TestHandlerFailures:
    def test_a_handler_bug_is_500_without_details_and_logged_with_them(self, tmp_path, caplog):
        model = make_model(tmp_path / "model", 0.0, [], handler="failing_handler")
        with BackgroundServer(ServingApp(SingleModelSource(model))) as server, \
                caplog.at_level(logging.ERROR, logger="steps.serve"):
            status, headers, raw = invoke(server, b"1\n")
        payload = error_of(500, headers, raw)
        assert status == 500
        assert payload["error"] == "internal error in predict_fn; see the endpoint's log"
        assert b"internal-secret-key" not in raw
        records = [r for r in caplog.records if payload["request_id"] in r.getMessage()]
        assert len(records) == 1, caplog.text
        assert records[0].exc_info is not None
        assert "internal-secret-key" in caplog.text

    def test_ping_is_503_when_the_model_cannot_load(self, tmp_path):
        model = make_model(tmp_path / "model", 0.0, [], handler="failing_handler")
        (model / "broken").touch()
        with BackgroundServer(ServingApp(SingleModelSource(model))) as server:
            status, headers, raw = request(server, "GET", "/ping")
            assert status == 503
            error_of(503, headers, raw)
            status, headers, raw = invoke(server, b"1\n")
        assert status == 500
        assert b"internal-load-secret" not in raw
        assert "failed to load" in error_of(500, headers, raw)["error"]


class TestMultiModel:
    def test_each_target_gets_its_own_model(self, multi):
        assert invoke(multi, b"1,2\n", **{TARGET: "Chicago.tar.gz"})[2] == b"3.0\n"
        assert invoke(multi, b"1,2\n", **{TARGET: "Chicago"})[2] == b"3.0\n"
        assert invoke(multi, b"1,2\n", **{TARGET: "team_a/Houston.tar.gz"})[2] == b"110.0\n"

    def test_unknown_target_is_404(self, multi):
        status, headers, raw = invoke(multi, b"1,2\n", **{TARGET: "Dallas.tar.gz"})
        assert status == 404
        assert error_of(404, headers, raw)["error"] == (
            "unknown target model 'Dallas.tar.gz': no model named 'Dallas' on this endpoint")

    @pytest.mark.parametrize("target", ["", "../models/Chicago", "/etc", "a/./b"])
    def test_missing_or_escaping_target_is_400(self, multi, target):
        headers = {TARGET: target} if target else {}
        status, response_headers, raw = invoke(multi, b"1,2\n", **headers)
        assert status == 400
        error_of(400, response_headers, raw)

    def test_a_broken_model_is_500_and_the_others_keep_serving(self, multi):
        status, headers, raw = invoke(multi, b"1\n", **{TARGET: "Broken"})
        assert status == 500
        assert error_of(500, headers, raw)["error"] == (
            "model 'Broken' failed to load; see the endpoint's log")
        assert invoke(multi, b"1,1\n", **{TARGET: "Chicago"})[:1] == (200,)

    def test_concurrent_requests_are_correct_and_each_model_loads_once(self, multi):
        import linear_handler

        jobs = [("Chicago", i, float(2 * i)) for i in range(24)]
        jobs += [("team_a/Houston", i, 100.0 + 10 * i) for i in range(24)]

        def call(job):
            target, x, _ = job
            return invoke(multi, f"{x},{x}\n".encode(), **{TARGET: target})

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(call, jobs))
        assert [(s, float(b)) for s, _, b in results] == [(200, want) for *_, want in jobs]
        assert sorted(Path(p).name for p in linear_handler.LOADS) == ["Chicago", "Houston"]

    def test_ping_is_503_when_the_model_root_is_missing(self, tmp_path):
        app = ServingApp(DirectoryModelSource(tmp_path / "absent"))
        with BackgroundServer(app) as server:
            assert request(server, "GET", "/ping")[0] == 503


class TestHandlerSelection:
    def test_explicit_module_wins_over_serving_json(self, tmp_path):
        model = make_model(tmp_path / "m", 0.0, [1.0], handler="failing_handler")
        assert handler_name_for(model, "linear_handler") == "linear_handler"
        assert handler_name_for(model) == "failing_handler"

    def test_a_model_without_serving_json_needs_a_handler(self, tmp_path):
        model = make_model(tmp_path / "m", 0.0, [1.0], handler=None)
        with pytest.raises(HandlerError, match="has no serving.json; pass --handler MODULE"):
            handler_name_for(model)

    def test_malformed_serving_json(self, tmp_path):
        model = make_model(tmp_path / "m", 0.0, [1.0], handler=None)
        (model / HANDLER_FILE).write_text('{"module": "x"}')
        with pytest.raises(HandlerError, match=r'must be JSON like \{"handler"'):
            handler_name_for(model)

    def test_module_lacking_hooks_or_missing(self):
        with pytest.raises(HandlerError, match="'incomplete_handler' lacks predict_fn, output_fn"):
            load_handler("incomplete_handler")
        with pytest.raises(HandlerError, match="cannot import handler module 'no_such_handler'"):
            load_handler("no_such_handler")


def test_stop_closes_the_port_and_ends_the_thread(tmp_path):
    server = BackgroundServer(ServingApp(SingleModelSource(make_model(tmp_path / "m", 0, [1]))))
    server.start()
    assert request(server, "GET", "/ping")[0] == 200
    server.stop()
    assert not server._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
