"""preprocess.py as a program: splits, report, reproducibility and every bad-input exit."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steps.common.errors import InvalidData
from steps.common.failure import FAILURE_FILE_ENV
from steps.stacked_ensemble import contract, preprocess, train
from tests.steps.stacked_ensemble.step_runs import run_script

pytestmark = pytest.mark.integration


def _splits(folder):
    return {s: pd.read_csv(folder / s / contract.DATA_FILE) for s in contract.SPLITS}


class TestRegressionSplit:
    def test_sizes_disjoint_and_complete(self, regression, data_dir):
        splits = _splits(regression.splits)
        assert {s: len(f) for s, f in splits.items()} == {"train": 310, "validation": 66,
                                                          "test": 66}
        source = pd.read_csv(data_dir / "diabetes.csv")
        keys = {s: set(map(tuple, f.drop(columns=["site"]).round(9).to_numpy()))
                for s, f in splits.items()}
        assert not keys["train"] & keys["validation"]
        assert not keys["train"] & keys["test"]
        assert not keys["validation"] & keys["test"]
        assert sum(len(k) for k in keys.values()) == len(source)

    def test_target_first_empty_column_dropped_categoricals_and_gaps_kept(self, regression):
        train = pd.read_csv(regression.splits / "train" / contract.DATA_FILE)
        assert list(train.columns) == ["progression", "age", "sex", "bmi", "bp", "s1", "s2",
                                       "s3", "s4", "s5", "s6", "site"]
        assert train["site"].dropna().isin(["north", "south", "east"]).all()
        assert train["bmi"].isna().any() and train["site"].isna().any()

    def test_report_says_what_was_dropped(self, regression):
        report = json.loads((regression.splits / "report" / contract.DATA_REPORT).read_text())
        assert report["dropped_columns"] == [{"column": "notes", "reason": "all values missing"}]
        assert report["dropped_rows"] == [{"reason": "missing target", "count": 0}]
        assert report["splits"] == {"train": 310, "validation": 66, "test": 66}
        assert report["rows_read"] == report["rows"] == 442
        kinds = {f["name"]: f["kind"] for f in report["features"]}
        assert kinds["site"] == "categorical" and kinds["bmi"] == "numeric"

    def test_same_seed_same_split_other_seed_other_split(self, tmp_path, data_dir, regression):
        args = ["--input-dir", str(data_dir / "diabetes.csv"), "--target-column", "progression",
                "--problem-type", "regression"]
        again = run_script("preprocess.py", [*args, "--output-dir", str(tmp_path / "a")],
                           tmp_path)
        other = run_script("preprocess.py", [*args, "--output-dir", str(tmp_path / "b"),
                                             "--seed", "7"], tmp_path)
        assert again.returncode == other.returncode == 0
        for split in contract.SPLITS:
            first = (regression.splits / split / contract.DATA_FILE).read_bytes()
            assert (tmp_path / "a" / split / contract.DATA_FILE).read_bytes() == first
            assert (tmp_path / "b" / split / contract.DATA_FILE).read_bytes() != first


class TestClassificationSplit:
    def test_stratified(self, classification):
        splits = _splits(classification.splits)
        overall = pd.concat(splits.values())["diagnosis"].mean()
        for frame in splits.values():
            assert frame["diagnosis"].mean() == pytest.approx(overall, abs=0.01)
        report = json.loads((classification.splits / "report" / contract.DATA_REPORT)
                            .read_text())
        assert report["classes"] == {"0": 212, "1": 357}
        assert sum(report["splits"].values()) == 569

    def test_folder_of_csvs_is_read_whole(self, tmp_path, data_dir):
        frame = pd.read_csv(data_dir / "cancer.csv")
        (tmp_path / "in").mkdir()
        frame.iloc[:300].to_csv(tmp_path / "in" / "part-1.csv", index=False)
        frame.iloc[300:].to_csv(tmp_path / "in" / "part-2.csv", index=False)
        run = run_script("preprocess.py", ["--input-dir", str(tmp_path / "in"), "--output-dir",
                                           str(tmp_path / "out"), "--target-column", "diagnosis",
                                           "--problem-type", "classification"], tmp_path)
        assert run.returncode == 0, run.stderr
        assert sum(len(f) for f in _splits(tmp_path / "out").values()) == 569


@pytest.fixture
def fails(tmp_path, capsys, monkeypatch):
    """Run preprocess on bad input; check exit 1, one stderr line, the failure file and that
    nothing was written; return the reason. In process by default, or as a program."""
    monkeypatch.setenv(FAILURE_FILE_ENV, str(tmp_path / "failure"))

    def run(csv_text: str | None, *extra: str, problem_type="regression",
            as_program: bool = False) -> str:
        source = tmp_path / "input.csv"
        if csv_text is not None:
            source.write_text(csv_text)
        args = ["--input-dir", str(source), "--output-dir", str(tmp_path / "out"),
                "--target-column", "y", "--problem-type", problem_type, *extra]
        if as_program:
            done = run_script("preprocess.py", args, tmp_path)
            code, stderr = done.returncode, done.stderr
        else:
            with pytest.raises(SystemExit) as exit_info:
                preprocess.main(args)
            code, stderr = exit_info.value.code, capsys.readouterr().err
        assert code == 1
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert (tmp_path / "failure").read_text() == lines[0] + "\n"
        assert not (tmp_path / "out").exists()
        return lines[0]

    return run


def _table(rows: int, target=lambda i: str(i)) -> str:
    return "a,b,y\n" + "".join(f"{i},x{i % 3},{target(i)}\n" for i in range(rows))


class TestBadInput:
    def test_missing_target_lists_columns(self, tmp_path, fails):
        message = fails("a,b\n1,2\n", as_program=True)
        assert message == ("TargetColumn 'y' is not a column of the input; its columns are: a, "
                           "b; set the TargetColumn parameter to one of them")

    def test_too_few_rows(self, tmp_path, fails):
        text = _table(40) + "40,x1,\n"
        assert fails(text) == (
            "40 rows with a target after cleaning; at least 50 are needed (dropped 1 rows "
            "without a value in TargetColumn 'y')")

    def test_empty_file(self, tmp_path, fails):
        message = fails("")
        assert message == "input file input.csv is empty: it needs a header row and data rows"

    def test_header_only(self, tmp_path, fails):
        assert fails("a,b,y\n") == "input input.csv has a header but no data rows"

    def test_missing_input(self, tmp_path, fails):
        assert fails(None) == (f"input {tmp_path / 'input.csv'} does not exist: pass "
                                          "a CSV or Parquet file or a folder of them")

    def test_non_numeric_regression_target(self, tmp_path, fails):
        text = _table(60, target=lambda i: "high" if i % 7 == 0 else str(i))
        assert fails(text) == (
            "TargetColumn 'y' must be numeric for regression; 9 value(s) are not, e.g. "
            "['high']; fix the data, choose another TargetColumn, or build the pipeline with "
            "problem_type classification")

    def test_one_class_with_enough_rows(self, tmp_path, fails):
        text = _table(60, target=lambda i: "yes" if i < 56 else f"rare{i % 2}")
        assert fails(text, problem_type="classification") == (
            "TargetColumn 'y': only 1 class has enough rows to learn (classes with too few: "
            "'rare0' (2 rows), 'rare1' (2 rows)); classification needs at least 2: add rows "
            "or merge classes")

    def test_single_class(self, tmp_path, fails):
        text = _table(60, target=lambda i: "yes")
        assert fails(text, problem_type="classification") == (
            "TargetColumn 'y' has a single class 'yes'; classification needs at least 2")

    def test_ignore_columns_must_exist(self, tmp_path, fails):
        assert fails(_table(60), "--ignore-columns", "a, notes") == (
            "IgnoreColumns names ['notes'], which the input does not have; its columns are: "
            "a, b, y")

    def test_ignoring_the_target(self, tmp_path, fails):
        assert fails(_table(60), "--ignore-columns", "y") == (
            "IgnoreColumns includes the TargetColumn 'y': remove it from IgnoreColumns")

    def test_log_transform_of_a_non_positive_target(self, tmp_path, fails):
        assert fails(_table(60), "--target-transform", "log") == (
            "TargetTransform log needs a positive TargetColumn 'y', but 1 value(s) are <= 0 "
            "(smallest 0); set TargetTransform to none")

    def test_log_transform_of_a_class(self, tmp_path, fails):
        assert fails(_table(60, target=lambda i: "yes" if i % 2 else "no"), "--target-transform",
                     "log", problem_type="classification") == (
            "TargetTransform log is for regression; set TargetTransform to none for "
            "classification")

    def test_ignoring_every_feature(self, tmp_path, fails):
        assert fails(_table(60), "--ignore-columns", "a,b") == (
            "no feature columns left besides the TargetColumn 'y' (ignored: ['a', 'b'], all "
            "empty: [])")

    def test_fractions(self, tmp_path, fails):
        assert fails(_table(60), "--test-fraction", "0.9") == (
            "--validation-fraction 0.15 and --test-fraction 0.9 must each be between 0 and 1 "
            "and sum to less than 1")

    def test_bad_argument_goes_to_failure_file(self, tmp_path, fails):
        message = fails(_table(60), "--seed", "abc", as_program=True)
        assert message == ("preprocess.py: argument --seed: invalid int value: 'abc' "
                           "(see --help)")


def test_ignored_columns_are_dropped_and_identifiers_reported(tmp_path):
    rows = 80
    frame = pd.DataFrame({"ticket": [f"T-{i:04d}" for i in range(rows)],
                          "row_number": np.arange(rows), "size": np.arange(rows) % 7 * 1.5,
                          "colour": np.array(["red", "blue"])[np.arange(rows) % 2],
                          "leak": np.arange(rows) * 2.0, "y": np.arange(rows) * 2.0})
    frame.to_csv(tmp_path / "in.csv", index=False)
    report = preprocess.run(preprocess.build_parser().parse_args([
        "--input-dir", str(tmp_path / "in.csv"), "--output-dir", str(tmp_path / "out"),
        "--target-column", "y", "--problem-type", "regression", "--ignore-columns", "leak"]))
    train = pd.read_csv(tmp_path / "out" / "train" / contract.DATA_FILE)
    assert list(train.columns) == ["y", "ticket", "row_number", "size", "colour"]
    assert report["dropped_columns"] == [{"column": "leak", "reason": "IgnoreColumns"}]
    assert report["suspected_identifiers"] == ["ticket", "row_number"]


def test_dates_in_one_format_are_date_features_and_other_dates_are_warned_about(tmp_path,
                                                                              caplog):
    rows = 60
    frame = pd.DataFrame({
        "signed_up": pd.date_range("2021-01-01", periods=rows, freq="13h").strftime(
            "%d/%m/%Y %H:%M"),
        "renewed": ["03/04/2022" if i % 2 else "2022-05-06" for i in range(rows)],
        "plan": np.array(["basic", "pro 2", "team-3"])[np.arange(rows) % 3],
        "y": np.arange(rows) * 1.0})
    frame.loc[3, ["signed_up", "renewed"]] = None
    frame.to_csv(tmp_path / "in.csv", index=False)
    with caplog.at_level("INFO"):
        report = preprocess.run(preprocess.build_parser().parse_args([
            "--input-dir", str(tmp_path / "in.csv"), "--output-dir", str(tmp_path / "out"),
            "--target-column", "y", "--problem-type", "regression"]))
    features = {f["name"]: f for f in report["features"]}
    assert features["signed_up"] == {"name": "signed_up", "kind": "date",
                                     "format": "%d/%m/%Y %H:%M",
                                     "parts": ["weekday", "month", "hour"], "missing": 1}
    assert features["signed_up (weekday)"] == {"name": "signed_up (weekday)",
                                               "kind": "date part", "of": "signed_up",
                                               "part": "weekday", "missing": 1}
    assert features["renewed"]["kind"] == "categorical"
    # a timestamp on every row is no record id once it is read as a date
    assert report["suspected_identifiers"] == [] and report["date_columns"] == ["renewed"]
    assert "column(s) ['renewed'] hold dates" in caplog.text
    assert ("column(s) ['signed_up'] read as dates (signed_up: %d/%m/%Y %H:%M): the learners "
            "see days since 1970-01-01 and the parts ['signed_up (weekday)', 'signed_up "
            "(month)', 'signed_up (hour)']") in caplog.text
    for split in contract.SPLITS:
        saved = json.loads((tmp_path / "out" / split / contract.DATE_COLUMNS_FILE).read_text())
        assert saved == {"signed_up": {"format": "%d/%m/%Y %H:%M",
                                       "parts": ["weekday", "month", "hour"]}}
        written = pd.read_csv(tmp_path / "out" / split / contract.DATA_FILE, dtype=str)
        assert written["signed_up"].dropna().str.match(r"\d\d/\d\d/2021 \d\d:\d\d$").all()


def test_a_table_without_dates_writes_no_date_columns(tmp_path):
    pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60.0)}).to_csv(tmp_path / "in.csv",
                                                                      index=False)
    preprocess.run(preprocess.build_parser().parse_args([
        "--input-dir", str(tmp_path / "in.csv"), "--output-dir", str(tmp_path / "out"),
        "--target-column", "y", "--problem-type", "regression"]))
    assert not (tmp_path / "out" / "train" / contract.DATE_COLUMNS_FILE).exists()


def test_classes_too_rare_to_learn_are_left_out_and_reported(tmp_path, caplog):
    """Training needs K_FOLD rows of a class; a class with fewer is reported, not fatal."""
    rows = 120
    labels = np.array(["low", "high"])[np.arange(rows) % 2].astype(object)
    labels[:3], labels[3:9] = "one-off", "seldom"  # 3 rows and 6 rows
    frame = pd.DataFrame({"x": np.arange(rows) * 1.0, "y": labels})
    frame.to_csv(tmp_path / "in.csv", index=False)
    with caplog.at_level("WARNING"):
        report = preprocess.run(preprocess.build_parser().parse_args([
            "--input-dir", str(tmp_path / "in.csv"), "--output-dir", str(tmp_path / "out"),
            "--target-column", "y", "--problem-type", "classification"]))
    assert report["dropped_rows"][-1] == {"reason": "class too rare to learn", "count": 9,
                                          "classes": {"seldom": 6, "one-off": 3}}
    assert report["classes"] == {"high": 56, "low": 55}
    train = pd.read_csv(tmp_path / "out" / "train" / contract.DATA_FILE)
    assert train["y"].value_counts().min() >= contract.K_FOLD
    assert ("'seldom' (6 rows), 'one-off' (3 rows) have too few rows to learn (a class needs "
            "at least 7)") in caplog.text


def test_split_indices_are_a_partition():
    from steps.stacked_ensemble.preprocess import split_indices

    target = pd.Series(np.repeat(["a", "b", "c"], [50, 30, 3]))
    parts = split_indices(target, "classification", 0.2, 0.2, seed=3)
    every = np.concatenate(list(parts.values()))
    assert sorted(every.tolist()) == list(range(83))
    assert {s: len(p) for s, p in parts.items()} == {"train": 49, "validation": 17, "test": 17}


@pytest.mark.parametrize("column", ["x", "y"])
def test_infinity_is_refused_naming_the_column_and_row(tmp_path, column):
    """A spreadsheet's division by zero: every training job refused it (a target's inf
    crashed CatBoost); the served model refuses it too, so the user decides what it means."""
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60.0) * 2})
    frame.loc[4, column] = -np.inf
    path = tmp_path / "input" / "table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidData, match=rf"column '{column}' holds infinity in 1 row\(s\) "
                                          r"\(the first is data row 5\): replace it"):
        preprocess.run(preprocess.build_parser().parse_args(
            ["--input-dir", str(path.parent), "--output-dir", str(tmp_path / "out"),
             "--target-column", "y", "--problem-type", "regression"]))
    assert not (tmp_path / "out").exists()


def _run_classification(tmp_path, frame):
    path = tmp_path / "input" / "table.csv"
    path.parent.mkdir(exist_ok=True)
    frame.to_csv(path, index=False)
    return preprocess.run(preprocess.build_parser().parse_args(
        ["--input-dir", str(path.parent), "--output-dir", str(tmp_path / "out"),
         "--target-column", "y", "--problem-type", "classification"]))


def test_whole_number_classes_with_a_gap_stay_whole(tmp_path):
    """Labels 0/1 with one blank: pandas reads 0.0/1.0, and the model's classes were floats."""
    frame = pd.DataFrame({"x": np.arange(80.0), "y": [0, 1] * 40})
    frame["y"] = frame["y"].astype(float)
    frame.loc[3, "y"] = np.nan
    report = _run_classification(tmp_path, frame)
    assert report["classes"] == {"0": 40, "1": 39}
    train = pd.read_csv(tmp_path / "out" / "train" / contract.DATA_FILE, dtype=str)
    assert set(train["y"]) == {"0", "1"}


