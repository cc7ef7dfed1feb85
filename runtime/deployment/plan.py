"""What a deployment sends: the calls for a selection of approved packages, and a summary.

Shared by the `deploy-model` command and the deploy-on-approval Lambda, so both name, create
and update resources the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.deployment import endpoints, multi_model, requests
from runtime.deployment.naming import version_label
from runtime.ports.object_store import ObjectStore


@dataclass
class Selection:
    """The approved package(s) a deployment serves and the endpoint it serves them from."""

    endpoint: str
    packages: list[dict[str, Any]]
    multi_model: bool = False
    publications: list[multi_model.Publication] = field(default_factory=list)
    live_prefix: str | None = None

    @classmethod
    def for_segments(cls, endpoint: str, packages: list[dict[str, Any]],
                     live_prefix: str | None = None) -> Selection:
        """A multi-model selection; the live prefix defaults to the staging prefix's sibling."""
        live_prefix = live_prefix or multi_model.default_live_prefix(packages)
        return cls(endpoint, packages, True, multi_model.publications(packages, live_prefix),
                   live_prefix)


def plan_deploy(selection: Selection, capacity: requests.Capacity, role_arn: str, sm: Any,
                store: ObjectStore, copy_container: bool = False,
                ) -> tuple[list[requests.Call], dict[str, Any]]:
    """The calls that deploy `selection` (reads happen now, writes are in the calls)."""
    if selection.multi_model:
        if selection.live_prefix is None:
            raise ValueError("a multi-model selection needs its live prefix")
        model = multi_model.model_request(selection.packages, selection.endpoint, role_arn,
                                          selection.live_prefix)
        label, package_arn = multi_model.MULTI_MODEL_LABEL, None
        calls = multi_model.publish_calls(store, selection.publications)
    else:
        (package,) = selection.packages
        requests.require_approved(package)
        model = requests.model_request(package, selection.endpoint, role_arn, copy_container)
        label = version_label(package["ModelPackageVersion"])
        package_arn, calls = package["ModelPackageArn"], []
    config = requests.endpoint_config_request(selection.endpoint, label, model["ModelName"],
                                              capacity, package_arn)
    calls += endpoints.deploy_calls(sm, selection.endpoint, model, config)
    summary: dict[str, Any] = {
        "endpoint": selection.endpoint, "endpoint_config": config["EndpointConfigName"],
        "model": model["ModelName"],
        "packages": [p["ModelPackageArn"] for p in selection.packages]}
    if selection.multi_model:
        summary["live_prefix"] = selection.live_prefix
        summary["target_models"] = [p.target_model for p in selection.publications]
    return calls, summary
