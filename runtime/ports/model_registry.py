"""Model-registry port: model package groups and versions with approval states.

Packages are plain dicts shaped like SageMaker's DescribeModelPackage response, so the
`model-registry` command and the deploy code read AWS and local packages the same way.
`LocalModelRegistry` keeps one JSON file per package under `<root>/model-registry/`.
"""
from __future__ import annotations

import abc
import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from runtime.errors import UserError
from steps.common.atomic import write_bytes_atomic, write_if_absent

APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "local"


class RegistryError(UserError):
    """Unknown group, version or ARN, or a request the registry refuses."""


class ModelRegistry(abc.ABC):
    """Create, list, describe and approve model package versions."""

    @abc.abstractmethod
    def ensure_group(self, group: str, description: str = "") -> str:
        """Create the group if missing; return its ARN."""

    @abc.abstractmethod
    def create_package(self, request: dict[str, Any]) -> str:
        """Create a version from a CreateModelPackage request dict; return its ARN."""

    @abc.abstractmethod
    def list_packages(self, group: str, status: str | None = None) -> list[dict[str, Any]]:
        """Every version of the group, newest first, as DescribeModelPackage-shaped dicts."""

    @abc.abstractmethod
    def describe_package(self, arn: str) -> dict[str, Any]:
        """One version; raise RegistryError if unknown."""

    @abc.abstractmethod
    def update_approval(self, arn: str, status: str, description: str) -> None:
        """Set ModelApprovalStatus and ApprovalDescription."""


def _check_status(status: str) -> None:
    if status not in APPROVAL_STATUSES:
        raise RegistryError(f"approval status {status!r} is not one of {', '.join(APPROVAL_STATUSES)}")


class SageMakerModelRegistry(ModelRegistry):
    """The AWS implementation over a boto3 SageMaker client (passed in)."""

    def __init__(self, sagemaker_client: Any):
        self._sm = sagemaker_client

    def ensure_group(self, group: str, description: str = "") -> str:
        try:
            return self._sm.describe_model_package_group(ModelPackageGroupName=group)[
                "ModelPackageGroupArn"]
        except self._sm.exceptions.ClientError:
            return self._sm.create_model_package_group(
                ModelPackageGroupName=group, ModelPackageGroupDescription=description
            )["ModelPackageGroupArn"]

    def create_package(self, request: dict[str, Any]) -> str:
        return self._sm.create_model_package(**request)["ModelPackageArn"]

    def list_packages(self, group: str, status: str | None = None) -> list[dict[str, Any]]:
        try:
            self._sm.describe_model_package_group(ModelPackageGroupName=group)
        except self._sm.exceptions.ClientError as exc:
            raise RegistryError(f"unknown model package group {group!r}") from exc
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime",
                                  "SortOrder": "Descending"}
        if status:
            _check_status(status)
            kwargs["ModelApprovalStatus"] = status
        summaries = []
        for page in self._sm.get_paginator("list_model_packages").paginate(**kwargs):
            summaries.extend(page["ModelPackageSummaryList"])
        return [self.describe_package(s["ModelPackageArn"]) for s in summaries]

    def describe_package(self, arn: str) -> dict[str, Any]:
        try:
            package = self._sm.describe_model_package(ModelPackageName=arn)
        except self._sm.exceptions.ClientError as exc:
            raise RegistryError(f"unknown model package {arn!r}: {exc}") from exc
        package.pop("ResponseMetadata", None)
        return package

    def update_approval(self, arn: str, status: str, description: str) -> None:
        _check_status(status)
        self._sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status,
                                      ApprovalDescription=description)


class LocalModelRegistry(ModelRegistry):
    """JSON files under `<root>/model-registry/<group>/<version>.json`."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve() / "model-registry"

    @staticmethod
    def group_arn(group: str) -> str:
        return f"arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:model-package-group/{group.lower()}"

    @staticmethod
    def package_arn(group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:model-package/{group.lower()}/{version}"

    def ensure_group(self, group: str, description: str = "") -> str:
        _check_name(group)
        group_file = self.root / group / "group.json"
        if not group_file.exists():
            write_bytes_atomic(group_file, json.dumps({
                "ModelPackageGroupName": group, "ModelPackageGroupArn": self.group_arn(group),
                "ModelPackageGroupDescription": description, "CreationTime": _now()},
                indent=2).encode())
        return self.group_arn(group)

    def create_package(self, request: dict[str, Any]) -> str:
        group = request.get("ModelPackageGroupName")
        if not group:
            raise RegistryError("CreateModelPackage request has no ModelPackageGroupName")
        status = request.get("ModelApprovalStatus", "PendingManualApproval")
        _check_status(status)
        self.ensure_group(group)
        group_dir = self.root / group
        version = 1 + max((int(p.stem) for p in group_dir.glob("[0-9]*.json")), default=0)
        while True:  # claim the version number atomically; retry if a concurrent run took it
            path = group_dir / f"{version}.json"
            package = {**request, "ModelPackageGroupName": group, "ModelPackageVersion": version,
                       "ModelPackageArn": self.package_arn(group, version),
                       "ModelApprovalStatus": status, "ModelPackageStatus": "Completed",
                       "CreationTime": _now()}
            if write_if_absent(path, json.dumps(package, indent=2, default=str).encode()):
                return package["ModelPackageArn"]
            version += 1

    def list_packages(self, group: str, status: str | None = None) -> list[dict[str, Any]]:
        group_dir = self.root / group
        if not (group_dir / "group.json").exists():
            known = sorted(p.name for p in self.root.iterdir()) if self.root.is_dir() else []
            raise RegistryError(f"unknown model package group {group!r}; local groups: "
                                f"{', '.join(known) or 'none'}")
        if status:
            _check_status(status)
        packages = [json.loads(p.read_text()) for p in group_dir.glob("[0-9]*.json")]
        packages = [p for p in packages if not status or p["ModelApprovalStatus"] == status]
        return sorted(packages, key=lambda p: p["ModelPackageVersion"], reverse=True)

    def describe_package(self, arn: str) -> dict[str, Any]:
        return json.loads(self._package_path(arn).read_text())

    def update_approval(self, arn: str, status: str, description: str) -> None:
        _check_status(status)
        path = self._package_path(arn)
        package = json.loads(path.read_text())
        package.update(ModelApprovalStatus=status, ApprovalDescription=description,
                       LastModifiedTime=_now())
        write_bytes_atomic(path, json.dumps(package, indent=2, default=str).encode())

    def _package_path(self, arn: str) -> Path:
        match = re.fullmatch(r"arn:aws:sagemaker:[^:]*:\d+:model-package/([^/]+)/(\d+)", arn)
        if not match:
            raise RegistryError(f"{arn!r} is not a model package ARN "
                                "(arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)")
        group_dir = next((d for d in self.root.glob("*") if d.name.lower() == match[1]), None)
        path = group_dir / f"{match[2]}.json" if group_dir else None
        if path is None or not path.exists():
            raise RegistryError(f"unknown model package {arn!r}")
        return path


def _check_name(group: str) -> None:
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", group):
        raise RegistryError(f"model package group name {group!r} is invalid: use letters, digits "
                            "and hyphens, at most 63 characters")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
