"""Which model version is meant, which one deploys, and what an approval must not do.

A version is named by its ARN or `GROUP/VERSION`; the newest approved version of a group is
the one every deploy serves (`deploy-model --latest-approved`, the deploy-on-approval Lambda);
approving a version older than that, or one already approved, is refused unless forced.
A version's key metrics come from the report its package points at
(`ModelMetrics.ModelQuality.Statistics.S3Uri`, SageMaker's model-quality file): every scalar
under a `*_metrics` section, with its standard deviation; our own evaluation report, named in
the customer metadata (`EvaluationReport`), adds the headline figures: the gate's verdict, the
chosen combiner, the figures relative to the baselines and the baselines' own.
"""
from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Figure:
    """One reported number: `regression_metrics` `rmse` 54.2 (standard deviation 1.5)."""

    section: str
    name: str
    value: float
    standard_deviation: float | None = None


def figures(report: Any) -> list[Figure]:
    """Every number under a top-level `*_metrics` section, in the report's order.

    A metric is `{"value": x, "standard_deviation": s}` or a bare number; anything else (a
    confusion matrix, a curve, a "NaN" string) is not a figure.
    """
    found = []
    for section, metrics in (report.items() if isinstance(report, dict) else []):
        if section.endswith("_metrics") and isinstance(metrics, dict):
            found.extend(_figure(section, name, metric) for name, metric in metrics.items())
    return [figure for figure in found if figure is not None]


def _figure(section: str, name: str, metric: Any) -> Figure | None:
    value, deviation = ((metric.get("value"), metric.get("standard_deviation"))
                        if isinstance(metric, dict) else (metric, None))
    if not _is_number(value):
        return None
    return Figure(section, name, float(value),
                  float(deviation) if _is_number(deviation) else None)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scalar_metrics(report: Any) -> dict[str, float]:
    """Every figure's value by metric name; a name found in two sections is qualified with
    its section (`regression_metrics.rmse`)."""
    found = figures(report)
    names = [figure.name for figure in found]
    return {(f.name if names.count(f.name) == 1 else f"{f.section}.{f.name}"): f.value
            for f in found}


def read_report(uri: str, store: ObjectStore) -> tuple[dict[str, Any], str]:
    """(report, problem): the JSON document at `uri`, or {} and why it could not be read."""
    try:
        report = json.loads(store.read_bytes(uri))
    except ObjectNotFound:
        return {}, f"no evaluation report at {uri}"
    except ValueError as exc:  # JSON decode error or an unparsable URI
        return {}, f"evaluation report {uri} is unreadable: {exc}"
    except (TransientStoreError, ClientError) as exc:
        return {}, f"evaluation report {uri} could not be read: {exc}"
    if not isinstance(report, dict):
        return {}, f"evaluation report {uri} is not a JSON object"
    return report, ""


def read_metrics(package: dict[str, Any], store: ObjectStore) -> tuple[dict[str, float], str]:
    """(metrics, problem): the package's scalar metrics, or {} and why they are missing."""
    uri = metrics_uri(package)
    if not uri:
        return {}, "the package has no ModelMetrics.ModelQuality.Statistics.S3Uri"
    report, problem = read_report(uri, store)
    return scalar_metrics(report), problem


def evaluation_report_uri(package: dict[str, Any]) -> str | None:
    """Our own evaluation report's URI, named in the package's customer metadata."""
    return package.get("CustomerMetadataProperties", {}).get(EVALUATION_REPORT_METADATA) or None


def headline(report: dict[str, Any], shown: Collection[str] = ()) -> list[tuple[str, Any]]:
    """Our evaluation report's headline as (label, value) rows: the gate's verdict, the chosen
    combiner, each `relative` figure, each baseline's figures and every `*_metrics` section
    not in `shown` (the model-quality file's sections). A value is a str, a float or a Figure."""
    rows: list[tuple[str, Any]] = []
    gate = report.get("gate")
    if isinstance(gate, dict) and "passed" in gate:
        rows.append(("gate", "passed" if gate["passed"] else "failed"))
    if isinstance(report.get("chosen_combiner"), str):
        rows.append(("chosen combiner", report["chosen_combiner"]))
    relative = report.get("relative")
    rows.extend((name, float(value)) for name, value in
                (relative.items() if isinstance(relative, dict) else []) if _is_number(value))
    baselines = report.get("baselines")
    for name, baseline in (baselines.items() if isinstance(baselines, dict) else []):
        if isinstance(baseline, dict):
            label = f"{name} baseline" + (f" ({baseline['name']})"
                                          if isinstance(baseline.get("name"), str) else "")
            rows.extend((f"{label} {figure.name}", figure)
                        for figure in figures({"baseline_metrics": baseline}))
    rows.extend((f"{figure.section} {figure.name}", figure)
                for figure in figures(report) if figure.section not in shown)
    return rows


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
