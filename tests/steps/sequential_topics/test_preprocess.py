"""preprocess.py as a program: cleaned parts, the data report, and bad input; on several hosts
(--shard-dir) merged by merge_corpus.py into the same corpus, byte for byte."""
from __future__ import annotations

import logging

import pandas as pd
import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, merge_corpus, preprocess, text_cleaning
from steps.sequential_topics.corpus_shards import check_enough_documents
from steps.sequential_topics.preprocess import check_columns
from tests.steps.sequential_topics.conftest import read_json, run_main, run_script

pytestmark = pytest.mark.integration

ROWS = [
    # id, title, description, details, label
    ("a1", "Cloud migration", "Move the bank's servers to the cloud.", "Please see attached.",
     "tech"),
    ("a2", "", None, "TBD - see attached", "tech"),                    # empty after cleaning
    ("a3", None, None, None, "business"),                               # empty input
    ("a4", "Cloud migration", "Move the bank's servers to the cloud.", "Please see attached.",
     "tech"),                                                           # raw duplicate
    ("a5", "Cloud migration", "Move the bank's servers to the cloud!",
     "https://crm.example.com/1", "tech"),                              # duplicate once clean
    ("a6", "Stadium naming deal", "John Smith signs a sponsorship for 3 years.",
     "Kind regards,\nJane\nSales", "sports"),
    ("a7", "Retail loyalty app", "We don't ship until the pilot ends.", "", "business"),
]


@pytest.fixture(scope="module")
def raw_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    frame = pd.DataFrame(ROWS, columns=["opportunity", "title", "description", "details",
                                        "segment"])
    frame.to_csv(folder / "records.csv", index=False)
    return folder / "records.csv"


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory, raw_csv):
    work = tmp_path_factory.mktemp("preprocess")
    run = run_script("preprocess.py", [
        "--input", str(raw_csv), "--parts-dir", str(work / "parts"),
        "--report-dir", str(work / "report"), "--id-column", "opportunity",
        "--label-column", "segment", "--num-parts", "2", "--min-documents", "3"], work)
    assert run.returncode == 0, run.stderr
    return work


def test_parts_hold_the_cleaned_corpus(cleaned):
    parts = sorted((cleaned / "parts").glob("*.csv"))
    assert [p.name for p in parts] == ["part-00000.csv", "part-00001.csv"]
    corpus = pd.concat([pd.read_csv(p, dtype=str) for p in parts], ignore_index=True)
    assert list(corpus.columns) == [contract.ID_COLUMN, contract.DOCUMENT_COLUMN,
                                    contract.LABEL_COLUMN]
    assert corpus[contract.ID_COLUMN].tolist() == ["a1", "a6", "a7"]
    documents = dict(zip(corpus[contract.ID_COLUMN], corpus[contract.DOCUMENT_COLUMN],
                         strict=True))
    assert documents["a1"] == "cloud migration move the bank server to the cloud"
    assert documents["a6"] == "stadium naming deal sign a sponsorship for"
    assert documents["a7"] == "retail loyalty app we do not ship until the pilot end"
    assert corpus[contract.LABEL_COLUMN].tolist() == ["tech", "sports", "business"]


def test_data_report_counts_what_was_dropped(cleaned):
    report = read_json(cleaned / "report" / contract.DATA_REPORT)
    assert report["rows_read"] == 7
    assert report["kept"] == 3
    assert report["dropped"] == {"empty_input": 1, "empty_after_cleaning": 1, "duplicate": 2}
    assert report["labels"] == {"business": 1, "sports": 1, "tech": 1}
    assert report["parts"] == 2
    assert [(h["host"], h["rows"], h["documents"]) for h in report["hosts"]] == [
        ("algo-1", 7, 3)]
    [read] = report["input_files"]  # how the table was read, as the tabular reports say
    assert (read["kind"], read["separator"], read["formatted_numbers"]) == ("text", ",", {})


def test_settings_are_saved_for_inference(cleaned):
    settings = read_json(cleaned / "report" / contract.PREPROCESSING_CONFIG)
    assert settings["text_columns"] == ["title", "description", "details"]
    assert settings["id_column"] == "opportunity"
    assert "PERSON" in settings["drop_entity_labels"]


