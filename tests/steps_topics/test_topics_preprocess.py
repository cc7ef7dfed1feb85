"""preprocess.py as a program: cleaned parts, the data report, and bad input."""
from __future__ import annotations

import pandas as pd
import pytest

from steps.sequential_topics import contract
from tests.steps_topics.conftest import read_json, run_script

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
        "--label-column", "segment", "--num-parts", "2"], work)
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


def test_settings_are_saved_for_inference(cleaned):
    settings = read_json(cleaned / "report" / contract.PREPROCESSING_CONFIG)
    assert settings["text_columns"] == ["title", "description", "details"]
    assert "PERSON" in settings["drop_entity_labels"]


def test_missing_text_column_fails_with_reason(tmp_path, raw_csv):
    run = run_script("preprocess.py", ["--input", str(raw_csv), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--text-columns", "title,needs"], tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [run.failure.strip()]
    assert "input has no column(s) ['needs']" in run.failure
    assert not (tmp_path / "p").exists()


def test_repeated_ids_fail(tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["x", "x"], "title": ["a b", "c d"]}).to_csv(source, index=False)
    run = run_script("preprocess.py", ["--input", str(source), "--parts-dir",
                                       str(tmp_path / "p"), "--report-dir", str(tmp_path / "r"),
                                       "--text-columns", "title"], tmp_path)
    assert run.returncode == 1
    assert "id column 'id' repeats values ['x']" in run.failure


def test_bad_pattern_list_fails(tmp_path, raw_csv):
    run = run_script("preprocess.py", ["--input", str(raw_csv), "--extra-boilerplate-patterns",
                                       "please see attached"], tmp_path)
    assert run.returncode == 1
    assert "boilerplate patterns must be a JSON list of regex strings" in run.failure
