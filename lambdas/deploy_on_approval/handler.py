"""Deploy on approval: EventBridge delivers a model package's change to Approved, this deploys.

The rule in lambdas/deploy_template.yaml fires only for Approved packages of our groups. The
function deploys the group's newest approved version (not blindly the event's package), so
events arriving late or twice deploy the right version once: a deploy of what is already
served is a no-op. A group `<base>-<segment>` of a base in MULTI_MODEL_BASES publishes its
version to the multi-model endpoint `<base>`; any other group deploys to the serverless
endpoint named like the group, exactly as `deploy-model --group G --latest-approved` does.
The function does not wait for InService (an endpoint takes minutes); failures raise, so
Lambda retries and then sends the event to the stack's failure queue.

Why a function and not a CodeBuild project: a deploy is a handful of API calls (seconds), the
zip carries only the planning modules and the ports (no pip install per approval), and the
role can be scoped to exactly those calls; `deploy-model` shares the same planning code, so
a person and the function name, create and update resources identically.
"""
from __future__ import annotations

import functools
import logging
import os
from typing import Any

import boto3

from lambdas.deploy_on_approval.events import PackageStateChange
from lambdas.deploy_on_approval.settings import Settings
from runtime.deployment import endpoints, multi_model
from runtime.deployment.naming import check_endpoint_name
from runtime.deployment.plan import Selection, plan_deploy
from runtime.errors import Refused
from runtime.model_versions import latest_approved
from runtime.ports.model_registry import SageMakerModelRegistry
from runtime.ports.object_store import ObjectStore, S3ObjectStore

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)


def deploy_approved(change: PackageStateChange, settings: Settings, sm: Any,
                    store: ObjectStore) -> dict[str, Any]:
    """Send the calls that serve the group's newest approved version; return a summary."""
    if change.status != "Approved":
        LOG.info("ignoring %s: it is %s", change.package_arn, change.status)
        return {"skipped": f"{change.package_arn} is {change.status}"}
    package = latest_approved(SageMakerModelRegistry(sm), change.group)
    if package is None:
        raise Refused(f"group {change.group!r} has no approved version any more")
    base = next((b for b in settings.multi_model_bases
                 if multi_model.group_names([change.group], b)), None)
    if base:
        selection = Selection.for_segments(check_endpoint_name(base), [package],
                                           settings.live_prefix)
        capacity = settings.multi_model
    else:
        selection = Selection(check_endpoint_name(change.group), [package])
        capacity = settings.serverless
    calls, summary = plan_deploy(selection, capacity, settings.role_arn, sm, store)
    endpoints.send(sm, calls, {"PublishArtifact": functools.partial(multi_model.publish, store)})
    summary["calls"] = [call.operation for call in calls]
    LOG.info("deployed %s to %s: %s", package["ModelPackageArn"], summary["endpoint"],
             ", ".join(summary["calls"]) or "already serving it")
    return summary


@functools.cache
def _clients() -> tuple[Any, ObjectStore]:
    return boto3.client("sagemaker"), S3ObjectStore(boto3.client("s3"))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sm, store = _clients()
    return deploy_approved(PackageStateChange.parse(event), Settings.from_environ(os.environ),
                           sm, store)
