"""Which instance of a multi-instance job this is, and its share of the work.

A processing job with ProcessingInstanceCount n runs the same script on n hosts; each learns
its name and the others' from SageMaker's /opt/ml/config/resourceconfig.json (the local runner
writes the same file), or from --current-host/--hosts. Hosts are sorted, so every host computes
the same ranks, and a host's share is every n-th item from its rank: disjoint and complete.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from steps.common.errors import InvalidData

DEFAULT_RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"
SINGLE_HOST = "algo-1"

S = TypeVar("S", bound=Sequence)


def add_host_arguments(parser: argparse.ArgumentParser) -> None:
    """--resource-config, --current-host and --hosts, read by `hosts_from`."""
    parser.add_argument("--resource-config", default=DEFAULT_RESOURCE_CONFIG)
    parser.add_argument("--current-host", default="")
    parser.add_argument("--hosts", default="", help="comma-separated or a JSON list")


def hosts_from(args: argparse.Namespace) -> tuple[str, list[str]]:
    """(this host, all hosts sorted) from the arguments `add_host_arguments` declared."""
    return resolve_hosts(args.current_host, args.hosts, Path(args.resource_config))


def _host_list(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            hosts = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidData(f"--hosts {text!r} is not a JSON list: {error}") from None
        return [str(h) for h in hosts]
    return [h.strip() for h in text.split(",") if h.strip()]


def resolve_hosts(current_host: str, hosts: str, resource_config: Path) -> tuple[str, list[str]]:
    """(this host, all hosts sorted), from the arguments, else the resource config, else a
    single host 'algo-1'."""
    listed = _host_list(hosts)
    current = current_host.strip()
    if (not current or not listed) and Path(resource_config).is_file():
        config = json.loads(Path(resource_config).read_text())
        current = current or str(config.get("current_host", ""))
        listed = listed or [str(h) for h in config.get("hosts", [])]
    current = current or SINGLE_HOST
    listed = sorted(listed or [current])
    if current not in listed:
        raise InvalidData(f"current host {current!r} is not among the hosts {listed}")
    return current, listed


def my_share(items: S, current: str, hosts: Sequence[str]) -> S:
    """Every len(hosts)-th item starting at this host's rank, in the given order (a slice of
    `items`: a list gives a list, an array a view)."""
    rank = list(hosts).index(current)
    return items[rank::len(hosts)]
