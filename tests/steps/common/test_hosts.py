"""steps.common.hosts: which host this is, and a share that is disjoint and complete."""
from __future__ import annotations

import json

import numpy as np
import pytest

from steps.common.errors import InvalidData
from steps.common.hosts import my_share, resolve_hosts


def test_hosts_from_resource_config(tmp_path):
    config = tmp_path / "resourceconfig.json"
    config.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-2", "algo-1"]}))
    assert resolve_hosts("", "", config) == ("algo-2", ["algo-1", "algo-2"])
    assert resolve_hosts("", "", tmp_path / "none.json") == ("algo-1", ["algo-1"])
    assert resolve_hosts("b", "a,b,c", config) == ("b", ["a", "b", "c"])
    assert resolve_hosts("b", '["c", "b"]', config) == ("b", ["b", "c"])
    with pytest.raises(InvalidData, match=r"current host 'x' is not among the hosts"):
        resolve_hosts("x", "a,b", config)
    with pytest.raises(InvalidData, match=r"--hosts '\[a' is not a JSON list"):
        resolve_hosts("a", "[a", config)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shares_are_disjoint_and_complete(count):
    hosts = [f"algo-{n}" for n in range(1, count + 1)]
    items = np.arange(10)
    shares = [my_share(items, host, sorted(hosts)) for host in hosts]
    assert sorted(np.concatenate(shares).tolist()) == list(range(10))
    assert my_share(["p0", "p1", "p2", "p3"], "algo-2", ["algo-1", "algo-2"]) == ["p1", "p3"]
