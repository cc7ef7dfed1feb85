"""Regression tests for issue 14's classes 1 and 4 at the HTTP edge: the local multi-model
endpoint (real handler, real models, loopback HTTP) refuses pathological bodies and names
with a 4xx JSON error, counts no load failure, and keeps serving."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.serving import artifact_store, build_app
from steps.serve import BackgroundServer
from steps.serve.model_cache import ModelCache
from tests.pipelines.cli.multi_model_endpoint.conftest import invoke, publish, request, versions

pytestmark = pytest.mark.integration

GOOD = "new-york/v1.tar.gz"


@pytest.fixture
def live(tmp_path, trained) -> Path:
    return publish(trained, tmp_path / "live", versions(3))


@contextlib.contextmanager
def serving(prefix: Path) -> Iterator[int]:
    with ModelCache(artifact_store(str(prefix)), max_models=2) as cache, \
            BackgroundServer(build_app(cache), threads=4) as server:
        yield server.port


def counters(port: int) -> dict:
    answer = request(port, "GET", "/metrics")[1]
    return {key: answer[key] for key in ("load_failures", "errors", "loads")}


class TestClass1PathologicalStructure:
    @pytest.mark.parametrize("body, content_type, message", [
        (b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json",
         "the request body is JSON nested deeper than 64 levels"),
        (b'{"instances": ' + b"[" * 100 + b"]" * 100 + b"}", "application/json",
         "the request body is nested deeper than 64 levels (at instances[0][0]"),
        (b"year_built\n" + b"9" * 200_000 + b"\n", "text/csv",
         "the request body is not readable CSV (field larger than field limit (131072))"),
        (b'{"instances": [{"year_built": 1}], "x": ' + b'{"a": ' * 900 + b"1" + b"}" * 900
         + b"}", "application/json", "the request body is nested deeper than 64 levels"),
    ])
    def test_a_pathological_body_is_a_400_and_the_endpoint_keeps_serving(
            self, live, body, content_type, message):
        with serving(live) as port:
            answer = invoke(port, GOOD, body=body, content_type=content_type)
            after = invoke(port, GOOD)
        assert answer[0] == 400
        assert answer[1]["error"].startswith(message) and len(answer[1]["error"]) <= 300
        assert after[0] == 200


class TestClass4NamesTheFilesystemRejects:
    @pytest.mark.parametrize("target, message", [
        ("x" * 300 + ".tar.gz", "has a path segment of 307 bytes; a file name holds at most 255"),
        ("a/" * 3000 + "m.tar.gz", "is 6008 characters; the limit is 1024"),
        ("é" * 130 + "/v1.tar.gz", "has a path segment of 260 bytes"),
    ])
    def test_a_name_no_filesystem_takes_is_a_400_not_a_load_failure(self, live, target,
                                                                     message):
        with serving(live) as port:
            answer = invoke(port, target)
            after = invoke(port, GOOD)
            counts = counters(port)
        assert answer[0] == 400 and message in answer[1]["error"]
        assert len(answer[1]["error"]) <= 300
        assert after[0] == 200
        assert counts == {"load_failures": 0, "errors": 0, "loads": 1}
