"""Plan and send the SageMaker calls that create, update, roll back and delete an endpoint.

Reads (describe, list, tags) happen while planning; every write is a `Call` in the returned
plan, so a dry run prints the plan and sends nothing. An existing endpoint is switched with
UpdateEndpoint, never deleted and re-created, and the config it served before is recorded in
its `deploy-model:previous-config` tag, which `rollback_calls` switches back to (a second
rollback returns to the newer config). Only endpoints tagged as deploy-model's are touched.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from runtime.deployment.naming import (
    DEPLOYED_BY,
    PREVIOUS_CONFIG_TAG,
    is_owned,
    name_stem,
    ownership_tags,
)
from runtime.deployment.requests import Call
from runtime.errors import Refused, UserError

LOG = logging.getLogger(__name__)
SETTLED = ("InService", "Failed")  # states in which UpdateEndpoint is accepted
_NOT_FOUND = re.compile(r"Could not find|does not exist|not found", re.IGNORECASE)


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationException" and bool(
        _NOT_FOUND.search(error.get("Message", "")))


def describe_endpoint(sm: Any, name: str) -> dict[str, Any] | None:
    try:
        return sm.describe_endpoint(EndpointName=name)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise


def _exists(describe: Callable[..., Any], **name: str) -> bool:
    try:
        describe(**name)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
    return True


def resource_tags(sm: Any, arn: str) -> dict[str, str]:
    """A resource's tags as a dict (a key added twice keeps its last value)."""
    tags: dict[str, str] = {}
    for page in sm.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update((tag["Key"], tag["Value"]) for tag in page["Tags"])
    return tags


def _owned_endpoint(sm: Any, name: str) -> dict[str, Any]:
    endpoint = describe_endpoint(sm, name)
    if endpoint is None:
        raise UserError(f"no endpoint named {name!r} in this account and region")
    tags = resource_tags(sm, endpoint["EndpointArn"])
    if not is_owned(tags, name):
        raise Refused(f"endpoint {name!r} was not created by deploy-model (it lacks the "
                            f"tag {DEPLOYED_BY[0]}={DEPLOYED_BY[1]}); leaving it alone")
    endpoint["Tags"] = tags
    return endpoint


def _require_settled(endpoint: dict[str, Any]) -> None:
    status = endpoint.get("EndpointStatus")
    if status not in SETTLED:
        raise Refused(f"endpoint {endpoint['EndpointName']!r} is {status}; wait until it is "
                            "InService and try again")


def _switch(endpoint: dict[str, Any], config_name: str) -> list[Call]:
    """UpdateEndpoint to `config_name`, remembering the config it serves now."""
    return [Call("UpdateEndpoint", {"EndpointName": endpoint["EndpointName"],
                                    "EndpointConfigName": config_name}),
            Call("AddTags", {"ResourceArn": endpoint["EndpointArn"],
                             "Tags": [{"Key": PREVIOUS_CONFIG_TAG,
                                       "Value": endpoint["EndpointConfigName"]}]})]


def deploy_calls(sm: Any, endpoint_name: str, model: dict[str, Any],
                 config: dict[str, Any]) -> list[Call]:
    """Create what is missing of model, config and endpoint, or switch the endpoint over."""
    calls = []
    if not _exists(sm.describe_model, ModelName=model["ModelName"]):
        calls.append(Call("CreateModel", model))
    if not _exists(sm.describe_endpoint_config, EndpointConfigName=config["EndpointConfigName"]):
        calls.append(Call("CreateEndpointConfig", config))
    if describe_endpoint(sm, endpoint_name) is None:
        return [*calls, Call("CreateEndpoint", {
            "EndpointName": endpoint_name, "EndpointConfigName": config["EndpointConfigName"],
            "Tags": ownership_tags(endpoint_name)})]
    endpoint = _owned_endpoint(sm, endpoint_name)
    if endpoint["EndpointConfigName"] == config["EndpointConfigName"]:
        return calls  # already serving exactly this
    _require_settled(endpoint)
    return [*calls, *_switch(endpoint, config["EndpointConfigName"])]


def rollback_calls(sm: Any, endpoint_name: str) -> list[Call]:
    """Switch the endpoint back to the config recorded before its last update."""
    endpoint = _owned_endpoint(sm, endpoint_name)
    previous = endpoint["Tags"].get(PREVIOUS_CONFIG_TAG)
    if not previous:
        raise Refused(f"endpoint {endpoint_name!r} has no previous config to roll back to: "
                            "it has served one config since deploy-model created it")
    if previous == endpoint["EndpointConfigName"]:
        raise Refused(f"endpoint {endpoint_name!r} already serves {previous!r}")
    if not _exists(sm.describe_endpoint_config, EndpointConfigName=previous):
        raise Refused(f"the previous config {previous!r} of endpoint {endpoint_name!r} "
                            "no longer exists; deploy the version you want instead")
    _require_settled(endpoint)
    return _switch(endpoint, previous)


def _owned(sm: Any, endpoint_name: str, listing: str, key: str, name_key: str,
           arn_key: str) -> list[str]:
    """Names of the models or configs deploy-model created for the endpoint."""
    stem = name_stem(endpoint_name)
    names = []
    for page in sm.get_paginator(listing).paginate(NameContains=stem):
        for item in page[key]:
            if item[name_key].startswith(stem) and is_owned(resource_tags(sm, item[arn_key]),
                                                            endpoint_name):
                names.append(item[name_key])
    return sorted(names)


def delete_calls(sm: Any, endpoint_name: str) -> list[Call]:
    """Delete the endpoint and the configs and models deploy-model created for it, only those."""
    calls = []
    if describe_endpoint(sm, endpoint_name) is not None:
        _owned_endpoint(sm, endpoint_name)  # refuses an endpoint that is not ours
        calls.append(Call("DeleteEndpoint", {"EndpointName": endpoint_name}))
    configs = _owned(sm, endpoint_name, "list_endpoint_configs", "EndpointConfigs",
                     "EndpointConfigName", "EndpointConfigArn")
    models = _owned(sm, endpoint_name, "list_models", "Models", "ModelName", "ModelArn")
    calls += [Call("DeleteEndpointConfig", {"EndpointConfigName": c}) for c in configs]
    calls += [Call("DeleteModel", {"ModelName": m}) for m in models]
    if not calls:
        raise UserError(f"nothing to delete: no endpoint, config or model that "
                              f"deploy-model created for {endpoint_name!r}")
    return calls


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def send(sm: Any, calls: list[Call],
         others: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> None:
    """Send each call in order; `others` handles non-SageMaker operations (PublishArtifact)."""
    for call in calls:
        LOG.info("%s %s", call.operation, _subject(call.request))
        if others and call.operation in others:
            others[call.operation](call.request)
        else:
            getattr(sm, _snake(call.operation))(**call.request)


def _subject(request: dict[str, Any]) -> str:
    for key in ("EndpointName", "EndpointConfigName", "ModelName", "ResourceArn", "Target"):
        if key in request:
            return str(request[key])
    return ""


def wait_in_service(sm: Any, endpoint_name: str, delay: int = 30, max_attempts: int = 60) -> None:
    """Block until the endpoint is InService; refuse with SageMaker's reason if it fails."""
    try:
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint_name, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
    except WaiterError as exc:
        reason = (exc.last_response or {}).get("FailureReason") or str(exc)
        raise Refused(f"endpoint {endpoint_name!r} did not reach InService: {reason}. "
                            "SageMaker keeps serving the previous config after a failed "
                            "update") from exc
