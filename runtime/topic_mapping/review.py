"""A person's review of a proposed mapping: list, show, accept (as is or edited) or reject.

In review mode the mapping Lambda writes `proposal.json` (the proposed mapping, the step's
callback token, where the accepted mapping goes) and leaves the step waiting; accepting writes
the mapping once and answers the step, rejecting records why and fails it. An edited mapping
must keep the proposal's topics, keywords, sizes and parents. A request the proposal's state
does not allow is `Refused`; bad input is a `UserError`.
"""
from __future__ import annotations

from runtime.errors import Refused, UserError
from runtime.ports.callbacks import PipelineCallbacks
from runtime.ports.object_store import ObjectNotFound, ObjectStore
from runtime.topic_mapping.errors import PermanentFailure
from runtime.topic_mapping.locations import PROPOSAL_FILE, rejection_uri
from runtime.topic_mapping.proposal import Proposal, Rejection
from runtime.topic_mapping.publish import publish_mapping, send_failure, write_once
from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    SchemaError,
    TopicSummary,
    dump_document,
    layer_of,
    load_document,
    topic_id,
)


def load_proposal(store: ObjectStore, uri: str) -> Proposal:
    if not uri.endswith("/" + PROPOSAL_FILE):
        raise UserError(f"{uri} is not a proposal: give the URI of a {PROPOSAL_FILE} "
                        f"(`mapping-review list PREFIX` shows them)")
    try:
        return load_document(Proposal, store.read_bytes(uri), f"proposal {uri}")
    except ObjectNotFound:
        raise UserError(f"no proposal at {uri}; `mapping-review list PREFIX` shows the proposals "
                        "under a prefix") from None
    except SchemaError as exc:
        raise Refused(f"{exc}; it was not written by the mapping Lambda") from None


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
        for field in ("keywords", "size", "parent", "dispersion", "breadth", "split_silhouette"):
            if getattr(topic, field) != getattr(before, field):
                raise UserError(f"topic {topic.id}: {field} is what the model found and cannot "
                                  f"change (proposal {getattr(before, field)!r}, file "
                                  f"{getattr(topic, field)!r}); edit label, action, merge_into, "
                                  "subtopics")
        if topic.label != before.label and topic.renamed_from is None:
            topic = topic.model_copy(update={"renamed_from": before.renamed_from or before.label})
        if topic.action != before.action:
            topic = topic.model_copy(update={
                "reason": f"{topic.action}: set in mapping review (the rule proposed "
                          f"{before.reason or before.action})",
                "subtopics": topic.subtopics if topic.action == "split" else None})
        topics.append(topic)
    return MappingDocument.model_validate(
        {**edited.model_dump(), "topics": [t.model_dump() for t in topics], "reviewed": True})


def accept(store: ObjectStore, callbacks: PipelineCallbacks, uri: str,
           edited: MappingDocument | None = None) -> tuple[dict[str, str], bool]:
    """Write the accepted mapping and answer the step; return (outputs, already completed)."""
    proposal = load_proposal(store, uri)
    if store.exists(rejection_uri(uri)):
        raise Refused(f"this proposal was rejected ({rejection_uri(uri)}); the step has "
                          "failed, so re-run the pipeline to get a new proposal")
    mapping = reviewed_mapping(proposal, edited)
    try:
        return publish_mapping(store, callbacks, token=proposal.token,
                               uri=proposal.mapping_uri, mapping=mapping)
    except PermanentFailure as exc:
        raise Refused(f"{exc}: this proposal was already accepted with another mapping") \
            from None


def reject(store: ObjectStore, callbacks: PipelineCallbacks, uri: str, reason: str) -> bool:
    """Record the rejection and fail the step; return False if the step had already completed."""
    proposal = load_proposal(store, uri)
    if store.exists(proposal.mapping_uri):
        raise Refused(f"this proposal was already accepted ({proposal.mapping_uri})")
    try:
        write_once(store, rejection_uri(uri), dump_document(Rejection(reason=reason)), "rejection")
    except PermanentFailure as exc:
        raise Refused(str(exc)) from None
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
    lines += ["", "why:", *(f"  {t.id}  {t.reason}" for t in mapping.topics
                            if layer_of(t.id) == mapping.layer and t.reason)]
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
