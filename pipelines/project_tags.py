"""Tags every pipeline carries: the ones passed in plus the SageMaker project's own tags."""
from __future__ import annotations

from typing import Any

import boto3

from runtime.errors import UserError


def normalize_tags(tags: Any) -> list[dict[str, str]]:
    """Accept [{'Key': k, 'Value': v}, ...] (template style) or {k: v}; return the list form."""
    if tags is None:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    if isinstance(tags, list) and all(isinstance(t, dict) and {"Key", "Value"} <= t.keys()
                                      for t in tags):
        return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags]
    raise UserError(f"tags must be a dict or a list of {{'Key': ..., 'Value': ...}}, got {tags!r}")


def merge_tags(*groups: list[dict[str, str]]) -> list[dict[str, str]]:
    """Later groups win on equal keys; order of first appearance is kept."""
    merged: dict[str, str] = {}
    for group in groups:
        for tag in group:
            merged[tag["Key"]] = tag["Value"]
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def get_pipeline_custom_tags(new_tags: list[dict[str, str]], region: str | None,
                             sagemaker_project_arn: str | None = None,
                             sagemaker_client: Any = None) -> list[dict[str, str]]:
    """The template hook: add the project's tags (not `aws:` ones) to `new_tags`.

    Unlike the template, a failure to read the project's tags is raised, not printed and lost.
    """
    if not sagemaker_project_arn:
        return new_tags
    client = sagemaker_client or boto3.client("sagemaker", region_name=region)
    response = client.list_tags(ResourceArn=sagemaker_project_arn)
    project_tags = [t for t in response.get("Tags", []) if not t["Key"].startswith("aws:")]
    return merge_tags(project_tags, new_tags)
