"""The local multi-model endpoint over real HTTP on loopback: segments, LRU eviction by count
and by bytes, clear errors after which it keeps serving, concurrent requests during eviction."""
from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from runtime.serving import artifact_store, build_app
from steps.multi_model import inference
from steps.serve import BackgroundServer, ServingApp
from steps.serve.model_cache import ArtifactStore, ModelCache
from tests.pipelines.cli.multi_model_endpoint.conftest import (
    CITIES,
    HOUSE,
    invoke,
    pack,
    publish,
    request,
    versions,
)

pytestmark = pytest.mark.integration

SEGMENT_OF = {ident: name for name, ident in CITIES.items()}


@contextlib.contextmanager
def serving(store: ArtifactStore, threads: int = 8, **bounds) -> Iterator[int]:
    """The endpoint over `store` on a free loopback port; yields the port."""
    with ModelCache(store, **bounds) as cache, \
            BackgroundServer(build_app(cache), threads=threads) as server:
        yield server.port


def extracted_bytes(model_dir: Path) -> int:
    return sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())


def metrics(port: int) -> dict:
    status, answer = request(port, "GET", "/metrics")
    assert status == 200
    return answer


def loaded(port: int) -> list[str]:
    status, answer = request(port, "GET", "/models")
    assert status == 200
    return [model["name"] for model in answer["loaded"]]


@pytest.fixture
def prefix(tmp_path, trained) -> Path:
    return publish(trained, tmp_path / "live", versions(3))


class TestSegments:
    def test_each_target_answers_with_its_segments_preprocessor_and_model(self, prefix,
                                                                         trained):
        houses = [HOUSE, {**HOUSE, "deck": "no", "square_feet": 1900, "year_built": 1980}]
        with serving(artifact_store(str(prefix))) as port:
            answers = {ident: invoke(port, f"{ident}/v1.tar.gz", houses)
                       for ident in CITIES.values()}
        for ident, (status, answer) in answers.items():
            model = inference.model_fn(str(trained.model_dir(ident)))
            expected = inference.predict_fn(inference.input_fn(
                json.dumps({"instances": houses}).encode(), "application/json"), model).values
            assert status == 200
            assert answer["segment"] == SEGMENT_OF[ident]
            np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-6)
        predictions = {round(a["predictions"][0]) for _, a in answers.values()}
        assert len(predictions) == 3  # the cities' models really differ

    def test_models_lists_available_and_loaded_and_metrics_count_hits(self, prefix):
        with serving(artifact_store(str(prefix))) as port:
            before = request(port, "GET", "/models")[1]
            for target in ("chicago/v1.tar.gz", "chicago/v1.tar.gz", "new-york/v1.tar.gz"):
                assert invoke(port, target)[0] == 200
            after = request(port, "GET", "/models")[1]
            counts = metrics(port)
        assert before["available"] == ["chicago/v1.tar.gz", "new-york/v1.tar.gz",
                                       "phoenix/v1.tar.gz"]
        assert before["loaded"] == []
        assert [m["name"] for m in after["loaded"]] == ["new-york/v1.tar.gz",
                                                        "chicago/v1.tar.gz"]  # most recent 1st
        assert [m["hits"] for m in after["loaded"]] == [0, 1]
        assert all(m["bytes"] > 0 and m["load_seconds"] > 0 for m in after["loaded"])
        assert {k: counts[k] for k in ("hits", "misses", "loads", "evictions", "errors")} == \
            {"hits": 1, "misses": 2, "loads": 2, "evictions": 0, "errors": 0}
        assert counts["hit_rate"] == pytest.approx(1 / 3, abs=1e-6)
        assert counts["load_seconds"]["count"] == 2
        assert counts["load_seconds"]["max"] >= counts["load_seconds"]["median"] > 0
        assert counts["loaded_bytes"] == sum(m["bytes"] for m in after["loaded"])

    def test_an_artifact_copied_in_later_is_served_from_the_local_store(self, tmp_path,
                                                                        trained):
        root = tmp_path / ".sagemaker-local"
        staging = root / "bucket" / "MultiModelPipeline" / "staging"
        publish(trained, staging, {"phoenix/v1.tar.gz": "phoenix"})
        publish(trained, root / "bucket" / "MultiModelPipeline" / "staging2",
                {"chicago/v1.tar.gz": "chicago"})  # a sibling prefix, not under staging/
        store = artifact_store("s3://bucket/MultiModelPipeline/staging", root)
        with serving(store) as port:
            first = request(port, "GET", "/models")[1]["available"]
            assert invoke(port, "chicago/v1.tar.gz")[0] == 404
            publish(trained, staging, {"chicago/v1.tar.gz": "chicago"})
            status, answer = invoke(port, "chicago/v1.tar.gz")
        assert first == ["phoenix/v1.tar.gz"]
        assert (status, answer["segment"]) == (200, "Chicago")


