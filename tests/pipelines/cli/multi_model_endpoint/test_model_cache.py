"""ModelCache and the artifact stores without HTTP: held models outlive eviction, one load per
model under concurrent first requests, cleanup, and which names a prefix offers."""
from __future__ import annotations

import gc
import json
import os
import threading

import pytest

from runtime.ports.object_store import LocalObjectStore
from runtime.serving import ObjectStoreArtifacts
from steps.common.arguments import byte_size
from steps.multi_model import inference
from steps.serve.model_cache import ArtifactStore, DirectoryArtifacts, ModelCache
from steps.serve.models import ModelLoadError, TargetModelError, UnknownModel
from tests.pipelines.cli.multi_model_endpoint.conftest import HOUSE, publish, versions

pytestmark = pytest.mark.integration

BODY = json.dumps({"instances": [HOUSE]}).encode()


@pytest.fixture
def store(tmp_path, trained) -> DirectoryArtifacts:
    return DirectoryArtifacts(publish(trained, tmp_path / "live", versions(6)))


def predict(loaded) -> float:
    data = loaded.handler.input_fn(BODY, "application/json")
    return float(loaded.handler.predict_fn(data, loaded.model).values[0])


class TestHeldModels:
    def test_an_evicted_model_in_use_keeps_its_directory_until_released(self, store):
        with ModelCache(store, max_models=1) as cache:
            held = cache.get("chicago/v1.tar.gz")
            expected = predict(held)
            cache.get("new-york/v1.tar.gz")  # evicts chicago while we hold it
            assert held.model_dir.is_dir()
            assert predict(held) == expected
            assert cache.stats()["evicted_in_use"] == 1
            directory = held.model_dir
            del held
            gc.collect()
            assert not directory.exists()
            assert cache.stats()["evicted_in_use"] == 0
            assert [m["name"] for m in cache.describe()["loaded"]] == ["new-york/v1.tar.gz"]

    def test_concurrent_first_requests_load_a_model_once(self, store):
        barrier = threading.Barrier(8)
        got = []

        def first_request():
            barrier.wait()
            got.append(cache.get("phoenix/v2.tar.gz"))

        with ModelCache(store) as cache:
            threads = [threading.Thread(target=first_request) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            counts = cache.stats()
        assert len(got) == 8 and len({id(loaded) for loaded in got}) == 1
        assert (counts["loads"], counts["hits"] + counts["misses"]) == (1, 8)

    def test_close_removes_every_extracted_model(self, store):
        cache = ModelCache(store, max_models=2)
        for name in ("chicago/v1.tar.gz", "new-york/v1.tar.gz", "phoenix/v1.tar.gz"):
            cache.get(name)
        assert len(os.listdir(cache.cache_dir)) == 2
        cache.close()
        assert not cache.cache_dir.exists()
        assert not cache.healthy()

    def test_a_given_cache_dir_is_kept_but_emptied(self, store, tmp_path):
        with ModelCache(store, cache_dir=tmp_path / "cache") as cache:
            cache.get("chicago/v1.tar.gz")
            assert len(os.listdir(tmp_path / "cache")) == 1
        assert os.listdir(tmp_path / "cache") == []


class BrokenStore(ArtifactStore):
    """A store whose reads fail with an error the cache does not know."""

    location = "a broken disk"

    def names(self) -> list[str]:
        return ["chicago/v1.tar.gz"]

    def open(self, name: str):
        raise RuntimeError("I/O error reading the disk")


class TestFailures:
    def test_an_unexpected_load_failure_is_a_load_error_and_is_retried(self):
        with ModelCache(BrokenStore()) as cache:
            for _ in range(2):  # the second request loads again rather than hanging
                with pytest.raises(ModelLoadError, match="model 'chicago/v1.tar.gz' failed "
                                                         "to load; see the endpoint's log"):
                    cache.get("chicago/v1.tar.gz")
            counts = cache.stats()
            leftovers = os.listdir(cache.cache_dir)
        assert (counts["load_failures"], counts["errors"], counts["loading"]) == (2, 2, 0)
        assert leftovers == []  # the failed loads' directories are gone


class TestValidation:
    @pytest.mark.parametrize("bounds", [{"max_models": 0}, {"max_bytes": -1},
                                        {"max_models": True}, {"max_bytes": 1.5}])
    def test_bounds_must_be_positive_integers(self, store, bounds):
        with pytest.raises(ValueError, match="must be a positive integer or None"):
            ModelCache(store, **bounds)

    @pytest.mark.parametrize("target", ["", None, "/abs/v1.tar.gz", "a/../b.tar.gz",
                                        "a/.hidden.tar.gz", ".tar.gz", "a\\b.tar.gz"])
    def test_target_names_are_relative_artifact_paths(self, store, target):
        with ModelCache(store) as cache, pytest.raises(TargetModelError):
            cache.get(target)

    def test_a_symlink_out_of_the_prefix_is_unknown(self, store, trained, tmp_path):
        outside = tmp_path / "outside.tar.gz"
        outside.write_bytes(trained.archive("chicago").read_bytes())
        (store.root / "escape.tar.gz").symlink_to(outside)
        with ModelCache(store) as cache, pytest.raises(UnknownModel, match="escape.tar.gz"):
            cache.get("escape.tar.gz")

    @pytest.mark.parametrize("text, expected", [("1048576", 2**20), ("512M", 512 * 2**20),
                                                ("2GiB", 2 * 2**30), ("64k", 64 * 1024)])
    def test_byte_sizes(self, text, expected):
        assert byte_size(text) == expected


class TestArtifactNames:
    def test_a_directory_offers_its_tar_gz_files_but_not_hidden_or_other_files(self, store):
        (store.root / "chicago" / ".v9.tar.gz.tmp1").write_bytes(b"partial")
        (store.root / "chicago" / ".v9.tar.gz").write_bytes(b"partial")
        (store.root / "notes.txt").write_text("not a model")
        assert store.names() == sorted(versions(6))

    def test_an_s3_prefix_offers_only_keys_under_it(self, tmp_path, trained):
        publish(trained, tmp_path / "bucket" / "staging", {"chicago/v1.tar.gz": "chicago"})
        publish(trained, tmp_path / "bucket" / "staging-old", {"phoenix/v1.tar.gz": "phoenix"})
        (tmp_path / "bucket" / "staging" / "manifest.json").write_text("{}")
        artifacts = ObjectStoreArtifacts(LocalObjectStore(tmp_path), "s3://bucket/staging")
        assert artifacts.names() == ["chicago/v1.tar.gz"]
        with ModelCache(artifacts) as cache:
            assert cache.get("chicago/v1.tar.gz").model.segment == "Chicago"
            with pytest.raises(UnknownModel, match="no such artifact under "
                                                   "s3://bucket/staging/"):
                cache.get("phoenix/v1.tar.gz")

    def test_the_inference_handler_is_found_through_serving_json(self, store):
        with ModelCache(store) as cache:
            assert cache.get("new-york/v2.tar.gz").handler.name == inference.__name__
