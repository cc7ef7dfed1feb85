"""`mapping-review` end to end: the Lambda proposes, a person lists, shows, edits, decides."""
from __future__ import annotations

import hashlib
import json

import pytest

from lambdas.mapping_callback import handler
from pipelines.cli import mapping_review
from runtime.ports.local_callbacks import FileCallbacks, read_callback
from runtime.ports.object_store import LocalObjectStore
from tests.lambdas.mapping_callback.mapping_fixtures import (
    ARTIFACT_1,
    EXECUTION_ARN,
    MAPPING_1,
    OUTPUT_PREFIX,
    layer1_summary,
    load_event,
    output_archive,
    summary_uri,
)

PROPOSAL = f"{OUTPUT_PREFIX}/MapLayer1/layer-1/proposal.json"
REJECTION = f"{OUTPUT_PREFIX}/MapLayer1/layer-1/rejection.json"
TOKEN = "Layer1Tok3"


@pytest.fixture
def local_run(tmp_path):
    """A local root where the review-mode Lambda has left its proposal."""
    store = LocalObjectStore(tmp_path)
    store.write_bytes(summary_uri(ARTIFACT_1), output_archive(layer1_summary()))
    response = handler.handle_event(load_event("mapping_layer1_review"), None, store=store,
                                    callbacks=FileCallbacks(tmp_path), max_receive_count=3)
    assert response == {"batchItemFailures": []}
    assert read_callback(tmp_path, TOKEN) is None
    return tmp_path, store


def review(root, *argv: str) -> int:
    return mapping_review.main([*argv, "--local", str(root)])


