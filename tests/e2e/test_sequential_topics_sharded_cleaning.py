"""The topic pipeline's cleaning through the local runner on 1 and 2 instances
(ProcessingInstanceCount): each host cleans its own rows, MergeCorpus writes the same corpus."""
from __future__ import annotations

import json

import pytest

from pipelines.cli import run_pipeline
from pipelines.sequential_topics.sample_data import sample_csv
from runtime.ports.object_store import LocalObjectStore
from steps.sequential_topics import contract

pytestmark = pytest.mark.e2e

BUCKET = "s3://sagemaker-us-east-1-000000000000"
PIPELINE = f"{BUCKET}/SequentialTopicsPipeline"
N_DOCS = 150


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Only PreprocessText and MergeCorpus (selective execution), with 1 and 2 instances."""
    root = tmp_path_factory.mktemp("cleaning-root")
    store = LocalObjectStore(root)
    store.write_bytes(f"{PIPELINE}/sample-data/bbc-news.csv", sample_csv(N_DOCS))
    outputs = {}
    for count in (1, 2):
        before = set(store.list_uris(f"{PIPELINE}/"))
        code = run_pipeline.main([
            "--local", "--local-root", str(root), "--no-tracking", "-n",
            "pipelines.sequential_topics.pipeline", "--steps", "PreprocessText,MergeCorpus",
            "--parameters", json.dumps({"ProcessingInstanceCount": count})])
        assert code == 0
        # s3://bucket/SequentialTopicsPipeline/<execution>/<step>/... -> "<step>/..."
        outputs[count] = {uri.split("/", 5)[-1]: store.read_bytes(uri)
                          for uri in set(store.list_uris(f"{PIPELINE}/")) - before}
    return outputs


def _by_step(files: dict[str, bytes], step: str) -> dict[str, bytes]:
    """The files one step wrote, by their path under the step's folder."""
    return {path.removeprefix(f"{step}/"): data for path, data in files.items()
            if path.startswith(f"{step}/")}


def test_each_instance_cleans_its_own_rows(runs):
    shards = _by_step(runs[2], "PreprocessText")
    assert sorted(shards) == ["shards/shard-algo-1.csv", "shards/shard-algo-1.json",
                              "shards/shard-algo-2.csv", "shards/shard-algo-2.json"]
    report = json.loads(_by_step(runs[2], "MergeCorpus")[f"report/{contract.DATA_REPORT}"])
    assert [(h["host"], h["rows"]) for h in report["hosts"]] == [
        ("algo-1", N_DOCS - N_DOCS // 2), ("algo-2", N_DOCS // 2)]


def test_two_instances_merge_into_the_one_instance_corpus(runs):
    one, two = (_by_step(runs[n], "MergeCorpus") for n in (1, 2))
    assert sorted(one) == sorted(two)
    parts = [name for name in one if name.startswith("corpus/")]
    assert len(parts) == 4
    assert {name: one[name] for name in parts} == {name: two[name] for name in parts}
    settings = f"report/{contract.PREPROCESSING_CONFIG}"
    assert one[settings] == two[settings]
