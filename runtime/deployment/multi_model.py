"""Publish approved segment versions to the live multi-model prefix and build the MME model.

Each segment's registered ModelDataUrl is a staged artifact
`s3://<bucket>/<pipeline>/staging/<segment>/v<N>.tar.gz`; publishing copies it to
`<live prefix><segment>/v<N>.tar.gz`, the TargetModel clients invoke. A served name is never
overwritten: the copy is write-if-absent, publishing the same version again is a no-op, and a
different object already under that name is refused. The default live prefix is the staging
prefix's sibling `s3://<bucket>/<pipeline>/live/`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.deployment.naming import ownership_tags, resource_name
from runtime.deployment.requests import Call, first_container, package_name
from runtime.errors import Refused, UserError
from runtime.ports.object_store import ObjectStore
from steps.multi_model import contract

MULTI_MODEL_LABEL = "mm"
STAGING_DIR = "staging"
LIVE_DIR = "live"


@dataclass(frozen=True)
class Publication:
    """One approved segment version and where it is served from."""

    segment: str
    version: int
    package_arn: str
    source: str
    target: str

    @property
    def target_model(self) -> str:
        return contract.artifact_key(self.segment, self.version)


def _staged(package: dict[str, Any]) -> tuple[str, str, int]:
    """(staging prefix with '/', segment, version) of a package's staged artifact."""
    uri = first_container(package)["ModelDataUrl"]
    prefix, _, rest = uri.rpartition("/")
    prefix, _, segment = prefix.rpartition("/")
    try:
        segment, version = contract.parse_artifact_key(f"{segment}/{rest}")
    except ValueError:
        raise UserError(f"{package_name(package)}: its ModelDataUrl {uri} is not a staged "
                              "multi-model artifact (<prefix>/<segment>/v<N>.tar.gz)") from None
    return prefix + "/", segment, version


def default_live_prefix(packages: Iterable[dict[str, Any]]) -> str:
    """`.../<pipeline>/live/` beside the packages' common `.../<pipeline>/staging/` prefix."""
    prefixes = {_staged(p)[0] for p in packages}
    if len(prefixes) != 1:
        raise UserError(f"the packages are staged under {len(prefixes)} prefixes "
                              f"({', '.join(sorted(prefixes))}); pass --live-prefix")
    (prefix,) = prefixes
    parent, _, last = prefix.rstrip("/").rpartition("/")
    if last != STAGING_DIR:
        raise UserError(f"staging prefix {prefix} does not end in /{STAGING_DIR}/; pass "
                              "--live-prefix")
    return f"{parent}/{LIVE_DIR}/"


def publications(packages: Iterable[dict[str, Any]], live_prefix: str) -> list[Publication]:
    """What to publish for each approved package (one per segment, sorted by segment)."""
    if not live_prefix.startswith("s3://") or not live_prefix.endswith("/"):
        raise UserError(f"--live-prefix must be an s3:// URI ending in '/', got "
                              f"{live_prefix!r}")
    found: dict[str, Publication] = {}
    for package in packages:
        _, segment, version = _staged(package)
        if segment in found:
            raise UserError(f"two packages publish segment {segment!r}; deploy one "
                                  "version per segment")
        found[segment] = Publication(segment, version, package["ModelPackageArn"],
                                     first_container(package)["ModelDataUrl"],
                                     live_prefix + contract.artifact_key(segment, version))
    return [found[s] for s in sorted(found)]


def publish_calls(store: ObjectStore, items: Iterable[Publication]) -> list[Call]:
    """A PublishArtifact call for each version not yet under the live prefix; refuse when a
    served name holds a different artifact."""
    calls = []
    for item in items:
        if not store.exists(item.target):
            calls.append(Call("PublishArtifact", {"Source": item.source, "Target": item.target,
                                                  "IfNoneMatch": "*"}))
        elif store.read_bytes(item.target) != store.read_bytes(item.source):
            raise _conflict(item.target)
    return calls


def publish(store: ObjectStore, request: dict[str, Any]) -> bool:
    """Copy Source to Target unless Target exists; True if this call wrote it."""
    data = store.read_bytes(request["Source"])
    if store.write_if_absent(request["Target"], data):
        return True
    if store.read_bytes(request["Target"]) != data:  # written since the plan was made
        raise _conflict(request["Target"])
    return False


def _conflict(target: str) -> Refused:
    return Refused(f"{target} already holds a different artifact; served names are "
                         "never overwritten: stage and approve a new version")


def model_request(packages: list[dict[str, Any]], endpoint: str, role_arn: str,
                  live_prefix: str) -> dict[str, Any]:
    """CreateModel in MultiModel mode over the live prefix, with the packages' image."""
    containers = [first_container(p) for p in packages]
    images = sorted({c.get("Image", "") for c in containers})
    if len(images) != 1 or not images[0]:
        raise UserError(f"a multi-model endpoint runs one image, but the packages name "
                              f"{len(images)}: {', '.join(images)}")
    shared = dict(containers[0].get("Environment") or {})
    for container in containers[1:]:
        environment = container.get("Environment") or {}
        shared = {k: v for k, v in shared.items() if environment.get(k) == v}
    primary = {"Image": images[0], "Mode": "MultiModel", "ModelDataUrl": live_prefix,
               "Environment": {**shared, "SAGEMAKER_MULTI_MODEL": "true"}}
    spec = {"PrimaryContainer": primary, "ExecutionRoleArn": role_arn}
    return {"ModelName": resource_name(endpoint, MULTI_MODEL_LABEL, spec), **spec,
            "Tags": ownership_tags(endpoint)}


def group_names(all_groups: Iterable[str], base: str) -> list[str]:
    """The groups `<base>-<segment id>` among `all_groups`, sorted."""
    prefix = f"{base}-"
    return sorted(g for g in all_groups
                  if g.startswith(prefix) and contract.is_segment_id(g[len(prefix):]))


def sagemaker_group_names(sm: Any, base: str) -> list[str]:
    groups = []
    for page in sm.get_paginator("list_model_package_groups").paginate(NameContains=base):
        groups += [g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"]]
    return group_names(groups, base)


def local_group_names(registry_root: Path, base: str) -> list[str]:
    """Groups of a LocalModelRegistry (its `root`: one folder with group.json per group)."""
    groups = [p.parent.name for p in registry_root.glob("*/group.json")]
    return group_names(groups, base)
