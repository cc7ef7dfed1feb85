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

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.mapping_callback.errors import PermanentFailure
from lambdas.mapping_callback.inputs import read_topic_summary
from lambdas.mapping_callback.locations import PROPOSAL_FILE, rejection_uri
from lambdas.mapping_callback.proposal import Proposal, Rejection
from lambdas.mapping_callback.publish import publish_mapping, send_failure, write_once
from pipelines.cli_errors import Refused, UserError, aws_error_message, aws_setup_message
from pipelines.ports.callbacks import CallbackTokenRejected, PipelineCallbacks
from pipelines.ports.object_store import ObjectNotFound, ObjectStore, TransientStoreError
from pipelines.ports.uris import InvalidS3Uri
from steps.common.structure import bounded
from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    SchemaError,
    TopicSummary,
    dump_document,
    layer_of,
    load_document,
    topic_id,
)

PROG = "mapping-review"


class ReviewError(Refused):
    """A request this proposal's state does not allow (exit 1); the message says what to do
    instead. Bad input (a URI that names no proposal, an edited mapping that breaks the rules,
    a missing --local root) is a UserError (exit 2)."""


def load_proposal(store: ObjectStore, uri: str) -> Proposal:
    if not uri.endswith("/" + PROPOSAL_FILE):
        raise UserError(f"{uri} is not a proposal: give the URI of a {PROPOSAL_FILE} "
                        f"(`{PROG} list PREFIX` shows them)")
    try:
        return load_document(Proposal, store.read_bytes(uri), f"proposal {uri}")
    except ObjectNotFound:
        raise UserError(f"no proposal at {uri}; `{PROG} list PREFIX` shows the proposals "
                        "under a prefix") from None
    except SchemaError as exc:
        raise ReviewError(f"{exc}; it was not written by the mapping Lambda") from None


def proposal_state(store: ObjectStore, uri: str, proposal: Proposal) -> str:
    if store.exists(proposal.mapping_uri):
        return "accepted"
    if store.exists(rejection_uri(uri)):
        return "rejected"
    return "pending"


def list_proposals(store: ObjectStore, prefix: str) -> list[tuple[str, Proposal, str]]:
    """(uri, proposal, state) for every proposal under the prefix, in URI order."""
    uris = [u for u in store.list_uris(prefix) if u.endswith("/" + PROPOSAL_FILE)]
    found = []
    for uri in uris:
        proposal = load_proposal(store, uri)
        found.append((uri, proposal, proposal_state(store, uri, proposal)))
    return found


def reviewed_mapping(proposal: Proposal, edited: MappingDocument | None) -> MappingDocument:
    """The mapping to accept: the proposal's, or an edit of it that keeps what the model found."""
    proposed = {t.id: t for t in proposal.mapping.topics}
    if edited is None:
        return proposal.mapping.model_copy(update={"reviewed": True})
    if edited.layer != proposal.layer:
        raise UserError(f"the edited mapping is for layer {edited.layer}, the proposal for "
                          f"layer {proposal.layer}")
    ids = {t.id for t in edited.topics}
    if ids != set(proposed):
        raise UserError(f"the edited mapping must keep the proposal's topics: missing "
                          f"{sorted(set(proposed) - ids)}, extra {sorted(ids - set(proposed))}")
    topics = []
    for topic in edited.topics:
        before = proposed[topic.id]
        if layer_of(topic.id) < proposal.layer and topic != before:
            raise UserError(f"topic {topic.id} belongs to layer {layer_of(topic.id)}, which "
                              "was already decided; only this layer's topics may change")
        for field in ("keywords", "size", "parent"):
            if getattr(topic, field) != getattr(before, field):
                raise UserError(f"topic {topic.id}: {field} is what the model found and cannot "
                                  f"change (proposal {getattr(before, field)!r}, file "
                                  f"{getattr(topic, field)!r}); edit label, action, merge_into")
        if topic.label != before.label and topic.renamed_from is None:
            topic = topic.model_copy(update={"renamed_from": before.renamed_from or before.label})
        topics.append(topic)
    return MappingDocument.model_validate(
        {**edited.model_dump(), "topics": [t.model_dump() for t in topics], "reviewed": True})