def test_missing_text_column_fails_with_reason(tmp_path, raw_csv):
    run = run_script("preprocess.py", ["--input", str(raw_csv), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--text-columns", "title,needs"], tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [run.failure.strip()]
    assert run.failure.strip() == (
        "TextColumns: no column 'needs' in the input; its columns are: opportunity, title, "
        "description, details, segment; set the TextColumns parameter to the free-text "
        "columns (comma-separated)")
    assert not (tmp_path / "p").exists()


COLUMNS = ["ticket_id", "subject", "body", "status"]


class TestColumnChoices:
    """check_columns: each bad choice names its parameter, what was expected and the fix."""

    @pytest.fixture
    def table(self):
        return pd.DataFrame([["T1", "Printer jam", "The printer on floor 2 jams", "open"],
                             ["T2", "VPN", "Cannot reach the VPN from home", "closed"]],
                            columns=COLUMNS)

    def test_good_choices_pass(self, table):
        check_columns(table, ("subject", "body"), "ticket_id", "")
        check_columns(table, ("body",), "", "status")

    @pytest.mark.parametrize("text, id_column, label, message", [
        (("subject", "text", "notes"), "", "",
         "TextColumns: no columns 'text', 'notes' in the input; its columns are: "
         "ticket_id, subject, body, status; set the TextColumns parameter"),
        (("body",), "id", "",
         "IdColumn: no column 'id' in the input; its columns are: ticket_id, subject, "
         "body, status; set the IdColumn parameter to the column that identifies each "
         "record, or to '' to number the rows"),
        (("body",), "ticket_id", "label",
         "LabelColumn: no column 'label' in the input; its columns are: ticket_id, "
         "subject, body, status; set the LabelColumn parameter to the column of known "
         "categories, or to '' for none"),
    ])
    def test_missing_columns(self, table, text, id_column, label, message):
        with pytest.raises(InvalidData) as error:
            check_columns(table, text, id_column, label)
        assert str(error.value).startswith(message)

    def test_ids_with_gaps(self, table):
        table.loc[1, "ticket_id"] = "  "
        with pytest.raises(InvalidData, match=r"^IdColumn: column 'ticket_id' is empty in 1 of "
                                              r"2 rows; every record needs an id: fill them, or "
                                              r"set the IdColumn parameter to '' to number"):
            check_columns(table, ("body",), "ticket_id", "")

    def test_repeated_ids(self, table):
        table.loc[1, "ticket_id"] = "T1"
        with pytest.raises(InvalidData, match=r"^IdColumn: column 'ticket_id' repeats 1 "
                                              r"value\(s\), e.g. \['T1'\]; ids must be unique"):
            check_columns(table, ("body",), "ticket_id", "")

    def test_too_few_documents_name_the_text_columns(self):
        report = {"kept": 12, "rows_read": 40,
                  "dropped": {"empty_input": 20, "empty_after_cleaning": 5, "duplicate": 3}}
        with pytest.raises(InvalidData) as error:
            check_enough_documents(report, 100)
        assert str(error.value) == (
            "TextColumns: only 12 of 40 rows are left after cleaning (dropped: empty input 20, "
            "empty after cleaning 5, duplicate 3); topic modelling needs at least 100 "
            "documents: set the TextColumns parameter to the columns that hold the text, or "
            "give a larger corpus")
        check_enough_documents({**report, "kept": 100}, 100)


def test_repeated_ids_fail(tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["x", "x"], "title": ["a b", "c d"]}).to_csv(source, index=False)
    run = run_script("preprocess.py", ["--input", str(source), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--text-columns", "title"], tmp_path)
    assert run.returncode == 1
    assert "IdColumn: column 'id' repeats 1 value(s), e.g. ['x']" in run.failure


def test_empty_text_columns_fail_before_cleaning(tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"ticket_id": ["1", "2"], "subject": ["", ""], "body": [None, " "],
                  "status": ["a", "b"]}).to_csv(source, index=False)
    run = run_script("preprocess.py", ["--input", str(source), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--text-columns", "subject,body", "--id-column",
                                       "ticket_id"], tmp_path)
    assert run.returncode == 1
    assert run.failure.strip() == (
        "TextColumns: 'subject', 'body' are empty in all 2 rows; set the TextColumns parameter "
        "to the columns that hold the text (comma-separated)")


def test_too_few_documents_fail_and_rows_are_numbered_without_an_id_column(tmp_path, raw_csv):
    run = run_script("preprocess.py", ["--input", str(raw_csv), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--id-column", ""], tmp_path)
    assert run.returncode == 1
    assert run.failure.startswith("TextColumns: only 3 of 7 rows are left after cleaning")
    assert not (tmp_path / "p").exists()
    numbered = run_script("preprocess.py", ["--input", str(raw_csv), "--parts-dir",
                                            str(tmp_path / "p"), "--report-dir",
                                            str(tmp_path / "r"), "--id-column", "",
                                            "--min-documents", "3", "--num-parts", "1"],
                          tmp_path)
    assert numbered.returncode == 0, numbered.stderr
    corpus = pd.read_csv(tmp_path / "p" / "part-00000.csv", dtype=str)
    assert corpus[contract.ID_COLUMN].tolist() == ["1", "6", "7"]
    assert read_json(tmp_path / "r" / contract.DATA_REPORT)["ids_generated"] is True


def test_bad_pattern_list_fails(tmp_path, raw_csv):
    run = run_script("preprocess.py", ["--input", str(raw_csv), "--extra-boilerplate-patterns",
                                       "please see attached"], tmp_path)
    assert run.returncode == 1
    assert "boilerplate patterns must be a JSON list of regex strings" in run.failure


ARGUMENTS = ["--id-column", "opportunity", "--label-column", "segment"]


def run_hosts(raw_csv, work, count: int, extra: list[str] = ()) -> list:
    """preprocess.py --shard-dir on each of `count` hosts, as PreprocessText's instances."""
    hosts = ",".join(f"algo-{n}" for n in range(1, count + 1))
    return [run_main(preprocess.main, [
        "--input", str(raw_csv), "--shard-dir", str(work / "shards"), "--current-host",
        f"algo-{n}", "--hosts", hosts, *ARGUMENTS, *extra], work / f"host-{n}")
        for n in range(1, count + 1)]


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda n: f"{n}-hosts")
def merged(request, tmp_path_factory, raw_csv):
    """The fixture rows cleaned on 1, 2 and 3 hosts, then merged by merge_corpus.py."""
    work = tmp_path_factory.mktemp(f"hosts-{request.param}")
    for host in run_hosts(raw_csv, work, request.param):
        assert host.returncode == 0, host.stderr
    merge = run_main(merge_corpus.main, [
        "--shards", str(work / "shards"), "--parts-dir", str(work / "parts"),
        "--report-dir", str(work / "report"), "--num-parts", "2", "--min-documents", "3"],
        work / "merge")
    assert merge.returncode == 0, merge.stderr
    return request.param, work


def _files(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_shards_merge_into_the_one_host_corpus_byte_for_byte(merged, cleaned):
    count, work = merged
    assert len(list((work / "shards").glob("shard-*.csv"))) == count
    assert _files(work / "parts") == _files(cleaned / "parts")
    assert ((work / "report" / contract.PREPROCESSING_CONFIG).read_bytes()
            == (cleaned / "report" / contract.PREPROCESSING_CONFIG).read_bytes())
    timing = {"seconds", "hosts", "cleaning_workers"}
    report = read_json(work / "report" / contract.DATA_REPORT)
    one_host = read_json(cleaned / "report" / contract.DATA_REPORT)
    assert ({k: v for k, v in report.items() if k not in timing}
            == {k: v for k, v in one_host.items() if k not in timing})
    hosts = report["hosts"]
    assert [h["host"] for h in hosts] == [f"algo-{n}" for n in range(1, count + 1)]
    assert sum(h["rows"] for h in hosts) == 7  # disjoint shares that cover the input


def test_a_bad_column_stops_every_host_with_the_one_line_reason(tmp_path, raw_csv):
    runs = run_hosts(raw_csv, tmp_path, 2, ["--text-columns", "title,needs"])
    for run in runs:
        assert run.returncode == 1
        assert run.failure.strip().startswith("TextColumns: no column 'needs' in the input")
    assert not (tmp_path / "shards").exists()


def test_the_merge_refuses_too_few_documents(tmp_path, raw_csv):
    for host in run_hosts(raw_csv, tmp_path, 2):
        assert host.returncode == 0, host.stderr
    run = run_main(merge_corpus.main, [
        "--shards", str(tmp_path / "shards"), "--parts-dir", str(tmp_path / "parts"),
        "--report-dir", str(tmp_path / "report")], tmp_path / "merge")
    assert run.returncode == 1
    assert run.failure.strip() == (
        "TextColumns: only 3 of 7 rows are left after cleaning (dropped: empty input 1, "
        "empty after cleaning 1, duplicate 2); topic modelling needs at least 100 documents: "
        "set the TextColumns parameter to the columns that hold the text, or give a larger "
        "corpus")
    assert not (tmp_path / "parts").exists()


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    """Eight documents of three sample records each (700-2,800 characters)."""
    from pipelines.sequential_topics.sample_data import sample_frame

    frame = sample_frame(24)
    records = ["\n".join(row) for row in frame[["title", "description", "details"]]
               .fillna("").itertuples(index=False, name=None)]
    path = tmp_path_factory.mktemp("long") / "long.csv"
    pd.DataFrame({"id": [f"d{n}" for n in range(8)],
                  "text": ["\n".join(records[n:n + 3]) for n in range(0, 24, 3)]}
                 ).to_csv(path, index=False)
    return path


def clean_long(long_csv, work, prefix_chars: str) -> tuple[pd.DataFrame, dict, dict]:
    run = run_main(preprocess.main, [
        "--input", str(long_csv), "--parts-dir", str(work / "parts"), "--report-dir",
        str(work / "report"), "--text-columns", "text", "--id-column", "id",
        "--min-documents", "1", "--num-parts", "1", "--embedding-prefix-chars", prefix_chars],
        work)
    assert run.returncode == 0, run.stderr
    return (pd.read_csv(work / "parts" / "part-00000.csv", dtype=str),
            read_json(work / "report" / contract.DATA_REPORT),
            read_json(work / "report" / contract.PREPROCESSING_CONFIG))


def test_long_documents_are_cleaned_as_far_as_the_embedding_reads(tmp_path, long_csv):
    whole, whole_report, whole_settings = clean_long(long_csv, tmp_path / "whole", "0")
    cut, report, settings = clean_long(long_csv, tmp_path / "cut", "500")
    assert (settings["embedding_word_pieces"], settings["prefix_chars"]) == (254, 500)
    assert (whole_settings["embedding_word_pieces"], whole_report["truncated_at_embedding"]) == \
        (0, 0)
    shortened = (cut[contract.DOCUMENT_COLUMN] != whole[contract.DOCUMENT_COLUMN]).sum()
    assert report["truncated_at_embedding"] == shortened > 0
    pieces = text_cleaning.embedding_tokenizer()
    for a, b in zip(whole[contract.DOCUMENT_COLUMN], cut[contract.DOCUMENT_COLUMN], strict=True):
        assert (pieces.encode(a, add_special_tokens=False).ids[:254]
                == pieces.encode(b, add_special_tokens=False).ids[:254])


def test_a_negative_prefix_is_refused(tmp_path, long_csv):
    run = run_main(preprocess.main, ["--input", str(long_csv), "--text-columns", "text",
                                     "--embedding-prefix-chars", "-1"], tmp_path)
    assert run.returncode == 1
    assert run.failure.strip() == ("--embedding-prefix-chars must be 0 (clean the whole text) "
                                   "or a number of characters, got -1")


def test_a_label_column_of_ids_or_text_is_warned_about(caplog):
    table = pd.DataFrame({"id": [f"t{i}" for i in range(60)],
                          "body": [f"ticket text {i}" for i in range(60)],
                          "queue": ["billing", "delivery"] * 30})
    with caplog.at_level(logging.WARNING):
        check_columns(table, ("body",), "id", "queue")
    assert "LabelColumn" not in caplog.text
    with caplog.at_level(logging.WARNING):
        check_columns(table, ("body",), "id", "body")
    assert "column 'body' has 60 different values in 60 labelled rows: it looks like an id or " \
           "free text" in caplog.text
