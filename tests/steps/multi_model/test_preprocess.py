"""Preprocess: per-segment 60/30/10 splits and a preprocessor fitted on training rows only."""
from __future__ import annotations

import json
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from steps.multi_model import contract, preprocess
from tests.steps.multi_model.conftest import CITIES, HOUSES, IDS, run_script

pytestmark = pytest.mark.integration

FEATURES = ["year_built", "square_feet", "num_bedrooms", "num_bathrooms", "lot_acres",
            "garage_spaces", "deck", "front_porch"]


def read_split(folder: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(folder / contract.SPLIT_FILES[split])


def run_in_process(argv: list[str]) -> dict:
    return preprocess.run(preprocess.build_parser().parse_args(argv))


class TestOutputs:
    def test_one_folder_per_requested_segment_and_a_manifest(self, pipeline_run):
        folders = sorted(p.name for p in pipeline_run.segments.iterdir() if p.is_dir())
        assert folders == sorted(IDS.values())
        manifest = json.loads((pipeline_run.segments / contract.SEGMENTS_MANIFEST).read_text())
        assert [(s["segment"], s["segment_id"]) for s in manifest["segments"]] == \
            list(IDS.items())
        assert manifest["rows_read"] == len(CITIES) * HOUSES
        for ident in IDS.values():
            assert sorted(p.name for p in pipeline_run.segment_dir(ident).iterdir()) == sorted(
                [*contract.SPLIT_FILES.values(), contract.PREPROCESSOR_FILE,
                 contract.SEGMENT_FILE])

    def test_splits_are_60_30_10_disjoint_and_cover_the_segment(self, pipeline_run):
        source = pd.read_csv(pipeline_run.data)
        for city, ident in IDS.items():
            folder = pipeline_run.segment_dir(ident)
            splits = {s: read_split(folder, s) for s in contract.SPLIT_FILES}
            assert {s: len(f) for s, f in splits.items()} == {"train": 120, "validation": 60,
                                                               "test": 20}
            expected = source[source["city"] == city].drop(columns=["city"])
            together = pd.concat(splits.values(), ignore_index=True)
            assert list(together.columns) == ["price", *FEATURES]
            key = ["price", *FEATURES]
            assert not together.duplicated(subset=key).any()  # disjoint
            pd.testing.assert_frame_equal(
                together[expected.columns].sort_values(key).reset_index(drop=True),
                expected.sort_values(key).reset_index(drop=True), check_dtype=False)

    def test_segment_description(self, pipeline_run):
        description = json.loads((pipeline_run.segment_dir("new-york")
                                  / contract.SEGMENT_FILE).read_text())
        assert description["segment"] == "New York"
        assert description["target_column"] == "price"
        assert description["rows"] == {"train": 120, "validation": 60, "test": 20}
        kinds = {f["name"]: f["kind"] for f in description["features"]}
        assert kinds == {**dict.fromkeys(FEATURES[:6], "numeric"),
                         "deck": "categorical", "front_porch": "categorical"}
        assert [f.get("categories") for f in description["features"][6:]] == [["no", "yes"]] * 2

    def test_preprocessor_is_fitted_on_training_rows_only(self, pipeline_run):
        for ident in IDS.values():
            folder = pipeline_run.segment_dir(ident)
            preprocessor = joblib.load(folder / contract.PREPROCESSOR_FILE)
            train = read_split(folder, "train")
            everything = pd.concat([read_split(folder, s) for s in contract.SPLIT_FILES])
            scaler = preprocessor.named_transformers_["numeric"]
            numeric = FEATURES[:6]
            np.testing.assert_allclose(scaler.mean_, train[numeric].mean().to_numpy())
            np.testing.assert_allclose(scaler.scale_, train[numeric].std(ddof=0).to_numpy())
            assert not np.allclose(scaler.mean_, everything[numeric].mean().to_numpy())
            transformed = preprocessor.transform(train[FEATURES])
            assert transformed.shape == (120, 6 + 4)  # 6 scaled, 2 x (no, yes) one-hot
            np.testing.assert_allclose(transformed[:, :6].mean(axis=0), 0, atol=1e-9)


class TestReproducibility:
    def test_same_seed_same_bytes_and_other_segments_do_not_move_a_split(self, tmp_path,
                                                                         pipeline_run):
        args = ["--input-dir", str(pipeline_run.data), "--seed", "11"]
        run_in_process([*args, "--output-dir", str(tmp_path / "a"), "--segments", "Chicago"])
        for split in contract.SPLIT_FILES.values():
            assert (tmp_path / "a" / "chicago" / split).read_bytes() == \
                (pipeline_run.segment_dir("chicago") / split).read_bytes()

    def test_another_seed_gives_another_split(self, tmp_path, pipeline_run):
        run_in_process(["--input-dir", str(pipeline_run.data), "--seed", "12",
                        "--output-dir", str(tmp_path), "--segments", "Chicago"])
        assert (tmp_path / "chicago" / "test.csv").read_bytes() != \
            (pipeline_run.segment_dir("chicago") / "test.csv").read_bytes()

    def test_no_segments_argument_means_every_segment_and_names_match_by_id(self, tmp_path,
                                                                            pipeline_run):
        manifest = run_in_process(["--input-dir", str(pipeline_run.data), "--output-dir",
                                   str(tmp_path / "all")])
        assert [s["segment"] for s in manifest["segments"]] == sorted(CITIES)
        manifest = run_in_process(["--input-dir", str(pipeline_run.data), "--output-dir",
                                   str(tmp_path / "one"), "--segments", " san diego "])
        assert [s["segment"] for s in manifest["segments"]] == ["San Diego"]


def frame_csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "input.csv"
    frame.to_csv(path, index=False)
    return path


class TestBadInput:
    def test_missing_segments_are_named_and_the_job_fails_with_a_failure_file(
            self, tmp_path, pipeline_run):
        result = run_script("preprocess.py", ["--input-dir", str(pipeline_run.data),
                                              "--output-dir", str(tmp_path / "out"),
                                              "--segments", "Chicago,Boston,Austin"], tmp_path)
        assert result.returncode == 1
        message = ("the pipeline's segments (its `segments` kwarg) name ['Boston', 'Austin'], "
                   "not found in the SegmentColumn; segments in the data: Chicago, New York, "
                   "San Diego")
        assert result.stderr.strip() == message
        assert result.failure.strip() == message
        assert not (tmp_path / "out" / contract.SEGMENTS_MANIFEST).exists()

    @pytest.mark.parametrize("change, argv, message", [
        (lambda f: f.drop(columns=["city"]), [], "SegmentColumn 'city' is not a column of the "
                                                 "input; its columns are: year_built"),
        (lambda f: f, ["--target-column", "cost"], "TargetColumn 'cost' is not a column of the "
                                                   "input"),
        (lambda f: f, ["--target-column", "city"], "SegmentColumn and TargetColumn are both "
                                                   "'city'"),
        (lambda f: f.assign(price="cheap"), [], "TargetColumn 'price' must be numeric"),
        (lambda f: f.assign(city=["New York", "new york"] * 20), [],
         "'New York' and 'new york' give the same id"),
        (lambda f: f.head(30), [], "segment 'B' has 10 rows; at least 20 are needed to train "
                                   "and test a model: add rows or leave the segment out of "
                                   "the pipeline's `segments` kwarg"),
        (lambda f: f.assign(price=np.where(f["city"] == "B", 250.0, f["price"])), [],
         "segment 'B': TargetColumn 'price' is 250 on every row: there is nothing to learn"),
        (lambda f: f.assign(price=[np.inf] + [1.0] * (len(f) - 1)), [],
         "column 'price' holds infinity in 1 row(s) (the first is data row 1)"),
        (lambda f: f, ["--ignore-columns", "price"], "IgnoreColumns includes the TargetColumn "
                                                     "'price'"),
        (lambda f: f, ["--ignore-columns", "city"], "IgnoreColumns includes the SegmentColumn "
                                                    "'city'"),
        (lambda f: f, ["--ignore-columns", "deck,color"], "IgnoreColumns names ['color'], "
                                                          "which the input does not have"),
        (lambda f: f, ["--test-fraction", "0.8"], "must each be between 0 and 1"),
    ])
    def test_clear_errors(self, tmp_path, change, argv, message):
        from pipelines.multi_model.sample_data import sample_frame
        frame = change(sample_frame(["A", "B"], 20))
        with pytest.raises(preprocess.InvalidData, match=re.escape(message)):
            run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)), "--output-dir",
                            str(tmp_path / "out"), *argv])

    def test_nothing_is_written_when_a_later_segment_is_bad(self, tmp_path):
        from pipelines.multi_model.sample_data import sample_frame
        frame = sample_frame(["A", "B"], 20).head(30)
        with pytest.raises(preprocess.InvalidData, match="segment 'B' has 10 rows"):
            run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)), "--output-dir",
                            str(tmp_path / "out")])
        assert not (tmp_path / "out").exists()

    def test_rows_without_segment_or_target_are_dropped_and_counted(self, tmp_path):
        from pipelines.multi_model.sample_data import sample_frame
        frame = sample_frame(["A"], 40)
        frame.loc[0, "city"] = None
        frame.loc[[1, 2], "price"] = None
        frame["notes"] = None
        manifest = run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)),
                                   "--output-dir", str(tmp_path / "out")])
        assert manifest["dropped"] == {"rows_without_segment": 1, "rows_without_target": 2,
                                       "columns": [{"column": "notes",
                                                    "reason": "all values missing"}]}
        assert sum(manifest["segments"][0]["rows"].values()) == 37

    def test_ignored_columns_are_dropped_ids_named_and_dates_read(self, tmp_path, caplog):
        from pipelines.multi_model.sample_data import sample_frame
        frame = sample_frame(["A"], 40)
        frame["listing"] = [f"L-{i}" for i in range(len(frame))]
        frame["sold_on"] = [f"2024-{1 + i % 3:02d}-{1 + i % 5:02d}" for i in range(len(frame))]
        frame["listed_on"] = ["03/04/2024" if i % 2 else "2024-05-06" for i in range(len(frame))]
        frame["agent"] = "X"
        with caplog.at_level("INFO"):
            manifest = run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)),
                                       "--output-dir", str(tmp_path / "out"),
                                       "--ignore-columns", "agent"])
        assert manifest["dropped"]["columns"] == [{"column": "agent", "reason": "IgnoreColumns"}]
        assert manifest["suspected_identifiers"] == ["listing"]
        assert manifest["date_columns"] == ["listed_on"]  # two formats: still a category
        assert manifest["input_files"] == [{"file": "input.csv", "kind": "text", "separator": ",",
                                            "decimal": ".", "formatted_numbers": {}}]
        assert "'listed_on'] hold dates" in caplog.text and "like record ids" in caplog.text
        assert "column(s) ['sold_on'] read as dates (sold_on: ISO8601)" in caplog.text
        train = read_split(tmp_path / "out" / "a", "train")
        assert "agent" not in train.columns and "sold_on" in train.columns
        features = json.loads((tmp_path / "out" / "a" / contract.SEGMENT_FILE).read_text())[
            "features"]
        assert {"name": "sold_on", "kind": "date", "format": "ISO8601"} in features

    def test_whole_number_segments_with_a_gap_keep_their_names(self, tmp_path):
        """Store ids 101 and 102, one blank: pandas reads 101.0, and the segments kwarg's
        '101' was not found."""
        from pipelines.multi_model.sample_data import sample_frame
        frame = sample_frame(["A", "B"], 30)
        frame["city"] = [101 if c == "A" else 102 for c in frame["city"]]
        frame.loc[0, "city"] = None
        manifest = run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)), "--output-dir",
                                   str(tmp_path / "out"), "--segments", "101", "102"])
        assert [s["segment"] for s in manifest["segments"]] == ["101", "102"]
        assert manifest["dropped"]["rows_without_segment"] == 1

    def test_column_parameters_typed_with_spaces_are_the_columns(self, tmp_path):
        from pipelines.multi_model.sample_data import sample_frame
        frame = sample_frame(["A"], 30)
        manifest = run_in_process(["--input-dir", str(frame_csv(tmp_path, frame)), "--output-dir",
                                   str(tmp_path / "out"), "--segment-column", " city ",
                                   "--target-column", "price "])
        assert (manifest["segment_column"], manifest["target_column"]) == ("city", "price")
