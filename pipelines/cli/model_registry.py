"""`model-registry`: list, inspect, approve and reject model package versions.

Works on SageMaker (boto3, `--region`) or on the local registry that `run-pipeline --local`
fills (`--local [ROOT]`, default `.sagemaker-local`), through the model-registry and
object-store ports. Each version's key metrics come from the model-quality report its package
points at (`ModelMetrics.ModelQuality.Statistics.S3Uri`): every scalar under a `*_metrics`
section, e.g. `{"regression_metrics": {"rmse": {"value": 54.2}}}` gives `rmse = 54.2`.
`describe` shows them as a table with their standard deviations, then the headline figures of
our own evaluation report (`CustomerMetadataProperties.EvaluationReport`): the gate's verdict
and message, the chosen combiner, the figures relative to the baselines.

Exit status: 0 done; 1 refused (approving an approved or superseded version without --force,
no approved version, an AWS failure); 2 bad input (unknown group, version or ARN, bad options).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import NoRegionError
from rich.console import Console
from rich.json import JSON
from rich.table import Table

from pipelines.cli.outcome import exit_code_for
from runtime.errors import Refused, UserError
from runtime.model_versions import (
    Figure,
    approval_refusal,
    evaluation_report_uri,
    figures,
    headline,
    latest_approved,
    metrics_uri,
    pipeline_execution,
    read_metrics,
    read_report,
    resolve,
    scalar_metrics,
    version_name,
)
from runtime.ports.model_registry import LocalModelRegistry, ModelRegistry, SageMakerModelRegistry
from runtime.ports.object_store import LocalObjectStore, ObjectStore, S3ObjectStore
from steps.common.arguments import positive

DEFAULT_LOCAL_ROOT = ".sagemaker-local"
STATUSES = {"Pending": "PendingManualApproval", "Approved": "Approved", "Rejected": "Rejected"}
MAX_DESCRIPTION = 1024  # SageMaker's limit for ApprovalDescription
# `list` shows these figures when a version has them (a model-quality file has up to 17: the
# table would be unreadable); --json and `describe` show every one.
LIST_COLUMNS = ("rmse", "mae", "r2", "accuracy", "auc", "f1", "weighted_f1")


# --- commands ------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace, registry: ModelRegistry, store: ObjectStore) -> int:
    packages = registry.list_packages(args.group, STATUSES[args.status] if args.status else None)
    packages = sorted(packages, key=lambda p: p["ModelPackageVersion"], reverse=True)
    rows = []
    for package in packages[:args.limit]:
        metrics, problem = read_metrics(package, store)
        rows.append({"version": package["ModelPackageVersion"],
                     "arn": package["ModelPackageArn"],
                     "status": package["ModelApprovalStatus"],
                     "created": _iso(package.get("CreationTime")),
                     "approval_description": package.get("ApprovalDescription", ""),
                     "metrics": metrics, "metrics_problem": problem or None})
    if args.json:
        return _print_json(rows)
    console = Console()
    if not rows:
        console.print(f"no versions in {args.group}"
                      + (f" with status {args.status}" if args.status else ""))
        return 0
    names = list(dict.fromkeys(name for row in rows for name in row["metrics"]))
    names = [name for name in LIST_COLUMNS if name in names] or names
    table = Table(title=f"{args.group}: newest first")
    for column in ("Version", "Status", "Created", *names):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(str(row["version"]), row["status"], row["created"][:16].replace("T", " "),
                      *(_number(row["metrics"].get(name)) for name in names))
    console.print(table)
    for row in rows:
        if row["metrics_problem"]:
            console.print(f"[yellow]version {row['version']}: {row['metrics_problem']}[/]",
                          soft_wrap=True)
    return 0


def cmd_describe(args: argparse.Namespace, registry: ModelRegistry, store: ObjectStore) -> int:
    package = resolve(registry, args.package)
    quality_uri, report_uri = metrics_uri(package), evaluation_report_uri(package)
    quality, problem = read_report(quality_uri, store) if quality_uri else (
        {}, "the package has no ModelMetrics.ModelQuality.Statistics.S3Uri")
    report, report_problem = (read_report(report_uri, store) if report_uri
                              and report_uri != quality_uri else ({}, ""))
    quality_figures = figures(quality)
    rows = headline(report or quality, shown={f.section for f in quality_figures})
    result = {"package": package, "metrics": scalar_metrics(quality), "metrics_uri": quality_uri,
              "metrics_problem": problem or None,
              "model_quality": [asdict(figure) for figure in quality_figures],
              "evaluation_report_uri": report_uri, "evaluation_report_problem":
              report_problem or None, "headline": [_headline_json(row) for row in rows],
              "gate_message": (report or quality).get("gate", {}).get("message"),
              "pipeline_execution": pipeline_execution(package)}
    if args.json:
        return _print_json(result)
    containers = package.get("InferenceSpecification", {}).get("Containers", [{}])
    summary = Table(title=version_name(package), show_header=False)
    summary.add_column("field", style="bold", no_wrap=True)
    summary.add_column("value", overflow="fold")
    for field, value in (
            ("ARN", package["ModelPackageArn"]),
            ("Status", package["ModelApprovalStatus"]),
            ("Approval description", package.get("ApprovalDescription", "")),
            ("Created", _iso(package.get("CreationTime"))),
            ("Pipeline execution", result["pipeline_execution"] or "unknown"),
            ("Model data", containers[0].get("ModelDataUrl", "")),
            ("Image", containers[0].get("Image", "")),
            ("Model quality", quality_uri or "none"),
            ("Evaluation report", report_uri or quality_uri or "none")):
        summary.add_row(field, str(value))
    console = Console()
    console.print(summary)
    if quality_figures:
        console.print(_figure_table("Model quality (ModelQuality.Statistics)",
                                    [(f"{f.section} {f.name}", f) for f in quality_figures]))
    if rows:
        console.print(_figure_table("Evaluation report: headline figures", rows))
    if result["gate_message"]:
        console.print(f"gate: {result['gate_message']}", soft_wrap=True)
    for what, why in (("metrics", problem), ("evaluation report", report_problem)):
        if why:
            console.print(f"[yellow]{what}: {why}[/]", soft_wrap=True)
    console.print(JSON(json.dumps(package, default=_json_default)))
    return 0


def cmd_set_status(args: argparse.Namespace, registry: ModelRegistry, store: ObjectStore) -> int:
    description = args.description.strip()
    if not description or len(description) > MAX_DESCRIPTION:
        raise UserError(f"--description must be 1 to {MAX_DESCRIPTION} characters of text, "
                        f"got {len(description)}")
    package = resolve(registry, args.package)
    group = package["ModelPackageGroupName"]
    status = "Approved" if args.command == "approve" else "Rejected"
    if status == "Approved" and not args.force:
        refusal = approval_refusal(package, latest_approved(registry, group))
        if refusal:
            raise Refused(refusal)
    registry.update_approval(package["ModelPackageArn"], status, description)
    newest = latest_approved(registry, group)
    result = {"arn": package["ModelPackageArn"], "group": group,
              "version": package["ModelPackageVersion"], "status": status,
              "previous_status": package["ModelApprovalStatus"], "description": description,
              "latest_approved": newest["ModelPackageArn"] if newest else None}
    if args.json:
        return _print_json(result)
    Console().print(f"{status.lower()} {version_name(package)} (was {result['previous_status']}); "
                    f"latest approved: {version_name(newest) if newest else 'none'}", soft_wrap=True)
    return 0


def cmd_latest_approved(args: argparse.Namespace, registry: ModelRegistry,
                        store: ObjectStore) -> int:
    newest = latest_approved(registry, args.group)
    if newest is None:
        raise Refused(f"group {args.group!r} has no approved version; approve one with "
                      f"`model-registry approve {args.group}/VERSION --description ...`")
    if args.json:
        return _print_json({"arn": newest["ModelPackageArn"], "group": args.group,
                            "version": newest["ModelPackageVersion"]})
    print(newest["ModelPackageArn"])
    return 0


# --- output helpers ------------------------------------------------------------------------

def _json_default(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _print_json(value: Any) -> int:
    print(json.dumps(value, indent=2, default=_json_default))
    return 0


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value or "")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _figure_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    """Label | value | standard deviation; a row's value is a Figure, a number or text."""
    table = Table(title=title)
    table.add_column("Figure", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Std. dev.", justify="right", no_wrap=True)
    for label, value in rows:
        if isinstance(value, Figure):
            table.add_row(label, _number(value.value), _number(value.standard_deviation))
        else:
            table.add_row(label, value if isinstance(value, str) else _number(value), "")
    return table


def _headline_json(row: tuple[str, Any]) -> dict[str, Any]:
    label, value = row
    if isinstance(value, Figure):
        return {"figure": label, "value": value.value,
                "standard_deviation": value.standard_deviation}
    return {"figure": label, "value": value, "standard_deviation": None}


# --- arguments and entry point -------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--local", nargs="?", const=DEFAULT_LOCAL_ROOT, metavar="ROOT",
                        help="use the local registry under ROOT (default: %(const)s)")
    common.add_argument("--region", help="AWS region (default: the boto3 default)")
    parser = argparse.ArgumentParser(
        prog="model-registry", description="List, inspect, approve and reject model package "
        "versions on SageMaker or in the local registry.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common], help="versions, newest first")
    listing.add_argument("group")
    listing.add_argument("--status", choices=list(STATUSES))
    listing.add_argument("--limit", type=positive, default=None, metavar="N")
    describe = commands.add_parser("describe", parents=[common],
                                   help="one version: package, metrics, pipeline execution")
    describe.add_argument("package", metavar="ARN|GROUP/VERSION")
    for name in ("approve", "reject"):
        command = commands.add_parser(name, parents=[common], help=f"{name} a version")
        command.add_argument("package", metavar="ARN|GROUP/VERSION")
        command.add_argument("--description", required=True, help="why (kept on the package)")
        if name == "approve":
            command.add_argument("--force", action="store_true",
                                 help="approve an approved or superseded version anyway")
    latest = commands.add_parser("latest-approved", parents=[common],
                                 help="print the ARN a deploy would use")
    latest.add_argument("group")
    return parser


def _ports(args: argparse.Namespace) -> tuple[ModelRegistry, ObjectStore]:
    if args.local is not None:
        root = Path(args.local)
        if not (root / "model-registry").is_dir():
            raise UserError(f"no local model registry under {root.resolve()}: run a pipeline "
                            "with `run-pipeline --local` first, or pass --local ROOT")
        return LocalModelRegistry(root), LocalObjectStore(root)
    session = boto3.session.Session(region_name=args.region)
    try:
        return (SageMakerModelRegistry(session.client("sagemaker")),
                S3ObjectStore(session.client("s3")))
    except NoRegionError as exc:
        raise UserError("no AWS region: pass --region or set AWS_REGION") from exc


_COMMANDS = {"list": cmd_list, "describe": cmd_describe, "approve": cmd_set_status,
             "reject": cmd_set_status, "latest-approved": cmd_latest_approved}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        registry, store = _ports(args)
        return _COMMANDS[args.command](args, registry, store)
    except Exception as exc:
        return exit_code_for("model-registry", exc, "--local")


if __name__ == "__main__":
    sys.exit(main())
