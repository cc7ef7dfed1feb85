"""steps.common: failure reporting, hyperparameter parsing and table reading."""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from steps.common.cli import StepArgumentParser, hp_float, hp_int, hp_str
from steps.common.errors import InvalidData
from steps.common.failure import FAILURE_FILE_ENV, fail, failures_reported
from steps.common.files import read_csv_table, write_json_atomic
from steps.common.numbers import whole_floats_as_integers


@pytest.fixture
def failure_file(tmp_path, monkeypatch):
    path = tmp_path / "output" / "failure"
    monkeypatch.setenv(FAILURE_FILE_ENV, str(path))
    return path


def test_fail_writes_one_line_and_exits_1(failure_file, capsys):
    with pytest.raises(SystemExit) as info:
        fail("target missing;\n  columns found: a, b")
    assert info.value.code == 1
    assert capsys.readouterr().err == "target missing; columns found: a, b\n"
    assert failure_file.read_text() == "target missing; columns found: a, b\n"


def test_invalid_data_becomes_a_failure(failure_file, capsys):
    with pytest.raises(SystemExit) as info, failures_reported():
        raise InvalidData("no rows")
    assert info.value.code == 1
    assert failure_file.read_text() == "no rows\n"


def test_a_bug_is_recorded_and_re_raised(failure_file):
    with pytest.raises(ZeroDivisionError), failures_reported():
        1 / 0  # noqa: B018
    assert failure_file.read_text() == "internal error: ZeroDivisionError: division by zero\n"


def test_unwritable_failure_file_still_exits(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(FAILURE_FILE_ENV, str(blocker / "failure"))
    with pytest.raises(SystemExit):
        fail("bad")
    assert capsys.readouterr().err == "bad\n"


@pytest.mark.parametrize("parse, text, value", [
    (hp_str, '"regression"', "regression"), (hp_str, "regression", "regression"),
    (hp_str, "reg:squarederror", "reg:squarederror"), (hp_int, "5", 5), (hp_int, '"5"', 5),
    (hp_int, "5.0", 5), (hp_float, "0.05", 0.05), (hp_float, '"0.3"', 0.3),
])
def test_hyperparameters_plain_or_json_quoted(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("text", ["5.5", "abc", "true"])
def test_bad_integers(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer"):
        hp_int(text)


def test_parser_refuses_abbreviations(failure_file, capsys):
    parser = StepArgumentParser(prog="x")
    parser.add_argument("--max_depth", type=int)
    with pytest.raises(SystemExit):
        parser.parse_args(["--max_dep", "3"])
    assert failure_file.read_text() == "x: unrecognized arguments: --max_dep 3 (see --help)\n"


def test_folder_of_csvs_must_share_a_header(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.csv").write_text("x,z\n1,2\n")
    with pytest.raises(InvalidData, match=r"b.csv has columns \['x', 'z'\] but the first file"):
        read_csv_table(tmp_path)
    (tmp_path / "b.csv").write_text("x,y\n3,4\n")
    assert read_csv_table(tmp_path).to_dict("list") == {"x": [1, 3], "y": [2, 4]}


def test_folder_without_csv(tmp_path):
    with pytest.raises(InvalidData, match="no .csv file under"):
        read_csv_table(tmp_path)


def test_atomic_json_leaves_no_temporary(tmp_path):
    write_json_atomic(tmp_path / "out" / "r.json", {"b": 1, "a": [1.5]})
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r.json"]
    assert (tmp_path / "out" / "r.json").read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    assert pd.read_json(tmp_path / "out" / "r.json", typ="series")["b"] == 1


@pytest.mark.parametrize("values, expected", [
    ([101.0, np.nan, 102.0], ["101", "missing", "102"]),
    ([0.0, 1.0], ["0", "1"]),
    ([1.5, 2.0], ["1.5", "2.0"]),          # not all whole: as it was
    ([1e20, 1.0], ["1e+20", "1.0"]),      # beyond exact integers in a float: as it was
    (["101", "x"], ["101", "x"]),          # text: as it was
])
def test_whole_floats_as_integers(values, expected):
    column = whole_floats_as_integers(pd.Series(values))
    assert [str(v) if pd.notna(v) else "missing" for v in column] == expected
