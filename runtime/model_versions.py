"""Which model version is meant, which one deploys, and what an approval must not do.

A version is named by its ARN or `GROUP/VERSION`; the newest approved version of a group is
the one every deploy serves (`deploy-model --latest-approved`, the deploy-on-approval Lambda);
approving a version older than that, or one already approved, is refused unless forced.
A version's key metrics come from the evaluation report its package points at
(`ModelMetrics.ModelQuality.Statistics.S3Uri`): every scalar under a `*_metrics` section.
"""
from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from runtime.errors import UserError
from runtime.ports.model_registry import ModelRegistry
from runtime.ports.object_store import ObjectNotFound, ObjectStore, TransientStoreError

# The customer-metadata key under which a package names our own evaluation report (baselines,
# every member, the gate) when its ModelQuality.Statistics is SageMaker's model-quality file.
EVALUATION_REPORT_METADATA = "EvaluationReport"
_GROUP_VERSION = re.compile(r"([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(\d+)")


def metrics_uri(package: dict[str, Any]) -> str | None:
    """The evaluation report's URI, as the RegisterModel step's ModelMetrics set it."""
    statistics = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    return statistics.get("S3Uri") or None


def scalar_metrics(report: Any) -> dict[str, float]:
    """Every number under a top-level `*_metrics` section, by metric name.

    A metric is `{"value": x}` or a bare number; a name found in two sections is qualified
    with its section (`regression_metrics.rmse`).
    """
    found: list[tuple[str, str, float]] = []
    for section, metrics in (report.items() if isinstance(report, dict) else []):
        if not (section.endswith("_metrics") and isinstance(metrics, dict)):
            continue
        for name, metric in metrics.items():
            value = metric.get("value") if isinstance(metric, dict) else metric
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((section, name, float(value)))
    names = [name for _, name, _ in found]
    return {(name if names.count(name) == 1 else f"{section}.{name}"): value
            for section, name, value in found}


def read_metrics(package: dict[str, Any], store: ObjectStore) -> tuple[dict[str, float], str]:
    """(metrics, problem): the package's scalar metrics, or {} and why they are missing."""
    uri = metrics_uri(package)
    if not uri:
        return {}, "the package has no ModelMetrics.ModelQuality.Statistics.S3Uri"
    try:
        return scalar_metrics(json.loads(store.read_bytes(uri))), ""
    except ObjectNotFound:
        return {}, f"no evaluation report at {uri}"
    except ValueError as exc:  # JSON decode error or an unparsable URI
        return {}, f"evaluation report {uri} is unreadable: {exc}"
    except (TransientStoreError, ClientError) as exc:
        return {}, f"evaluation report {uri} could not be read: {exc}"


def pipeline_execution(package: dict[str, Any]) -> str | None:
    """The pipeline execution that registered the package, if it says."""
    generated_by = package.get("MetadataProperties", {}).get("GeneratedBy")
    custom = package.get("CustomerMetadataProperties", {})
    return generated_by or custom.get("PipelineExecutionArn") or None


def resolve(registry: ModelRegistry, ident: str) -> dict[str, Any]:
    """A package named by its ARN or by GROUP/VERSION."""
    if ident.startswith("arn:"):
        return registry.describe_package(ident)
    match = _GROUP_VERSION.fullmatch(ident)
    if not match:
        raise UserError(f"{ident!r} is neither a model package ARN nor GROUP/VERSION "
                        "(e.g. diabetes-ensemble/3)")
    group, version = match[1], int(match[2])
    packages = registry.list_packages(group)
    for package in packages:
        if package["ModelPackageVersion"] == version:
            return package
    known = ", ".join(str(p["ModelPackageVersion"]) for p in reversed(packages)) or "none"
    raise UserError(f"group {group!r} has no version {version}; its versions: {known}")


def latest_approved(registry: ModelRegistry, group: str) -> dict[str, Any] | None:
    """The newest approved version: the one a deploy uses."""
    approved = registry.list_packages(group, "Approved")
    return max(approved, key=lambda p: p["ModelPackageVersion"], default=None)


def approval_refusal(package: dict[str, Any], newest: dict[str, Any] | None) -> str | None:
    """Why approving `package` would be a mistake, given the newest approved version."""
    name = version_name(package)
    if package["ModelApprovalStatus"] == "Approved":
        return f"{name} is already approved; pass --force to approve it again"
    if newest and newest["ModelPackageVersion"] > package["ModelPackageVersion"]:
        return (f"{name} is older than {version_name(newest)}, the newest approved version, which "
                "deploys keep using; reject that one to roll back, or pass --force")
    return None


def version_name(package: dict[str, Any]) -> str:
    return f"{package['ModelPackageGroupName']}/{package['ModelPackageVersion']}"
