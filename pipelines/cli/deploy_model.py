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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import NoRegionError

from pipelines.cli.logs import configure_cli_logging
from pipelines.cli.outcome import exit_code_for
from runtime.deployment import endpoints, local, multi_model, requests
from runtime.deployment.plan import plan_deploy
from runtime.deployment.selection import select
from runtime.errors import UserError
from runtime.ports.model_registry import LocalModelRegistry, ModelRegistry, SageMakerModelRegistry
from runtime.ports.object_store import LocalObjectStore, S3ObjectStore
from steps.common.arguments import comma_list, port, positive
from steps.serve import make_server

LOG = logging.getLogger("deploy-model")
ROLE_ENV = "SAGEMAKER_ROLE_ARN"
DEFAULT_LOCAL_ROOT = ".sagemaker-local"
DEFAULT_PORT = 8080


# --- SageMaker ------------------------------------------------------------------------------

def _select(args: argparse.Namespace, registry: ModelRegistry,
            list_groups: Any) -> Any:
    return select(registry, list_groups, package=args.package, group=args.group,
                  multi_model=args.multi_model, multi_model_groups=args.multi_model_groups,
                  endpoint=args.endpoint, live_prefix=args.live_prefix)


def _capacity(args: argparse.Namespace, multi: bool) -> requests.Capacity:
    return requests.choose_capacity(multi, instance_type=args.instance_type,
                                    instance_count=args.instance_count,
                                    memory_size=args.memory_size,
                                    max_concurrency=args.max_concurrency)


def _aws_clients(region: str | None) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=region)
    try:
        return session.client("sagemaker"), session.client("s3")
    except NoRegionError as exc:
        raise UserError("no AWS region: pass --region or set AWS_REGION") from exc


def run_aws(args: argparse.Namespace, sm: Any, s3: Any) -> int:
    store = S3ObjectStore(s3)
    if args.rollback:
        calls, summary = endpoints.rollback_calls(sm, args.rollback), {"endpoint": args.rollback}
    elif args.delete:
        calls, summary = endpoints.delete_calls(sm, args.delete), {"endpoint": args.delete}
    else:
        role_arn = args.role_arn or os.environ.get(ROLE_ENV)
        if not role_arn:
            raise UserError(f"pass --role-arn (the execution role the model runs as) or "
                                  f"set {ROLE_ENV}")
        selection = _select(args, SageMakerModelRegistry(sm),
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
    selection = _select(args, registry,
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
        raise UserError("--rollback, --delete and --dry-run act on SageMaker endpoints; "
                              "a local deployment serves until Ctrl-C")
    root = Path(args.local_root)
    if not (root / "model-registry").is_dir():
        raise UserError(f"no local model registry under {root.resolve()}: run a pipeline "
                              "with `run-pipeline --local` first, or pass --local-root")
    deployment = local_deployment(args, root)
    try:
        server = make_server(deployment.app, host=args.host, port=args.port)
    except OSError as exc:
        deployment.close()
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
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
    what.add_argument("--multi-model-groups", type=comma_list, metavar="G1,G2",
                      help="these groups behind one multi-model endpoint (needs --endpoint)")
    what.add_argument("--rollback", metavar="ENDPOINT", help="return to the previous config")
    what.add_argument("--delete", metavar="ENDPOINT",
                      help="delete the endpoint and the configs and models deploy-model made")
    how = parser.add_argument_group("how")
    how.add_argument("--endpoint", help="endpoint name (default: the group, or BASE)")
    how.add_argument("--role-arn", help=f"execution role of the model (default: ${ROLE_ENV})")
    how.add_argument("--memory-size", type=positive, default=None,
                     help="serverless memory in MB (default 6144)")
    how.add_argument("--max-concurrency", type=positive, default=None,
                     help="serverless max concurrency (default 1)")
    how.add_argument("--instance-type", help="real-time instead of serverless, e.g. ml.m5.large "
                     f"(multi-model default: {requests.DEFAULT_INSTANCE_TYPE})")
    how.add_argument("--instance-count", type=positive, default=1)
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
    on_laptop.add_argument("--port", type=port, default=DEFAULT_PORT,
                           help="0 picks a free port (default: %(default)s)")
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    chosen = [name for name, value in (
        ("ARN|GROUP/VERSION", args.package), ("--group", args.group),
        ("--multi-model", args.multi_model), ("--multi-model-groups", args.multi_model_groups),
        ("--rollback", args.rollback), ("--delete", args.delete)) if value]
    if len(chosen) != 1:
        raise UserError("name exactly one of a package (ARN or GROUP/VERSION), --group G "
                              "--latest-approved, --multi-model BASE, --multi-model-groups, "
                              f"--rollback ENDPOINT, --delete ENDPOINT; got "
                              f"{', '.join(chosen) or 'none'}")
    if bool(args.group) != args.latest_approved:
        raise UserError("--group and --latest-approved go together: --group G "
                              "--latest-approved deploys G's newest approved version")
    if args.multi_model_groups and not args.endpoint:
        raise UserError("--multi-model-groups needs --endpoint NAME")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """deploy-model's options, checked; UserError names a bad combination."""
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
    except Exception as exc:
        return exit_code_for("deploy-model", exc, "--local")


if __name__ == "__main__":
    sys.exit(main())
