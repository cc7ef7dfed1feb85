"""`mapping-review`: look at a proposed topic mapping, then accept (as is or edited) or reject it.

In review mode the mapping callback Lambda writes `proposal.json` (the proposed mapping, the
step's callback token, where the accepted mapping goes) and leaves the step waiting. This
command finishes it, against AWS or, with `--local ROOT`, against a local run:

    mapping-review list s3://bucket/executions/abc/           # proposals and their state
    mapping-review show s3://.../proposal.json [--examples]   # topics (+ sample documents)
    mapping-review show s3://.../proposal.json --json         # the mapping, to edit
    mapping-review accept s3://.../proposal.json [--mapping edited.json]
    mapping-review reject s3://.../proposal.json --reason "topics 1:3 and 1:4 are mixed"
    mapping-review list s3://bucket/ --local .sagemaker-local   # a local run's proposals

An edited mapping must keep the proposal's topics, keywords, sizes and parents; only labels,
actions, merge targets and the recluster list may change. It is validated before anything is
written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.cli.outcome import exit_code_for
from runtime.errors import Refused, UserError
from runtime.ports.callbacks import CallbackTokenRejected, PipelineCallbacks
from runtime.ports.object_store import ObjectStore
from runtime.topic_mapping.errors import PermanentFailure
from runtime.topic_mapping.inputs import read_topic_summary
from runtime.topic_mapping.locations import PROPOSAL_FILE
from runtime.topic_mapping.review import (
    accept,
    format_examples,
    format_proposal,
    list_proposals,
    load_proposal,
    proposal_state,
    reject,
)
from steps.common.structure import bounded
from steps.sequential_topics.mapping_schema import MappingDocument, SchemaError, dump_document, load_document

PROG = "mapping-review"


def _parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--local", metavar="ROOT", type=Path,
                       help="a local run's root (e.g. .sagemaker-local) instead of AWS")
    where.add_argument("--region", help="AWS region (default: the environment's)")
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", parents=[where], help="proposals under a prefix")
    listing.add_argument("prefix", help="s3://bucket/prefix, e.g. an execution's output prefix")
    show = commands.add_parser("show", parents=[where], help="one proposal's topics")
    show.add_argument("proposal", help=f"s3://.../{PROPOSAL_FILE}")
    show.add_argument("--json", action="store_true",
                      help="print the proposed mapping as JSON, to edit and pass to accept")
    show.add_argument("--examples", action="store_true",
                      help="also print representative documents from the layer's summary")
    accepting = commands.add_parser("accept", parents=[where],
                                    help="write the mapping and let the pipeline go on")
    accepting.add_argument("proposal", help=f"s3://.../{PROPOSAL_FILE}")
    accepting.add_argument("--mapping", type=Path, metavar="FILE",
                           help="an edited mapping (from `show --json`) to accept instead")
    rejecting = commands.add_parser("reject", parents=[where], help="fail the step")
    rejecting.add_argument("proposal", help=f"s3://.../{PROPOSAL_FILE}")
    rejecting.add_argument("--reason", required=True, help="why; becomes the step's failure")
    return parser


def _aws_ports(region: str | None) -> tuple[ObjectStore, PipelineCallbacks]:
    import boto3

    from runtime.ports.callbacks import SageMakerCallbacks
    from runtime.ports.object_store import S3ObjectStore

    session = boto3.Session(region_name=region)
    return S3ObjectStore(session.client("s3")), SageMakerCallbacks(session.client("sagemaker"))


def _local_ports(root: Path) -> tuple[ObjectStore, PipelineCallbacks]:
    from runtime.ports.local_callbacks import FileCallbacks
    from runtime.ports.object_store import LocalObjectStore

    if not root.is_dir():
        raise UserError(f"--local {root} is not a directory: give the local run's root "
                          "(run-pipeline --local's, by default .sagemaker-local)")
    return LocalObjectStore(root), FileCallbacks(root)


def _run(args: argparse.Namespace, store: ObjectStore, callbacks: PipelineCallbacks) -> None:
    if args.command == "list":
        found = list_proposals(store, args.prefix)
        for uri, proposal, state in found:
            print(f"{state:<9} layer {proposal.layer}  {proposal.step_name:<24} "
                  f"{len(proposal.mapping.recluster)} to recluster  {uri}")
        if not found:
            print(f"no proposals under {args.prefix}")
    elif args.command == "show":
        proposal = load_proposal(store, args.proposal)
        if args.json:
            sys.stdout.write(dump_document(proposal.mapping).decode("utf-8"))
        else:
            print(format_proposal(args.proposal, proposal,
                                  proposal_state(store, args.proposal, proposal)))
            if args.examples:
                try:
                    summary = read_topic_summary(store, proposal.inputs["topic_summary"])
                except PermanentFailure as exc:
                    raise Refused(f"cannot show examples: {exc}") from None
                print(format_examples(summary))
    elif args.command == "accept":
        edited = None
        if args.mapping is not None:
            try:
                text = args.mapping.read_bytes()
            except OSError as exc:
                raise UserError(f"cannot read --mapping {args.mapping}: {exc.strerror}") \
                    from None
            try:
                edited = load_document(MappingDocument, text, f"--mapping {args.mapping}")
            except SchemaError as exc:
                raise UserError(str(exc)) from None
        outputs, already = accept(store, callbacks, args.proposal, edited)
        print(f"accepted: {outputs['mapping_uri']}"
              + ("; the step had already completed" if already else "; the step goes on"))
    else:
        answered = reject(store, callbacks, args.proposal, args.reason)
        print("rejected: the step fails" if answered
              else "rejected, but the step had already completed")


def main(argv: list[str] | None = None, *,
         ports: tuple[ObjectStore, PipelineCallbacks] | None = None) -> int:
    """Entry point; `ports` replaces the AWS/--local ones (tests, embedding)."""
    args = _parser().parse_args(argv)
    try:
        if ports is None:
            ports = _local_ports(args.local) if args.local else _aws_ports(args.region)
        _run(args, *ports)
    except CallbackTokenRejected as exc:
        print(f"{PROG}: refused: SageMaker rejected the proposal's callback token (the "
              f"execution ended or the token expired), so its step cannot be answered: "
              f"{bounded(str(exc), 120)}", file=sys.stderr)
        return 1
    except Exception as exc:
        return exit_code_for(PROG, exc, "--local ROOT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
