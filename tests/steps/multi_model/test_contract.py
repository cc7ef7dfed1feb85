"""The keys the definition and the scripts share: ids, names, metric regexes, JSON paths."""
from __future__ import annotations

import re

import pytest

from steps.multi_model import contract
from steps.multi_model.train import metric_lines


class TestSegmentIds:
    @pytest.mark.parametrize("name, ident", [
        ("New York", "new-york"), ("  San  Francisco ", "san-francisco"),
        ("São Paulo", "sao-paulo"), ("St. Louis", "st-louis"), ("new_york", "new-york"),
        ("Zürich/Nord", "zurich-nord"), ("A1", "a1"), ("chicago", "chicago"),
    ])
    def test_names_become_safe_ids(self, name, ident):
        assert contract.segment_id(name) == ident
        assert contract.is_segment_id(ident)

    @pytest.mark.parametrize("name", ["", " ", "---", "東京"])
    def test_a_name_without_letters_or_digits_is_refused(self, name):
        with pytest.raises(ValueError, match="has no letters or digits"):
            contract.segment_id(name)

    def test_a_too_long_name_is_refused(self):
        with pytest.raises(ValueError, match="at most 40 are allowed"):
            contract.segment_id("x" * 41)

    def test_names_sharing_an_id_are_refused(self):
        with pytest.raises(ValueError, match="'New York' and 'new_york' give the same id"):
            contract.segment_ids(["New York", "Chicago", "new_york"])

    def test_names_sharing_a_step_name_are_refused(self):
        with pytest.raises(ValueError, match="step name suffix 'A1'"):
            contract.segment_ids(["a-1", "a1"])

    def test_segment_ids_keep_order_and_skip_repeats(self):
        assert contract.segment_ids(["Chicago", "New York", "Chicago"]) == {
            "Chicago": "chicago", "New York": "new-york"}

    def test_step_names(self):
        assert contract.segment_step_name("Train", "new-york") == "TrainNewYork"
        assert contract.evaluation_property_file("san-diego") == "EvaluationReportSanDiego"

    def test_segments_arguments(self):
        assert contract.segments_arguments(["New York", "Chicago"]) == ["New York", "Chicago"]
        with pytest.raises(ValueError, match="contain a comma"):
            contract.segments_arguments(["Washington, D.C."])
        with pytest.raises(ValueError, match="longer than 256 characters"):
            contract.segments_arguments(["x" * 257])


class TestArtifacts:
    def test_round_trip(self):
        key = contract.artifact_key("new-york", 3)
        assert key == "new-york/v3.tar.gz"
        assert contract.parse_artifact_key(key) == ("new-york", 3)

    @pytest.mark.parametrize("key", ["new-york/v0.tar.gz", "New York/v1.tar.gz",
                                     "new-york/v1.tar", "new-york/latest.tar.gz",
                                     "a/b/v1.tar.gz", "new-york/v01.tar.gz"])
    def test_other_shapes_are_refused(self, key):
        with pytest.raises(ValueError, match="is not an artifact name"):
            contract.parse_artifact_key(key)

    @pytest.mark.parametrize("ident, version", [("New York", 1), ("new-york", 0),
                                                 ("new-york", True), ("new-york", "2")])
    def test_bad_parts_are_refused(self, ident, version):
        with pytest.raises(ValueError):
            contract.artifact_key(ident, version)

    def test_target_pattern_and_prefix(self):
        assert contract.target_model_pattern("new-york") == "new-york/v*.tar.gz"
        assert contract.segment_prefix("new-york") == "new-york/"

    def test_model_package_group_name(self):
        assert contract.model_package_group_name("HousePrices", "new-york") == \
            "HousePrices-new-york"
        with pytest.raises(ValueError, match="shorten the base name"):
            contract.model_package_group_name("G" * 30, "x" * 40)


class TestMetrics:
    def test_every_printed_line_is_read_by_exactly_its_definition(self):
        scores = {"validation": {"rmse": 1.5, "mae": 2.5, "r2": 0.75},
                  "train": {"rmse": 0.5, "mae": 0.25, "r2": 0.9}}
        log = "\n".join(["[0]\ttrain-rmse:99\tvalidation-rmse:98", *metric_lines(scores, 7)])
        found = {}
        for definition in contract.metric_definitions():
            values = re.findall(definition["Regex"], log)
            assert len(values) == 1, definition
            found[definition["Name"]] = float(values[0])
        assert found == {"validation:rmse": 1.5, "validation:mae": 2.5, "validation:r2": 0.75,
                         "train:rmse": 0.5, "train:mae": 0.25, "train:r2": 0.9,
                         "best_iteration": 7.0}
        assert contract.OBJECTIVE_METRIC in found

    def test_json_paths(self):
        assert contract.metric_json_path() == "regression_metrics.rmse.value"
        assert contract.metric_json_path("r2") == "regression_metrics.r2.value"
        with pytest.raises(ValueError, match="not one of rmse, mae, r2"):
            contract.metric_json_path("mse")

    def test_handler_file_is_the_serve_modules(self):
        from steps.serve import HANDLER_FILE
        assert contract.HANDLER_FILE == HANDLER_FILE
