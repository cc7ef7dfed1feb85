"""The served model: packaging all layers with the final mapping, and the handler round trips."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import tarfile

import pytest

from steps.common.errors import InvalidData, InvalidRequest, NotAcceptable, UnsupportedMediaType
from steps.common.files import write_json_atomic
from steps.sequential_topics import contract, inference, layer_store, package_model
from steps.sequential_topics.model_package import assemble_model_dir
from steps.sequential_topics.text_cleaning import CleaningSettings
from tests.steps.sequential_topics.conftest import read_json, run_main

pytestmark = pytest.mark.integration

TEXT_COLUMNS = ("title", "description", "details")


@pytest.fixture(scope="module")
def preprocessing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    write_json_atomic(folder / contract.PREPROCESSING_CONFIG,
                      CleaningSettings(text_columns=TEXT_COLUMNS).to_json())
    return folder


@pytest.fixture(scope="module")
def packaged(trained, preprocessing, lsa_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("package")
    run = run_main(package_model.main, [
        "--model", str(trained.model_dirs[3]), "--mapping", str(trained.mappings[2]),
        "--preprocessing", str(preprocessing), "--representations", str(lsa_dir),
        "--output-dir", str(work / "out")], work)
    assert run.returncode == 0, run.stderr
    with tarfile.open(work / "out" / "model.tar.gz") as archive:
        archive.extractall(work / "model", filter="data")
    return work / "model"


@pytest.fixture(scope="module")
def model(packaged):
    return inference.model_fn(str(packaged))


def invoke(model, body, content_type="application/json", accept="application/json"):
    data = inference.input_fn(body if isinstance(body, bytes) else body.encode(), content_type)
    return inference.output_fn(inference.predict_fn(data, model), accept)


class TestPackage:
    def test_layout(self, packaged):
        names = {p.name for p in packaged.iterdir()}
        assert names == {"serving.json", "model.json", "mapping.json", "representations",
                         "layer-1", "layer-2", "layer-3", "assignments.csv"}
        assert read_json(packaged / "serving.json") == {"handler": contract.HANDLER_MODULE}
        manifest = read_json(packaged / "model.json")
        assert manifest["layers"] == [1, 2, 3]
        assert manifest["representations"] == {"1": "lsa", "2": "lsa", "3": "lsa"}
        assert manifest["preprocessing"]["text_columns"] == list(TEXT_COLUMNS)

    def test_separate_layer_dirs_give_the_same_layers(self, trained, preprocessing, lsa_dir,
                                                      tmp_path):
        out = assemble_model_dir([trained.model_dirs[1], trained.model_dirs[2],
                                  trained.model_dirs[3]], trained.mappings[2], tmp_path / "m",
                                 preprocessing, lsa_dir)
        assert layer_store.layers_in(out) == [1, 2, 3]

    def test_mapping_from_other_models_is_refused(self, trained, preprocessing, lsa_dir,
                                                  tmp_path):
        with pytest.raises(InvalidData, match="the mapping covers layer 2 but the models stop "
                                              "at layer 1"):
            assemble_model_dir([trained.model_dirs[1]], trained.mappings[2], tmp_path / "m",
                               preprocessing, lsa_dir)

    def test_lsa_model_is_required_for_lsa_layers(self, trained, preprocessing, tmp_path):
        with pytest.raises(InvalidData, match="need the LSA model"):
            assemble_model_dir([trained.model_dirs[3]], trained.mappings[2], tmp_path / "m",
                               preprocessing, None)


class TestRoundTrips:
    def test_json_records_follow_the_layers(self, model, trained):
        body = json.dumps({"instances": [
            {"id": "r1", "title": "Shares and profits rise", "description":
             "The bank reported strong quarterly growth and its shares rose on the market."},
            "The film star won an award for best actor at the festival",
        ]})
        answer, content_type = invoke(model, body)
        assert content_type == "application/json"
        predictions = json.loads(answer)["predictions"]
        assert [p["status"] for p in predictions] == ["ok", "ok"]
        assert predictions[0]["id"] == "r1"
        mapping = json.loads((trained.mappings[2] / "mapping.json").read_text())
        entries = {t["id"]: t for t in mapping["topics"]}
        for prediction in predictions:
            path = prediction["layers"]
            assert path[0]["layer"] == 1 and path[0]["topic"].startswith("1:")
            assert [step["layer"] for step in path] == list(range(1, len(path) + 1))
            for upper, lower in zip(path, path[1:], strict=False):
                assert entries[upper["topic"]]["action"] == "split"
                assert entries.get(lower["topic"], {}).get("parent", upper["topic"]) == \
                    upper["topic"]
            last = path[-1]
            assert prediction["topic"] == last["topic"] and prediction["label"] == last["label"]
            if last["topic"] in entries:
                target = entries[last["topic"]].get("merge_into") or last["topic"]
                assert last["label"] == entries[target]["label"]

    def test_training_documents_get_their_training_topics(self, model, trained, corpus_dir):
        assignments = layer_store.read_assignments(trained.model_dirs[3]).set_index("id")
        rows = list(csv.DictReader(open(next(corpus_dir.glob("*.csv")))))[:20]
        body = json.dumps({"instances": [r["document"] for r in rows]})
        predictions = json.loads(invoke(model, body)[0])["predictions"]
        agree = sum(p["layers"][0]["topic"] == assignments.loc[r["id"], "layer1"]
                    for p, r in zip(predictions, rows, strict=True))
        assert agree >= 18

    def test_csv_in_csv_out(self, model):
        body = "id,title,details,owner\n7,Election campaign,Labour minister party vote,x\n" \
               "8,,,y\n"
        answer, content_type = invoke(model, body, "text/csv", "text/csv")
        assert content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(answer)))
        assert [r["id"] for r in rows] == ["7", "8"]
        assert rows[0]["status"] == "ok" and rows[0]["layer1_topic"].startswith("1:")
        assert rows[1]["status"] == "empty" and rows[1]["topic"] == ""


class TestUnusableRecords:
    def test_per_record_status_instead_of_failure(self, model):
        body = json.dumps({"instances": [
            {"title": "Mobile phone makers"}, {"title": ""}, {"title": "N/A",
                                                              "details": "Please see attached."},
            {"title": ["not", "text"]}, 42, None]})
        predictions = json.loads(invoke(model, body)[0])["predictions"]
        assert [p["status"] for p in predictions] == ["ok", "empty", "empty", "invalid",
                                                      "invalid", "empty"]
        assert predictions[2]["message"].startswith("nothing is left of the text")
        assert predictions[3]["message"] == "field 'title' is a list, not text"
        assert all(p["topic"] is None for p in predictions[1:])

    @pytest.mark.parametrize("body, content_type, message", [
        (b"", "application/json", "the request body is empty"),
        (b"{not json", "application/json", "the request body is not valid JSON"),
        (b'{"rows": []}', "application/json", 'the JSON body must be {"instances": [...]}'),
        (b"title\n", "text/csv", "the CSV has a header but no data rows"),
        (b"title,details\nx\n", "text/csv", "CSV row 1 has 1 values; the header names 2"),
        (b"\xff\xfe", "text/csv", "the request body is not UTF-8 text"),
    ])
    def test_bad_bodies(self, body, content_type, message):
        with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace(
                "{", r"\{")):
            inference.input_fn(body, content_type)

    def test_the_id_column_of_the_training_data_is_echoed(self, model):
        tickets = dataclasses.replace(model, settings=CleaningSettings(
            text_columns=("subject", "body"), id_column="ticket_id"))
        body = json.dumps({"instances": [
            {"ticket_id": "T-7", "subject": "Election", "body": "Labour party vote"},
            {"ticket_id": "T-8", "id": "x", "subject": ""}]})
        predictions = json.loads(invoke(tickets, body)[0])["predictions"]
        assert [(p["id"], p["status"]) for p in predictions] == [("T-7", "ok"), ("T-8", "empty")]
        csv_body = "ticket_id,subject\nT-9,Football match\n"
        rows = list(csv.DictReader(io.StringIO(invoke(tickets, csv_body, "text/csv",
                                                      "text/csv")[0])))
        assert [(r["id"], r["status"]) for r in rows] == [("T-9", "ok")]
        data = inference.input_fn(b'{"instances": [{"ticket_id": "T-1"}]}', "application/json")
        assert inference.predict_fn(data, tickets)[0]["status"] == "empty"

    def test_fields_the_model_does_not_know(self, model):
        data = inference.input_fn(b'{"instances": [{"name": "x", "notes": "y"}]}',
                                  "application/json")
        with pytest.raises(InvalidRequest, match=r"none of the model's text columns"):
            inference.predict_fn(data, model)

    def test_media_types(self):
        with pytest.raises(UnsupportedMediaType):
            inference.input_fn(b"x", "text/plain")
        with pytest.raises(NotAcceptable):
            inference.output_fn([], "application/xml")
