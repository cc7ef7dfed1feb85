"""The SageMaker requests a deployment sends, built from a registered package (pure functions).

A deployment is a list of `Call`s (operation name + request dict) so `--dry-run` can print
exactly what would be sent. The model comes from the package either by reference
(`ModelPackageName`, which keeps the registry lineage) or as a copy of its first container
(Image, ModelDataUrl, Environment).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from runtime.deployment.naming import ownership_tags, resource_name, version_label
from runtime.errors import Refused, UserError

VARIANT_NAME = "AllTraffic"
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_SERVERLESS_CONCURRENCY = 200
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")


@dataclass(frozen=True)
class Call:
    """One request: a SageMaker operation name (`CreateModel`, ...) or `PublishArtifact`."""

    operation: str
    request: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "request": self.request}


@dataclass(frozen=True)
class Serverless:
    """Serverless capacity; the seed deploys with 6144 MB and a max concurrency of 1."""

    memory_size: int = 6144
    max_concurrency: int = 1

    def __post_init__(self) -> None:
        if self.memory_size not in SERVERLESS_MEMORY_SIZES:
            raise UserError(f"--memory-size must be one of "
                                  f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))} MB, "
                                  f"got {self.memory_size}")
        if not 1 <= self.max_concurrency <= MAX_SERVERLESS_CONCURRENCY:
            raise UserError(f"--max-concurrency must be 1 to {MAX_SERVERLESS_CONCURRENCY}, "
                                  f"got {self.max_concurrency}")

    def variant(self, model_name: str) -> dict[str, Any]:
        return {"VariantName": VARIANT_NAME, "ModelName": model_name,
                "ServerlessConfig": {"MemorySizeInMB": self.memory_size,
                                     "MaxConcurrency": self.max_concurrency}}


@dataclass(frozen=True)
class RealTime:
    """Real-time capacity on instances (multi-model endpoints need it)."""

    instance_type: str
    instance_count: int = 1

    def __post_init__(self) -> None:
        if not _INSTANCE_TYPE.fullmatch(self.instance_type):
            raise UserError(f"--instance-type must look like ml.m5.large, "
                                  f"got {self.instance_type!r}")
        if self.instance_count < 1:
            raise UserError(f"--instance-count must be at least 1, got {self.instance_count}")

    def variant(self, model_name: str) -> dict[str, Any]:
        return {"VariantName": VARIANT_NAME, "ModelName": model_name,
                "InstanceType": self.instance_type,
                "InitialInstanceCount": self.instance_count, "InitialVariantWeight": 1.0}


Capacity = Serverless | RealTime
DEFAULT_INSTANCE_TYPE = "ml.m5.large"  # multi-model endpoints run on instances only


def choose_capacity(multi_model: bool, *, instance_type: str | None = None,
                    instance_count: int = 1, memory_size: int | None = None,
                    max_concurrency: int | None = None) -> Capacity:
    """Serverless unless instances are asked for or the endpoint is multi-model (SageMaker
    serves multi-model endpoints on instances only); the options must fit the choice."""
    serverless_options = memory_size is not None or max_concurrency is not None
    if instance_type or multi_model:
        if serverless_options:
            raise UserError("--memory-size/--max-concurrency are serverless options; "
                                  + ("multi-model endpoints run on instances: use "
                                     "--instance-type/--instance-count"
                                     if multi_model else "drop them or drop --instance-type"))
        return RealTime(instance_type or DEFAULT_INSTANCE_TYPE, instance_count)
    if instance_count != 1:
        raise UserError("--instance-count needs --instance-type")
    return Serverless(memory_size or 6144, max_concurrency or 1)


def package_name(package: dict[str, Any]) -> str:
    """'GROUP/VERSION', how people name a version."""
    return f"{package.get('ModelPackageGroupName', '?')}/{package.get('ModelPackageVersion', '?')}"


def require_approved(package: dict[str, Any]) -> None:
    """Refuse anything but an Approved package."""
    status = package.get("ModelApprovalStatus", "unknown")
    if status != "Approved":
        raise Refused(f"{package_name(package)} is {status}, not Approved; approve it "
                            f"first (model-registry approve {package_name(package)} "
                            "--description ...)")


def first_container(package: dict[str, Any]) -> dict[str, Any]:
    containers = package.get("InferenceSpecification", {}).get("Containers") or []
    if not containers or not containers[0].get("ModelDataUrl"):
        raise UserError(f"{package_name(package)} has no InferenceSpecification container "
                              "with a ModelDataUrl; it cannot be deployed")
    return containers[0]


def model_request(package: dict[str, Any], endpoint: str, role_arn: str,
                  copy_container: bool = False) -> dict[str, Any]:
    """CreateModel for one package, named `<endpoint>-v<version>-<hash>`."""
    container = first_container(package)
    if copy_container:
        primary = {key: container[key] for key in ("Image", "ModelDataUrl", "Environment")
                   if container.get(key)}
    else:
        primary = {"ModelPackageName": package["ModelPackageArn"]}
    spec = {"PrimaryContainer": primary, "ExecutionRoleArn": role_arn}
    name = resource_name(endpoint, version_label(package["ModelPackageVersion"]), spec)
    return {"ModelName": name, **spec,
            "Tags": ownership_tags(endpoint, package["ModelPackageArn"])}


def endpoint_config_request(endpoint: str, label: str, model_name: str, capacity: Capacity,
                            package_arn: str | None = None) -> dict[str, Any]:
    """CreateEndpointConfig with one variant serving `model_name` on `capacity`."""
    variants = [capacity.variant(model_name)]
    return {"EndpointConfigName": resource_name(endpoint, label, variants),
            "ProductionVariants": variants, "Tags": ownership_tags(endpoint, package_arn)}