def accept(store: ObjectStore, callbacks: PipelineCallbacks, uri: str,
           edited: MappingDocument | None = None) -> tuple[dict[str, str], bool]:
    """Write the accepted mapping and answer the step; return (outputs, already completed)."""
    proposal = load_proposal(store, uri)
    if store.exists(rejection_uri(uri)):
        raise ReviewError(f"this proposal was rejected ({rejection_uri(uri)}); the step has "
                          "failed, so re-run the pipeline to get a new proposal")
    mapping = reviewed_mapping(proposal, edited)
    try:
        return publish_mapping(store, callbacks, token=proposal.token,
                               uri=proposal.mapping_uri, mapping=mapping)
    except PermanentFailure as exc:
        raise ReviewError(f"{exc}: this proposal was already accepted with another mapping") \
            from None


def reject(store: ObjectStore, callbacks: PipelineCallbacks, uri: str, reason: str) -> bool:
    """Record the rejection and fail the step; return False if the step had already completed."""
    proposal = load_proposal(store, uri)
    if store.exists(proposal.mapping_uri):
        raise ReviewError(f"this proposal was already accepted ({proposal.mapping_uri})")
    try:
        write_once(store, rejection_uri(uri), dump_document(Rejection(reason=reason)), "rejection")
    except PermanentFailure as exc:
        raise ReviewError(str(exc)) from None
    return send_failure(callbacks, proposal.token, f"mapping review rejected: {reason}")


def format_proposal(uri: str, proposal: Proposal, state: str) -> str:
    """The proposal as a table of this layer's topics, for a person to read."""
    mapping = proposal.mapping
    lines = [f"proposal   {uri}", f"execution  {proposal.execution_arn}",
             f"step       {proposal.step_name} (layer {proposal.layer}), {state}",
             f"mapping    {proposal.mapping_uri}",
             *(f"input      {name} = {value}" for name, value in proposal.inputs.items()), ""]
    rows = [("ID", "PARENT", "SIZE", "ACTION", "LABEL", "KEYWORDS")]
    for t in (t for t in mapping.topics if layer_of(t.id) == mapping.layer):
        action = f"merge -> {t.merge_into}" if t.action == "merge" else t.action
        label = f"{t.label} (was: {t.renamed_from})" if t.renamed_from else t.label
        rows.append((t.id, t.parent or "-", str(t.size), action, label, ", ".join(t.keywords[:6])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
              + "  " + row[-1] for row in rows]
    recluster = ", ".join(mapping.recluster) or "none"
    lines.append(f"\nrecluster in layer {mapping.layer + 1}: {recluster}")
    return "\n".join(lines)


def format_examples(summary: TopicSummary, per_topic: int = 2, width: int = 100) -> str:
    """Each topic's first representative documents, on one line each, cut to `width`."""
    lines = ["", "examples:"]
    for t in sorted(summary.topics, key=lambda t: t.topic):
        for doc in t.representative_docs[:per_topic]:
            text = " ".join(doc.split())
            cut = text if len(text) <= width else text[: width - 3] + "..."
            lines.append(f"  {topic_id(summary.layer, t.topic)}  {cut}")
    return "\n".join(lines)


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

    from pipelines.ports.callbacks import SageMakerCallbacks
    from pipelines.ports.object_store import S3ObjectStore

    session = boto3.Session(region_name=region)
    return S3ObjectStore(session.client("s3")), SageMakerCallbacks(session.client("sagemaker"))


def _local_ports(root: Path) -> tuple[ObjectStore, PipelineCallbacks]:
    from pipelines.ports.local_callbacks import FileCallbacks
    from pipelines.ports.object_store import LocalObjectStore

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
                    raise ReviewError(f"cannot show examples: {exc}") from None
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
    except (UserError, InvalidS3Uri) as exc:
        print(f"{PROG}: error: {bounded(str(exc))}", file=sys.stderr)
        return 2
    except ReviewError as exc:
        print(f"{PROG}: refused: {exc}", file=sys.stderr)
        return 1
    except CallbackTokenRejected as exc:
        print(f"{PROG}: refused: SageMaker rejected the proposal's callback token (the "
              f"execution ended or the token expired), so its step cannot be answered: "
              f"{bounded(str(exc), 120)}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError, TransientStoreError) as exc:
        setup = aws_setup_message(exc, "--local ROOT")
        print(f"{PROG}: error: {setup}" if setup else
              f"{PROG}: AWS error: {aws_error_message(exc) or bounded(str(exc))}",
              file=sys.stderr)
        return 2 if setup else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
