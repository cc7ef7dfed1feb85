"""What a deployment serves: the approved package(s) a person or an event names.

Shared by `deploy-model` (its options) and the local deployment; the rule for "the version a
deploy uses" is runtime.model_versions.latest_approved.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from runtime.deployment import requests
from runtime.deployment.naming import check_endpoint_name
from runtime.deployment.plan import Selection
from runtime.errors import Refused, UserError
from runtime.model_versions import latest_approved, resolve
from runtime.ports.model_registry import ModelRegistry

LOG = logging.getLogger("deploy-model")


def _endpoint(name: str) -> str:
    try:
        return check_endpoint_name(name)
    except ValueError as exc:
        raise UserError(f"{exc}; pass --endpoint NAME") from None


def _newest_approved(registry: ModelRegistry, group: str) -> dict[str, Any]:
    package = latest_approved(registry, group)
    if package is None:
        raise Refused(f"group {group!r} has no approved version; approve one with "
                            f"`model-registry approve {group}/VERSION --description ...`")
    return package


def select(registry: ModelRegistry, list_groups: Callable[[str], list[str]], *,
           package: str | None = None, group: str | None = None,
           multi_model: str | None = None, multi_model_groups: list[str] | None = None,
           endpoint: str | None = None, live_prefix: str | None = None) -> Selection:
    """The approved package(s) named by one of `package` (ARN or GROUP/VERSION), `group` (its
    newest approved version), `multi_model` (the groups BASE-<segment id>) or
    `multi_model_groups`; refuse anything not Approved."""
    if package or group:
        chosen = resolve(registry, package) if package else _newest_approved(registry, group)
        requests.require_approved(chosen)
        return Selection(_endpoint(endpoint or chosen["ModelPackageGroupName"]), [chosen],
                         multi_model=False)
    groups = list_groups(multi_model) if multi_model else multi_model_groups
    if not groups:
        raise UserError(f"no model package groups named {multi_model}-<segment id>; "
                              "check the base name (the multi-model pipeline's "
                              "model_package_group_name)")
    packages = []
    for name in groups:
        newest = latest_approved(registry, name)
        if newest is None:
            LOG.warning("%s has no approved version; its segment is not published", name)
        else:
            packages.append(newest)
    if not packages:
        raise Refused(f"none of the groups {', '.join(groups)} has an approved version; "
                            "approve at least one with `model-registry approve GROUP/VERSION`")
    return Selection.for_segments(_endpoint(endpoint or multi_model), packages, live_prefix)