class TestEviction:
    def test_the_least_recently_used_model_goes_when_over_the_count(self, prefix):
        with serving(artifact_store(str(prefix)), max_models=2) as port:
            for ident in ("chicago", "new-york", "chicago", "phoenix"):
                assert invoke(port, f"{ident}/v1.tar.gz")[0] == 200
            after_phoenix = loaded(port)
            status, answer = invoke(port, "new-york/v1.tar.gz")  # evicted: loads again
            counts = metrics(port)
            final = loaded(port)
        assert after_phoenix == ["phoenix/v1.tar.gz", "chicago/v1.tar.gz"]
        assert (status, answer["segment"]) == (200, "New York")
        assert final == ["new-york/v1.tar.gz", "phoenix/v1.tar.gz"]
        assert (counts["loads"], counts["evictions"], counts["hits"]) == (4, 2, 1)
        assert counts["loaded_models"] == 2

    def test_models_go_when_over_the_byte_bound(self, prefix, trained):
        sizes = {ident: extracted_bytes(trained.model_dir(ident)) for ident in CITIES.values()}
        bound = sizes["chicago"] + sizes["new-york"]  # both fit; adding phoenix does not
        assert bound - min(sizes.values()) < sizes["phoenix"] + max(sizes.values())
        with serving(artifact_store(str(prefix)), max_bytes=bound) as port:
            for ident in ("chicago", "new-york"):
                assert invoke(port, f"{ident}/v1.tar.gz")[0] == 200
            both = metrics(port)
            assert invoke(port, "phoenix/v1.tar.gz")[0] == 200
            after = metrics(port)
            final = loaded(port)
        assert (both["loaded_models"], both["loaded_bytes"], both["evictions"]) == (2, bound, 0)
        assert after["evictions"] >= 1 and after["loaded_bytes"] <= bound
        assert final[0] == "phoenix/v1.tar.gz" and "chicago/v1.tar.gz" not in final
        assert after["loaded_bytes"] == sum(sizes[name.split("/")[0]] for name in final)

    def test_a_model_larger_than_the_byte_bound_answers_507_and_others_still_load(
            self, prefix, trained, tmp_path):
        big = tmp_path / "big"
        shutil.copytree(trained.model_dir("chicago"), big)
        (big / "padding.bin").write_bytes(b"\0" * 400_000)
        pack(big, prefix / "big" / "v1.tar.gz")
        with serving(artifact_store(str(prefix)), max_bytes=300_000) as port:
            status, answer = invoke(port, "big/v1.tar.gz")
            ok = invoke(port, "phoenix/v1.tar.gz")[0]
            counts = metrics(port)
        assert status == 507
        assert re.fullmatch(r"model 'big/v1\.tar\.gz' takes \d+ bytes, more than the cache's "
                            r"whole byte bound of 300000; raise --max-bytes", answer["error"])
        assert ok == 200
        assert (counts["load_failures"], counts["loads"], counts["errors"]) == (1, 1, 1)


