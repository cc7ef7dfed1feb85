"""Deterministic, versioned names and the tags that mark what deploy-model created.

A model or endpoint config is named `<endpoint>-v<package version>-<hash>` (multi-model:
`<endpoint>-mm-<hash>`), where the hash covers the request that creates it: the same package
and settings always give the same name (a re-deploy is a no-op), other settings a new name.
SageMaker allows 63 characters, letters, digits and hyphens; the endpoint part is shortened
to fit. Everything deploy-model creates carries DEPLOYED_BY and ENDPOINT_TAG, and `--delete`
removes only resources with both.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MAX_NAME = 63
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
DEPLOYED_BY = ("deployed-by", "deploy-model")
ENDPOINT_TAG = "deploy-model:endpoint"
PACKAGE_TAG = "deploy-model:package"
PREVIOUS_CONFIG_TAG = "deploy-model:previous-config"
HASH_CHARS = 8
# The part of an endpoint name that every resource name created for it contains.
STEM_MIN = MAX_NAME - len("-v") - 10 - len("-") - HASH_CHARS  # 42: versions up to 10 digits


def check_endpoint_name(name: str) -> str:
    """Return `name` if SageMaker accepts it as an endpoint name, else raise ValueError."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"endpoint name {name!r} is invalid: use 1 to 63 letters, digits and "
                         "single hyphens, starting with a letter or digit")
    return name


def short_hash(value: Any) -> str:
    """A stable hex digest of a JSON-able value (keys sorted)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


def resource_name(endpoint: str, label: str, spec: Any) -> str:
    """'<endpoint>-<label>-<hash of spec>', the endpoint part shortened to fit 63 characters."""
    suffix = f"-{label}-{short_hash(spec)}"
    if len(suffix) > MAX_NAME - 1:
        raise ValueError(f"name label {label!r} is too long")
    stem = endpoint[:MAX_NAME - len(suffix)].rstrip("-")
    return stem + suffix


def name_stem(endpoint: str) -> str:
    """The start every resource name made for `endpoint` shares (labels up to 11 chars)."""
    return endpoint[:STEM_MIN].rstrip("-")


def version_label(version: int) -> str:
    return f"v{version}"


def ownership_tags(endpoint: str, package_arn: str | None = None) -> list[dict[str, str]]:
    """The tags that mark a model, config or endpoint as created by deploy-model for `endpoint`."""
    tags = [{"Key": DEPLOYED_BY[0], "Value": DEPLOYED_BY[1]},
            {"Key": ENDPOINT_TAG, "Value": endpoint}]
    if package_arn:
        tags.append({"Key": PACKAGE_TAG, "Value": package_arn})
    return tags


def is_owned(tags: dict[str, str], endpoint: str) -> bool:
    """True when the tags say deploy-model created the resource for `endpoint`."""
    return tags.get(DEPLOYED_BY[0]) == DEPLOYED_BY[1] and tags.get(ENDPOINT_TAG) == endpoint