class TestLocal:
    def test_list_and_show_the_pending_proposal(self, local_run, capsys):
        root, _ = local_run
        assert review(root, "list", OUTPUT_PREFIX + "/") == 0
        assert capsys.readouterr().out == (
            f"pending   layer 1  MapLayer1                1 to recluster  {PROPOSAL}\n")

        assert review(root, "show", PROPOSAL) == 0
        shown = capsys.readouterr().out.splitlines()
        assert shown[:4] == [f"proposal   {PROPOSAL}", f"execution  {EXECUTION_ARN}",
                             "step       MapLayer1 (layer 1), pending",
                             f"mapping    {MAPPING_1}"]
        table = shown[shown.index("") + 1:]
        assert table[0].split() == ["ID", "PARENT", "SIZE", "ACTION", "LABEL", "KEYWORDS"]
        assert table[1].split("  ")[0:1] == ["1:0"] and "split" in table[1]
        assert "merge -> 1:2" in table[4] and "film, award, actor, oscar" in table[4]
        assert shown[-1] == "recluster in layer 2: 1:0"
        why = shown[shown.index("why:") + 1:-2]
        assert [line.split()[:2] for line in why] == [
            ["1:0", "split:"], ["1:1", "keep:"], ["1:2", "keep:"], ["1:3", "merge:"],
            ["1:4", "keep:"]]

        assert review(root, "show", PROPOSAL, "--examples") == 0
        shown = capsys.readouterr().out.splitlines()
        assert shown[shown.index("examples:"):] == [
            "examples:", "  1:0  Arsenal won.", "  1:1  Labour won."]

    def test_a_duplicate_delivery_leaves_the_same_proposal_and_no_answer(self, local_run):
        root, store = local_run
        first = store.read_bytes(PROPOSAL)
        response = handler.handle_event(load_event("mapping_layer1_review"), None, store=store,
                                        callbacks=FileCallbacks(root), max_receive_count=3)
        assert response == {"batchItemFailures": []}
        assert store.read_bytes(PROPOSAL) == first
        assert read_callback(root, TOKEN) is None and not store.exists(MAPPING_1)

    def test_accept_as_proposed_answers_the_waiting_step(self, local_run, capsys):
        root, store = local_run
        assert review(root, "accept", PROPOSAL) == 0
        assert capsys.readouterr().out == f"accepted: {MAPPING_1}; the step goes on\n"

        proposal = json.loads(store.read_bytes(PROPOSAL))
        assert json.loads(store.read_bytes(MAPPING_1)) == {**proposal["mapping"], "reviewed": True}
        crt = hashlib.sha256(f"{TOKEN}|success|{MAPPING_1}".encode()).hexdigest()
        assert read_callback(root, TOKEN) == {
            "token": TOKEN, "status": "Succeeded", "client_request_token": crt,
            "outputs": {"mapping_uri": MAPPING_1, "topics": "5", "recluster_count": "1"}}

        assert review(root, "list", OUTPUT_PREFIX) == 0
        assert capsys.readouterr().out.startswith("accepted  layer 1")
        assert review(root, "accept", PROPOSAL) == 0  # the same mapping again: idempotent
        assert capsys.readouterr().out == (f"accepted: {MAPPING_1}; the step had already "
                                           "completed\n")

    def test_accept_an_edited_mapping(self, local_run, tmp_path_factory, capsys):
        root, store = local_run
        assert review(root, "show", PROPOSAL, "--json") == 0
        edited = json.loads(capsys.readouterr().out)
        edited["topics"][1]["label"] = "UK politics"
        edited["topics"][3].update(action="keep", merge_into=None)
        edited["topics"][0]["action"] = "keep"
        edited["recluster"] = []
        path = tmp_path_factory.mktemp("edit") / "mapping.json"
        path.write_text(json.dumps(edited))

        assert review(root, "accept", PROPOSAL, "--mapping", str(path)) == 0

        accepted = json.loads(store.read_bytes(MAPPING_1))
        assert accepted["reviewed"] is True and accepted["recluster"] == []
        assert (accepted["topics"][1]["label"], accepted["topics"][1]["renamed_from"]) == (
            "UK politics", "election, labour, party")
        assert (accepted["topics"][0]["subtopics"], accepted["topics"][0]["reason"][:46]) == (
            None, "keep: set in mapping review (the rule proposed")
        assert read_callback(root, TOKEN)["outputs"]["recluster_count"] == "0"

        # a different mapping for an accepted proposal is refused, nothing changes
        assert review(root, "accept", PROPOSAL) == 1  # state: exit 1
        assert capsys.readouterr().err.startswith(
            f"mapping-review: refused: a different mapping already exists at {MAPPING_1}")
        assert json.loads(store.read_bytes(MAPPING_1)) == accepted

    @pytest.mark.parametrize(("edit", "message"), [
        (lambda m: m["topics"][2].update(action="drop"),
         "--mapping {path} is not a valid MappingDocument: topics.2.action: Input should be "
         "'keep', 'split' or 'merge'"),
        (lambda m: m.update(recluster=[]),
         "--mapping {path} is not a valid MappingDocument: document: recluster lists [] but the "
         "layer 1 topics with action 'split' are ['1:0']: make them match"),
        (lambda m: m["topics"][2].update(size=26),
         "topic 1:2: size is what the model found and cannot change (proposal 25, file 26); "
         "edit label, action, merge_into, subtopics"),
        (lambda m: m["topics"].pop(),
         "the edited mapping must keep the proposal's topics: missing ['1:4'], extra []"),
    ])
    def test_an_invalid_edit_is_refused_before_anything_is_written(
            self, local_run, tmp_path_factory, capsys, edit, message):
        root, store = local_run
        mapping = json.loads(store.read_bytes(PROPOSAL))["mapping"]
        edit(mapping)
        path = tmp_path_factory.mktemp("edit") / "mapping.json"
        path.write_text(json.dumps(mapping))

        assert review(root, "accept", PROPOSAL, "--mapping", str(path)) == 2  # bad input

        assert capsys.readouterr().err == (f"mapping-review: error: "
                                           f"{message.format(path=path)}\n")
        assert not store.exists(MAPPING_1) and read_callback(root, TOKEN) is None

    def test_reject_fails_the_step_and_blocks_accept(self, local_run, capsys):
        root, store = local_run
        assert review(root, "reject", PROPOSAL, "--reason", "1:0 mixes sport and politics") == 0
        assert capsys.readouterr().out == "rejected: the step fails\n"
        answer = read_callback(root, TOKEN)
        assert (answer["status"], answer["failure_reason"]) == (
            "Failed", "mapping review rejected: 1:0 mixes sport and politics")
        assert json.loads(store.read_bytes(REJECTION))["reason"] == "1:0 mixes sport and politics"

        assert review(root, "accept", PROPOSAL) == 1
        assert "this proposal was rejected" in capsys.readouterr().err
        assert not store.exists(MAPPING_1)

    @pytest.mark.parametrize(("argv", "message"), [
        (["show", MAPPING_1], f"{MAPPING_1} is not a proposal: give the URI of a proposal.json"),
        (["show", f"{OUTPUT_PREFIX}/Other/layer-1/proposal.json"],
         f"no proposal at {OUTPUT_PREFIX}/Other/layer-1/proposal.json"),
        (["list", "topics-bucket/no-scheme"], "expected an s3://bucket/key URI"),
    ])
    def test_bad_requests_get_one_line(self, local_run, capsys, argv, message):
        root, _ = local_run
        assert review(root, *argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mapping-review: error: {message}") and err.count("\n") == 1

    def test_a_missing_local_root_is_named(self, tmp_path, capsys):
        assert review(tmp_path / "nowhere", "list", OUTPUT_PREFIX) == 2
        assert "is not a directory: give the local run's root" in capsys.readouterr().err


class TestAws:
    def test_reject_sends_the_failure_callback(self, layer1_inputs, callbacks, stubber, capsys):
        response = handler.handle_event(load_event("mapping_layer1_review"), None,
                                        store=layer1_inputs, callbacks=callbacks,
                                        max_receive_count=3)
        assert response == {"batchItemFailures": []}
        reason = "mapping review rejected: labels are wrong"
        stubber.add_response(
            "send_pipeline_execution_step_failure", {"PipelineExecutionArn": EXECUTION_ARN},
            {"CallbackToken": TOKEN, "FailureReason": reason,
             "ClientRequestToken": hashlib.sha256(f"{TOKEN}|failure|{reason}".encode())
             .hexdigest()})

        assert mapping_review.main(["reject", PROPOSAL, "--reason", "labels are wrong"],
                                   ports=(layer1_inputs, callbacks)) == 0
        assert capsys.readouterr().out == "rejected: the step fails\n"
