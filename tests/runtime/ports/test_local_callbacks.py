"""FileCallbacks: the local pipeline-callback port that a local run polls."""
from __future__ import annotations

import json
import threading

import pytest

from runtime.ports.callbacks import CallbackAlreadyCompleted, CallbackTokenRejected
from runtime.ports.local_callbacks import FileCallbacks, callback_path, read_callback


def test_a_success_is_written_where_the_runner_polls(tmp_path):
    assert read_callback(tmp_path, "Tok0000001") is None
    FileCallbacks(tmp_path).send_success("Tok0000001", {"mapping_uri": "s3://b/m.json"}, "c" * 64)
    assert read_callback(tmp_path, "Tok0000001") == {
        "token": "Tok0000001", "status": "Succeeded", "outputs": {"mapping_uri": "s3://b/m.json"},
        "client_request_token": "c" * 64}
    assert (tmp_path / "callbacks" / "Tok0000001.json").is_file()
    assert [p.name for p in (tmp_path / "callbacks").iterdir()] == ["Tok0000001.json"]


def test_a_failure_reason_is_cut_like_sagemaker_does(tmp_path):
    FileCallbacks(tmp_path).send_failure("Tok0000001", "x" * 300, "c" * 64)
    answer = read_callback(tmp_path, "Tok0000001")
    assert (answer["status"], answer["failure_reason"]) == ("Failed", "x" * 253 + "...")


def test_a_second_answer_raises_and_keeps_the_first(tmp_path):
    callbacks = FileCallbacks(tmp_path)
    callbacks.send_success("Tok0000001", {"n": "1"}, "c" * 64)
    with pytest.raises(CallbackAlreadyCompleted, match="Tok0000001 already completed "
                                                        r"\(Succeeded\)"):
        callbacks.send_failure("Tok0000001", "late", "d" * 64)
    with pytest.raises(CallbackAlreadyCompleted):
        callbacks.send_success("Tok0000001", {"n": "1"}, "c" * 64)
    assert read_callback(tmp_path, "Tok0000001")["outputs"] == {"n": "1"}


def test_concurrent_answers_complete_the_step_once(tmp_path):
    outcomes: list[str] = []

    def answer(index: int) -> None:
        try:
            FileCallbacks(tmp_path).send_success("Tok0000001", {"n": str(index)}, "c" * 64)
            outcomes.append("won")
        except CallbackAlreadyCompleted:
            outcomes.append("conflict")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    assert [p.name for p in (tmp_path / "callbacks").iterdir()] == ["Tok0000001.json"]


@pytest.mark.parametrize("token", ["../../etc/x", "short", "Tok00000011", "Tok-000001"])
def test_tokens_must_have_sagemakers_shape(tmp_path, token):
    with pytest.raises(CallbackTokenRejected, match="must be 10 letters or digits"):
        FileCallbacks(tmp_path).send_success(token, {}, "c" * 64)
    assert not (tmp_path / "callbacks").exists() or not list((tmp_path / "callbacks").iterdir())


def test_invalid_outputs_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="output parameter 'n' must be a string"):
        FileCallbacks(tmp_path).send_success("Tok0000001", {"n": 1}, "c" * 64)
    assert read_callback(tmp_path, "Tok0000001") is None


def test_the_answer_file_is_plain_json(tmp_path):
    FileCallbacks(tmp_path).send_success("Tok0000001", {}, "c" * 64)
    assert json.loads(callback_path(tmp_path, "Tok0000001").read_text())["status"] == "Succeeded"
