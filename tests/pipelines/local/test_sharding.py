"""Processing with InstanceCount > 1: parallel instances, ShardedByS3Key shares, host config."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local import run_local_pipeline
from pipelines.local.sharding import shard
from pipelines.local.store import local_store

from . import definitions as d

pytestmark = pytest.mark.integration

SHARDS = f"s3://{d.BUCKET}/shards"
SHARED = f"s3://{d.BUCKET}/shared"
INVENTORY = f"s3://{d.BUCKET}/inventory"
OBJECTS = [f"{SHARDS}/part-{i:02d}.csv" for i in range(5)] + [
    f"{SHARDS}/nested/part-{i:02d}.csv" for i in range(2)]


def definition(barrier: Path, count: int = 3, *extra: str) -> dict:
    sharded = d.s3_input("sharded", SHARDS, "/opt/ml/processing/sharded")
    sharded["S3Input"]["S3DataDistributionType"] = "ShardedByS3Key"
    step = d.processing(
        "Inventory", "shard_inventory.py",
        [sharded, d.s3_input("replicated", SHARED, "/opt/ml/processing/replicated")],
        {"inventory": INVENTORY},
        ["--sharded", "/opt/ml/processing/sharded", "--replicated",
         "/opt/ml/processing/replicated", "--config", "/opt/ml/config/resourceconfig.json",
         "--output", "/opt/ml/processing/inventory", "--barrier", str(barrier), *extra])
    step["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = count
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}


@pytest.fixture
def shard_root(local_root: Path) -> Path:
    store = local_store(local_root)
    for uri in OBJECTS:
        store.write_bytes(uri, uri.encode())
    store.write_bytes(f"{SHARED}/vocabulary.txt", b"words")
    store.write_bytes(f"{SHARED}/stopwords.txt", b"the")
    return local_root


class TestShardedProcessing:
    def test_three_instances_get_disjoint_complete_shards(self, shard_root, tmp_path):
        execution = run_local_pipeline(definition(tmp_path / "barrier"), local_root=shard_root,
                                       live=False, max_workers=1)

        assert execution.status == "Succeeded", execution.failure_reason
        store = local_store(shard_root)
        assert store.list_uris(INVENTORY) == [f"{INVENTORY}/algo-{i}.json" for i in (1, 2, 3)]
        reports = [json.loads(store.read_bytes(u)) for u in store.list_uris(INVENTORY)]
        hosts = ["algo-1", "algo-2", "algo-3"]
        assert [r["host"] for r in reports] == hosts
        assert all(r["hosts"] == hosts for r in reports)
        shares = [set(r["sharded"]) for r in reports]
        everything = {u[len(SHARDS) + 1:] for u in OBJECTS}
        assert set().union(*shares) == everything
        assert sum(len(s) for s in shares) == len(everything)  # disjoint
        assert [len(s) for s in shares] == [3, 2, 2]
        assert all(r["replicated"] == ["stopwords.txt", "vocabulary.txt"] for r in reports)
        job_dir = shard_root / "jobs" / execution.execution_id / "Inventory"
        assert sorted(p.name for p in job_dir.iterdir()) == hosts

    def test_one_failing_instance_fails_the_step_naming_it(self, shard_root, tmp_path):
        execution = run_local_pipeline(
            definition(tmp_path / "barrier", 3, "--fail-host", "algo-2"), local_root=shard_root,
            live=False)
        record = execution.steps["Inventory"]
        assert record.failure_reason == "algo-2: algo-2 cannot read its shard"
        assert record.log_path.endswith("/Inventory/algo-2/job.log")
        assert not local_store(shard_root).list_uris(INVENTORY)

    def test_a_missing_input_fails_before_any_instance_starts(self, shard_root, tmp_path):
        store = local_store(shard_root)
        for uri in store.list_uris(SHARED):
            store.path_for(uri).unlink()
        execution = run_local_pipeline(definition(tmp_path / "barrier"), local_root=shard_root,
                                       live=False)
        assert execution.steps["Inventory"].failure_reason == (
            f"input 'replicated': no objects at {SHARED} in the local store ({store.root})")
        assert not (shard_root / "jobs" / execution.execution_id / "Inventory").exists()


class TestShardRule:
    def test_sorted_by_key_and_dealt_round_robin(self):
        uris = [f"s3://b/k/{name}" for name in ("e", "a", "d", "b", "c")]
        assert [shard(uris, 2, i) for i in range(2)] == [
            ["s3://b/k/a", "s3://b/k/c", "s3://b/k/e"], ["s3://b/k/b", "s3://b/k/d"]]
        assert shard(uris, 7, 6) == []
        with pytest.raises(ValueError, match="instance index 2 out of range for 2 instances"):
            shard(uris, 2, 2)
