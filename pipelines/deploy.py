"""`deploy-model`: deploy an approved model package to a SageMaker endpoint, or on this machine.

    deploy-model ARN|GROUP/VERSION [--endpoint NAME] --role-arn ROLE
    deploy-model --group G --latest-approved ...        the newest approved version of G
    deploy-model --multi-model BASE ...                  every group BASE-<segment>, one endpoint
    deploy-model --multi-model-groups G1,G2 --endpoint NAME ...
    deploy-model --rollback ENDPOINT | --delete ENDPOINT
    deploy-model ... --local [--local-root ROOT] [--port 8080]

A single package becomes a Model (by ModelPackageName, or `--copy-container`), an
EndpointConfig (serverless: --memory-size 6144 --max-concurrency 1 by default; real-time with
--instance-type/--instance-count) and an Endpoint, named after the endpoint (default: the
group), e.g. `<endpoint>-v3-1a2b3c4d`. Multi-model groups publish each group's newest approved
`<segment>/v<N>.tar.gz` to the live prefix (write-if-absent) and serve it from a MultiModel
endpoint (default name: BASE) on real-time instances. An existing endpoint is updated in
place; `--rollback` returns to the config it served before. `--dry-run` prints the requests as
JSON and sends none. `--local` serves the approved model(s) from the local registry and store on
127.0.0.1 until Ctrl-C.

Exit status: 0 done; 1 refused (not Approved, no approved version, an endpoint that is not
deploy-model's, nothing to roll back) or an AWS error; 2 bad input.
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from pipelines.cli_errors import aws_error_message, aws_setup_message
from pipelines.cli_logging import configure_cli_logging
from pipelines.deployment import endpoints, local, multi_model, requests
from pipelines.deployment.errors import DeployRefused, DeployUserError
from pipelines.deployment.naming import check_endpoint_name
from pipelines.deployment.plan import Selection, plan_deploy
from pipelines.ports.model_registry import (
    LocalModelRegistry,
    ModelRegistry,
    RegistryError,
    SageMakerModelRegistry,
)
from pipelines.ports.object_store import (
    LocalObjectStore,
    ObjectNotFound,
    S3ObjectStore,
    TransientStoreError,
)
from pipelines.registry import DEFAULT_LOCAL_ROOT, UserError, latest_approved, resolve
from steps.serve import make_server

LOG = logging.getLogger("deploy-model")
ROLE_ENV = "SAGEMAKER_ROLE_ARN"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"  # multi-model endpoints run on instances only
DEFAULT_PORT = 8080


# --- choosing what to deploy ---------------------------------------------------------------

def _endpoint(name: str) -> str:
    try:
        return check_endpoint_name(name)
    except ValueError as exc:
        raise DeployUserError(f"{exc}; pass --endpoint NAME") from None


def _newest_approved(registry: ModelRegistry, group: str) -> dict[str, Any]:
    package = latest_approved(registry, group)
    if package is None:
        raise DeployRefused(f"group {group!r} has no approved version; approve one with "
                            f"`model-registry approve {group}/VERSION --description ...`")
    return package


def select(args: argparse.Namespace, registry: ModelRegistry,
           list_groups: Callable[[str], list[str]]) -> Selection:
    """Resolve the options to approved packages; refuse anything not Approved."""
    if args.package or args.group:
        package = (resolve(registry, args.package) if args.package
                   else _newest_approved(registry, args.group))
        requests.require_approved(package)
        return Selection(_endpoint(args.endpoint or package["ModelPackageGroupName"]),
                         [package], multi_model=False)
    groups = list_groups(args.multi_model) if args.multi_model else args.multi_model_groups
    if not groups:
        raise DeployUserError(f"no model package groups named {args.multi_model}-<segment id>; "
                              "check the base name (the multi-model pipeline's "
                              "model_package_group_name)")
    packages = []
    for group in groups:
        package = latest_approved(registry, group)
        if package is None:
            LOG.warning("%s has no approved version; its segment is not published", group)
        else:
            packages.append(package)
    if not packages:
        raise DeployRefused(f"none of the groups {', '.join(groups)} has an approved version; "
                            "approve at least one with `model-registry approve GROUP/VERSION`")
    return Selection.for_segments(_endpoint(args.endpoint or args.multi_model), packages,
                                  args.live_prefix)


# --- SageMaker ------------------------------------------------------------------------------

def _capacity(args: argparse.Namespace, multi: bool) -> requests.Capacity:
    serverless_options = args.memory_size is not None or args.max_concurrency is not None
    if args.instance_type or multi:
        if serverless_options:
            raise DeployUserError("--memory-size/--max-concurrency are serverless options; "
                                  + ("multi-model endpoints run on instances: use "
                                     "--instance-type/--instance-count"
                                     if multi else "drop them or drop --instance-type"))
        return requests.RealTime(args.instance_type or DEFAULT_INSTANCE_TYPE,
                                 args.instance_count)
    if args.instance_count != 1:
        raise DeployUserError("--instance-count needs --instance-type")
    return requests.Serverless(args.memory_size or 6144, args.max_concurrency or 1)


def _aws_clients(region: str | None) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=region)
    try:
        return session.client("sagemaker"), session.client("s3")
    except NoRegionError as exc:
        raise DeployUserError("no AWS region: pass --region or set AWS_REGION") from exc


def run_aws(args: argparse.Namespace, sm: Any, s3: Any) -> int:
    store = S3ObjectStore(s3)
    if args.rollback:
        calls, summary = endpoints.rollback_calls(sm, args.rollback), {"endpoint": args.rollback}
    elif args.delete:
        calls, summary = endpoints.delete_calls(sm, args.delete), {"endpoint": args.delete}
    else:
        role_arn = args.role_arn or os.environ.get(ROLE_ENV)
        if not role_arn:
            raise DeployUserError(f"pass --role-arn (the execution role the model runs as) or "
                                  f"set {ROLE_ENV}")
        selection = select(args, SageMakerModelRegistry(sm),
                           functools.partial(multi_model.sagemaker_group_names, sm))
        capacity = _capacity(args, selection.multi_model)
        calls, summary = plan_deploy(selection, capacity, role_arn, sm, store,
                                     args.copy_container)
    if args.dry_run:
        return _print({"dry_run": True, **summary, "calls": [c.to_json() for c in calls]})
    endpoints.send(sm, calls, {"PublishArtifact": functools.partial(multi_model.publish, store)})
    operations = [c.operation for c in calls]
    if args.wait and {"CreateEndpoint", "UpdateEndpoint"} & set(operations):
        LOG.info("waiting for %s to be InService (--no-wait to return now)", summary["endpoint"])
        endpoints.wait_in_service(sm, summary["endpoint"])
    return _print({**summary, "calls": operations})


# --- local ----------------------------------------------------------------------------------

def local_deployment(args: argparse.Namespace, root: Path) -> local.LocalDeployment:
    """Publish (multi-model) and load the selection from the local registry and store."""
    registry, store = LocalModelRegistry(root), LocalObjectStore(root)
    selection = select(args, registry,
                       functools.partial(multi_model.local_group_names, registry.root))
    summary: dict[str, Any] = {"endpoint": selection.endpoint,
                               "packages": [p["ModelPackageArn"] for p in selection.packages]}
    if not selection.multi_model:
        deployment = local.single_model(root, store, selection.packages[0], selection.endpoint)
    else:
        assert selection.live_prefix is not None
        for call in multi_model.publish_calls(store, selection.publications):
            multi_model.publish(store, call.request)
        summary["target_models"] = [p.target_model for p in selection.publications]
        deployment = local.multi_model(store, selection.live_prefix)
    deployment.summary = {**summary, **deployment.summary}
    return deployment


def run_local(args: argparse.Namespace) -> int:
    if args.rollback or args.delete or args.dry_run:
        raise DeployUserError("--rollback, --delete and --dry-run act on SageMaker endpoints; "
                              "a local deployment serves until Ctrl-C")
    root = Path(args.local_root)
    if not (root / "model-registry").is_dir():
        raise DeployUserError(f"no local model registry under {root.resolve()}: run a pipeline "
                              "with `run-pipeline --local` first, or pass --local-root")
    deployment = local_deployment(args, root)
    try:
        server = make_server(deployment.app, host=args.host, port=args.port)
    except OSError as exc:
        deployment.close()
        raise DeployUserError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    url = f"http://{server.effective_host}:{server.effective_port}"
    _print({**deployment.summary, "url": url, "invocations": f"{url}/invocations"})
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()  # until Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        deployment.close()
    LOG.info("stopped serving %s", deployment.summary["endpoint"])
    return 0


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


# --- arguments and entry point -------------------------------------------------------------

def _print(value: Any) -> int:
    print(json.dumps(value, indent=2, default=str))
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {text!r}")
    return int(text)


def _groups(text: str) -> list[str]:
    groups = [g.strip() for g in text.split(",") if g.strip()]
    if not groups:
        raise argparse.ArgumentTypeError("give one or more group names separated by commas")
    return groups


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploy-model", description="Deploy an approved model package to a SageMaker "
        "endpoint (serverless, real-time or multi-model), or serve it locally.")
    what = parser.add_argument_group("what to deploy (one of)")
    what.add_argument("package", nargs="?", metavar="ARN|GROUP/VERSION")
    what.add_argument("--group", help="with --latest-approved: the group's newest approved version")
    what.add_argument("--latest-approved", action="store_true")
    what.add_argument("--multi-model", metavar="BASE",
                      help="the groups BASE-<segment id> behind one multi-model endpoint")
    what.add_argument("--multi-model-groups", type=_groups, metavar="G1,G2",
                      help="these groups behind one multi-model endpoint (needs --endpoint)")
    what.add_argument("--rollback", metavar="ENDPOINT", help="return to the previous config")
    what.add_argument("--delete", metavar="ENDPOINT",
                      help="delete the endpoint and the configs and models deploy-model made")
    how = parser.add_argument_group("how")
    how.add_argument("--endpoint", help="endpoint name (default: the group, or BASE)")
    how.add_argument("--role-arn", help=f"execution role of the model (default: ${ROLE_ENV})")
    how.add_argument("--memory-size", type=_positive, default=None,
                     help="serverless memory in MB (default 6144)")
    how.add_argument("--max-concurrency", type=_positive, default=None,
                     help="serverless max concurrency (default 1)")
    how.add_argument("--instance-type", help="real-time instead of serverless, e.g. ml.m5.large "
                     f"(multi-model default: {DEFAULT_INSTANCE_TYPE})")
    how.add_argument("--instance-count", type=_positive, default=1)
    how.add_argument("--copy-container", action="store_true",
                     help="copy the package's image, model data and environment into the "
                          "model instead of referencing the package")
    how.add_argument("--live-prefix", metavar="S3_URI", help="multi-model: where models are "
                     "served from (default: <pipeline>/live/ beside the staging prefix)")
    how.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    how.add_argument("--no-wait", dest="wait", action="store_false",
                     help="return without waiting for InService")
    how.add_argument("--region", help="AWS region (default: the boto3 default)")
    on_laptop = parser.add_argument_group("local deployment")
    on_laptop.add_argument("--local", action="store_true",
                           help="serve from the local registry and store on this machine")
    on_laptop.add_argument("--local-root", default=DEFAULT_LOCAL_ROOT,
                           help="local registry and store (default: %(default)s)")
    on_laptop.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    on_laptop.add_argument("--port", type=_port, default=DEFAULT_PORT,
                           help="0 picks a free port (default: %(default)s)")
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    chosen = [name for name, value in (
        ("ARN|GROUP/VERSION", args.package), ("--group", args.group),
        ("--multi-model", args.multi_model), ("--multi-model-groups", args.multi_model_groups),
        ("--rollback", args.rollback), ("--delete", args.delete)) if value]
    if len(chosen) != 1:
        raise DeployUserError("name exactly one of a package (ARN or GROUP/VERSION), --group G "
                              "--latest-approved, --multi-model BASE, --multi-model-groups, "
                              f"--rollback ENDPOINT, --delete ENDPOINT; got "
                              f"{', '.join(chosen) or 'none'}")
    if bool(args.group) != args.latest_approved:
        raise DeployUserError("--group and --latest-approved go together: --group G "
                              "--latest-approved deploys G's newest approved version")
    if args.multi_model_groups and not args.endpoint:
        raise DeployUserError("--multi-model-groups needs --endpoint NAME")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """deploy-model's options, checked; DeployUserError names a bad combination."""
    args = _parser().parse_args(argv)
    check_arguments(args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_cli_logging()
    try:
        check_arguments(args)
        if args.local:
            return run_local(args)
        return run_aws(args, *_aws_clients(args.region))
    except (DeployUserError, UserError, RegistryError) as exc:
        print(f"deploy-model: error: {exc}", file=sys.stderr)
        return 2
    except DeployRefused as exc:
        print(f"deploy-model: refused: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        setup = aws_setup_message(exc, "--local")
        if setup:
            print(f"deploy-model: error: {setup}", file=sys.stderr)
            return 2
        print(f"deploy-model: AWS error: {aws_error_message(exc) or exc}", file=sys.stderr)
        return 1
    except (ObjectNotFound, TransientStoreError) as exc:
        print(f"deploy-model: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