def test_a_continuous_target_as_classification_points_to_regression(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300).round(3)})
    with pytest.raises(InvalidData, match=r"no class has enough rows to learn .* its values "
                                          r"look like amounts, not classes: build the pipeline "
                                          r"for regression"):
        _run_classification(tmp_path, frame)


def test_a_constant_regression_target_is_refused(tmp_path):
    frame = pd.DataFrame({"x": np.arange(60.0), "y": 7.0})
    path = tmp_path / "input" / "table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidData, match="TargetColumn 'y' is 7 on every row: there is nothing "
                                          "to predict"):
        preprocess.run(preprocess.build_parser().parse_args(
            ["--input-dir", str(path.parent), "--output-dir", str(tmp_path / "out"),
             "--target-column", "y", "--problem-type", "regression"]))


def test_a_target_column_typed_with_spaces_is_the_column(tmp_path):
    """`y ` typed in Studio: the input's names lose their spaces, so the parameter does too,
    in preprocessing and in the training job that reads the same parameter."""
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60.0) * 2})
    path = tmp_path / "input" / "table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    report = preprocess.run(preprocess.build_parser().parse_args(
        ["--input-dir", str(path.parent), "--output-dir", str(tmp_path / "out"),
         "--target-column", " y ", "--problem-type", "regression"]))
    assert report["target_column"] == "y"
    assert train.build_parser().parse_args(
        ["--target_column", '" y "', "--problem_type", "regression"]).target_column == "y"