class TestErrors:
    @pytest.fixture
    def broken_prefix(self, prefix, trained, tmp_path) -> Path:
        (prefix / "corrupt").mkdir()
        (prefix / "corrupt" / "v1.tar.gz").write_bytes(b"this is not a gzip tar archive")
        unlabelled = tmp_path / "unlabelled"
        shutil.copytree(trained.model_dir("phoenix"), unlabelled)
        (unlabelled / "serving.json").unlink()
        pack(unlabelled, prefix / "unlabelled" / "v1.tar.gz")
        return prefix

    @pytest.mark.parametrize("target, body, content_type, status, message", [
        (None, None, "application/json", 400, "name the model in the "
         "X-Amzn-SageMaker-Target-Model header"),
        ("../live/chicago/v1.tar.gz", None, "application/json", 400,
         "is not a relative artifact name like 'new-york/v3.tar.gz'"),
        ("chicago/v1", None, "application/json", 400, "is not a relative artifact name"),
        ("dallas/v1.tar.gz", None, "application/json", 404,
         "unknown target model 'dallas/v1.tar.gz': no such artifact under"),
        ("chicago/v1.tar.gz", b'{"instances": [{"sqft": 3}]}', "application/json", 400,
         "unknown feature name(s) ['sqft']"),
        ("chicago/v1.tar.gz", b"{not json", "application/json", 400, "is not valid JSON"),
        ("chicago/v1.tar.gz", b"a,b\n1,2\n", "text/plain", 415,
         "content type 'text/plain' is not supported"),
        ("corrupt/v1.tar.gz", None, "application/json", 500,
         "model 'corrupt/v1.tar.gz' failed to load: its artifact is not a readable .tar.gz"),
        ("unlabelled/v1.tar.gz", None, "application/json", 500,
         "model 'unlabelled/v1.tar.gz' failed to load; see the endpoint's log"),
    ])
    def test_a_clear_error_then_the_endpoint_keeps_serving(self, broken_prefix, target, body,
                                                           content_type, status, message):
        with serving(artifact_store(str(broken_prefix)), max_models=2) as port:
            answer = invoke(port, target, body=body, content_type=content_type)
            after = invoke(port, "new-york/v1.tar.gz")
            ping = request(port, "GET", "/ping")[0]
        assert answer[0] == status
        assert message in answer[1]["error"]
        assert after[0] == 200 and after[1]["segment"] == "New York"
        assert ping == 200

    def test_failed_loads_are_counted_and_retried_not_cached(self, broken_prefix):
        with serving(artifact_store(str(broken_prefix))) as port:
            statuses = [invoke(port, target)[0] for target in (
                "corrupt/v1.tar.gz", "corrupt/v1.tar.gz", "unlabelled/v1.tar.gz",
                "dallas/v1.tar.gz", "chicago/v1.tar.gz")]
            counts = metrics(port)
            models = request(port, "GET", "/models")[1]
        assert statuses == [500, 500, 500, 404, 200]
        assert {k: counts[k] for k in ("load_failures", "errors", "unknown_target", "loads")} \
            == {"load_failures": 3, "errors": 3, "unknown_target": 1, "loads": 1}
        assert [m["name"] for m in models["loaded"]] == ["chicago/v1.tar.gz"]


class TestRoutes:
    def test_the_extra_routes_are_get_only_and_listed_for_unknown_paths(self, prefix):
        with serving(artifact_store(str(prefix))) as port:
            wrong_method = request(port, "POST", "/models", b"{}")
            unknown = request(port, "GET", "/model")
        assert wrong_method == (405, {**wrong_method[1], "error": "/models accepts GET, not "
                                                                    "POST"})
        assert unknown[0] == 404
        assert unknown[1]["error"] == ("no route '/model': this server answers GET /ping, "
                                       "POST /invocations, GET /models and GET /metrics")

    def test_an_extra_route_may_not_replace_the_hosting_contract(self, prefix):
        with ModelCache(artifact_store(str(prefix))) as cache, \
                pytest.raises(ValueError, match="json route '/ping' must start with '/' and "
                                                "not replace /ping or /invocations"):
            ServingApp(cache, json_routes={"/ping": cache.stats})