def test_infinity_in_an_ignored_column_is_left_out_with_it(tmp_path):
    frame = pd.DataFrame({"x": np.arange(60.0), "ratio": 1.0, "y": np.arange(60.0) * 2})
    frame.loc[4, "ratio"] = np.inf
    path = tmp_path / "input" / "table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    report = preprocess.run(preprocess.build_parser().parse_args(
        ["--input-dir", str(path.parent), "--output-dir", str(tmp_path / "out"),
         "--target-column", "y", "--problem-type", "regression", "--ignore-columns", "ratio"]))
    assert report["dropped_columns"][0] == {"column": "ratio", "reason": "IgnoreColumns"}


def test_a_parquet_timestamp_column_is_a_date_feature(tmp_path):
    rows = 60
    frame = pd.DataFrame({"ordered": pd.date_range("2023-01-30", periods=rows, freq="29h"),
                          "y": np.arange(rows) * 1.0})
    frame.to_parquet(tmp_path / "in.parquet")
    report = preprocess.run(preprocess.build_parser().parse_args([
        "--input-dir", str(tmp_path / "in.parquet"), "--output-dir", str(tmp_path / "out"),
        "--target-column", "y", "--problem-type", "regression"]))
    assert report["features"][0] == {"name": "ordered", "kind": "date", "format": "ISO8601",
                                      "parts": ["weekday", "month", "hour"], "missing": 0}


def test_a_date_column_with_missing_marks_is_a_date_feature(tmp_path):
    rows = 60
    shipped = pd.date_range("2023-01-30", periods=rows, freq="29h").strftime("%d.%m.%Y").tolist()
    shipped[3], shipped[7] = "-", "TBD"
    pd.DataFrame({"shipped": shipped, "y": np.arange(rows) * 1.0}).to_csv(tmp_path / "in.csv",
                                                                         index=False)
    report = preprocess.run(preprocess.build_parser().parse_args([
        "--input-dir", str(tmp_path / "in.csv"), "--output-dir", str(tmp_path / "out"),
        "--target-column", "y", "--problem-type", "regression"]))
    assert report["features"][0]["kind"] == "date" and report["features"][0]["missing"] == 2
    written = pd.concat(pd.read_csv(tmp_path / "out" / s / contract.DATA_FILE, dtype=str)
                        for s in contract.SPLITS)
    assert written["shipped"].isna().sum() == 2 and not written["shipped"].isin(["-", "TBD"]).any()