class TestConcurrency:
    def test_no_request_fails_while_models_are_evicted_under_load(self, tmp_path, trained):
        names = versions(9)  # 9 names over 3 segments, 3 fit at once
        prefix = publish(trained, tmp_path / "live", names)
        targets = [name for name in names for _ in range(16)]
        random.Random(5).shuffle(targets)
        with serving(artifact_store(str(prefix)), threads=8, max_models=3) as port, \
                ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda t: (t, invoke(port, t)), targets))
            counts = metrics(port)
        failures = [(t, status, a) for t, (status, a) in answers if status != 200]
        assert failures == []
        assert all(a["segment"] == SEGMENT_OF[names[t]] for t, (_, a) in answers)
        assert counts["hits"] + counts["misses"] == len(targets)
        assert counts["errors"] == counts["load_failures"] == 0
        assert counts["evictions"] >= 6 and counts["loaded_models"] <= 3
        assert counts["evictions"] == counts["loads"] - counts["loaded_models"]


class TestCommand:
    def start(self, *args: str) -> tuple[subprocess.Popen, int]:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli.multi_model_endpoint", *args, "--port", "0"],
            stderr=subprocess.PIPE, text=True)
        for line in process.stderr:
            if match := re.search(r"on http://127\.0\.0\.1:(\d+) ", line):
                return process, int(match[1])
        raise AssertionError(f"the endpoint did not start: {process.wait(30)}")

    def test_serves_a_prefix_with_its_bounds_and_stops_cleanly(self, prefix, tmp_path):
        cache_dir = tmp_path / "cache"
        process, port = self.start(str(prefix), "--max-models", "1", "--max-bytes", "1M",
                                   "--cache-dir", str(cache_dir))
        try:
            answers = [invoke(port, f"{ident}/v1.tar.gz") for ident in ("phoenix", "chicago")]
            counts = metrics(port)
            extracted = sorted(p.name.split("_")[0] for p in cache_dir.iterdir())
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(30)
            process.stderr.close()
        assert [(s, a["segment"]) for s, a in answers] == [(200, "Phoenix"), (200, "Chicago")]
        assert (counts["max_models"], counts["max_bytes"], counts["evictions"]) == \
            (1, 2**20, 1)
        assert extracted == ["chicago"]  # phoenix's directory went with it
        assert code == 0
        assert list(cache_dir.iterdir()) == []  # the loaded models are removed at exit

    @pytest.mark.parametrize("args, message", [
        (["/no/such/dir"], "PREFIX '/no/such/dir' is neither an s3://bucket/prefix URI nor an "
                           "existing directory"),
        (["s3://bucket/staging", "--local-root", "/no/such/root"],
         "--local-root /no/such/root does not exist"),
        (["s3:///staging", "--local-root", "."], "has no bucket name"),
        ([".", "--max-bytes", "lots"], "--max-bytes: must be a positive size in bytes like "
                                       "1048576, 512M or 2GiB, got 'lots'"),
        ([".", "--max-models", "0"], "--max-models: must be a whole number of at least 1"),
    ])
    def test_bad_arguments_end_with_one_line(self, args, message):
        done = subprocess.run([sys.executable, "-m", "pipelines.cli.multi_model_endpoint", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert message in done.stderr.strip().splitlines()[-1]


def test_archives_hold_the_model_files_at_the_root(trained):
    with tarfile.open(trained.archive("chicago")) as archive:
        names = sorted(archive.getnames())
    assert names == ["metadata.json", "preprocessor.joblib", "serving.json",
                     "xgboost-model.json"]
