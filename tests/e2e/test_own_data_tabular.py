"""The tabular pipelines on a user's own table at a local path, with their own column names:
registered under the default (relative) gate when there is signal, stopped by the Fail step
quoting the baseline when there is none, refused with one clear line when a column is wrong."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import run_pipeline
from runtime.model_versions import evaluation_report_uri
from runtime.ports.model_registry import LocalModelRegistry, RegistryError
from runtime.ports.object_store import LocalObjectStore

from . import own_data

pytestmark = pytest.mark.e2e

STACKED = "pipelines.stacked_ensemble.pipeline"
MULTI_MODEL = "pipelines.multi_model.pipeline"
BUCKET = "s3://sagemaker-us-east-1-000000000000"
FAST = {"MaxTuningJobs": 1, "MaxParallelTuningJobs": 1}


def run(root: Path, module: str, parameters: dict, kwargs: dict | None = None) -> int:
    argv = ["--local", "--local-root", str(root), "-n", module,
            "--parameters", json.dumps(parameters)]
    return run_pipeline.main(argv + (["--kwargs", json.dumps(kwargs)] if kwargs else []))


def registered(root: Path, group: str) -> list[dict]:
    """The group's versions; none when the group was never created."""
    try:
        return LocalModelRegistry(root).list_packages(group)
    except RegistryError:
        return []


def report_of(root: Path, package: dict) -> dict:
    """Our evaluation report (ModelQuality.Statistics is SageMaker's model-quality file)."""
    return json.loads(LocalObjectStore(root).read_bytes(evaluation_report_uri(package)))


def no_sample_data(root: Path, pipeline: str) -> bool:
    return LocalObjectStore(root).list_uris(f"{BUCKET}/{pipeline}/sample-data/") == []


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    root = tmp_path_factory.mktemp("crm-root")
    table = own_data.write(own_data.customers().drop(columns=["churned"]),
                           tmp_path_factory.mktemp("user") / "exports" / "customers.csv")
    code = run(root, STACKED, {**FAST, "InputDataUrl": str(table),
                               "TargetColumn": "revenue", "IgnoreColumns": "customer_id"})
    return code, root


class TestStackedRegressionOnACrmExport:
    def test_registered_under_the_default_gate(self, outcome):
        code, root = outcome
        assert code == 0
        [package] = LocalModelRegistry(root).list_packages("StackedEnsemblePackageGroup")
        report = report_of(root, package)
        assert report["gate"]["passed"] is True
        assert report["relative"]["r2"] > 0.5
        assert report["relative"]["rmse_ratio_to_naive"] < 0.7

    def test_the_user_file_was_staged_and_no_sample_data_written(self, outcome):
        _, root = outcome
        staged = LocalObjectStore(root).list_uris(f"{BUCKET}/StackedEnsemblePipeline/input-data/")
        assert [uri.rsplit("/", 1)[1] for uri in staged] == ["customers.csv"]
        assert no_sample_data(root, "StackedEnsemblePipeline")

    def test_the_ignored_id_is_not_a_feature(self, outcome):
        _, root = outcome
        store = LocalObjectStore(root)
        [data_report] = [u for u in store.list_uris(f"{BUCKET}/StackedEnsemblePipeline/")
                         if u.endswith("data_report.json")]
        names = {f["name"] for f in json.loads(store.read_bytes(data_report))["features"]}
        assert "customer_id" not in names
        assert {"region", "plan", "monthly_spend"} <= names


def test_a_target_without_signal_ends_in_the_fail_step_quoting_the_baseline(tmp_path, capsys):
    table = own_data.write(own_data.shuffled(own_data.customers().drop(columns=["churned"]),
                                             "revenue"), tmp_path / "customers.csv")
    code = run(tmp_path / "root", STACKED, {**FAST, "InputDataUrl": str(table),
                                            "TargetColumn": "revenue",
                                            "IgnoreColumns": "customer_id"})
    assert code == 1
    err = capsys.readouterr().err
    assert "The model was not registered: rmse" in err
    assert "x the naive baseline's" in err and "(the training mean)" in err
    assert registered(tmp_path / "root", "StackedEnsemblePackageGroup") == []


def test_classification_with_text_labels_is_registered(tmp_path):
    table = own_data.write(own_data.customers(seed=4).drop(columns=["revenue"]),
                           tmp_path / "churn.csv")
    code = run(tmp_path / "root", STACKED, {**FAST, "InputDataUrl": str(table),
                                            "TargetColumn": "churned",
                                            "IgnoreColumns": "customer_id"},
               kwargs={"problem_type": "classification"})
    assert code == 0
    [package] = LocalModelRegistry(tmp_path / "root").list_packages(
        "StackedEnsemblePackageGroup")
    relative = report_of(tmp_path / "root", package)["relative"]
    assert relative["accuracy"] > relative["naive_accuracy"] + 0.1
    assert relative["auc"] > 0.75


def test_a_european_spreadsheet_export_in_spark_parts_is_registered(tmp_path):
    """`;`-separated, decimal commas, gzip-compressed parts beside a _SUCCESS marker."""
    table = own_data.customers(seed=5).drop(columns=["churned"])
    folder = tmp_path / "export"
    folder.mkdir()
    for part, rows in enumerate((table.iloc[:300], table.iloc[300:])):
        rows.to_csv(folder / f"part-{part:05d}.csv.gz", sep=";", decimal=",", index=False)
    (folder / "_SUCCESS").write_text("")
    code = run(tmp_path / "root", STACKED, {**FAST, "InputDataUrl": str(folder),
                                            "TargetColumn": "revenue",
                                            "IgnoreColumns": "customer_id"})
    assert code == 0
    store = LocalObjectStore(tmp_path / "root")
    [data_report] = [u for u in store.list_uris(f"{BUCKET}/StackedEnsemblePipeline/")
                     if u.endswith("data_report.json")]
    report = json.loads(store.read_bytes(data_report))
    assert [(f["file"], f["separator"], f["decimal"]) for f in report["input_files"]] == [
        ("part-00000.csv.gz", ";", ","), ("part-00001.csv.gz", ";", ",")]
    kinds = {f["name"]: f["kind"] for f in report["features"]}
    assert kinds["monthly_spend"] == "numeric" and kinds["region"] == "categorical"
    [package] = LocalModelRegistry(tmp_path / "root").list_packages("StackedEnsemblePackageGroup")
    assert report_of(tmp_path / "root", package)["relative"]["r2"] > 0.5


def test_a_parquet_table_keeps_its_ordered_category_in_the_model(tmp_path):
    """Parquet carries the order a CSV cannot: the registered model ranks the plans."""
    table = own_data.customers(seed=6).drop(columns=["churned"])
    table["plan"] = pd.Categorical(table["plan"], categories=list(own_data.PLANS), ordered=True)
    table.to_parquet(tmp_path / "customers.parquet")
    code = run(tmp_path / "root", STACKED, {**FAST, "InputDataUrl": str(tmp_path / "customers.parquet"),
                                            "TargetColumn": "revenue",
                                            "IgnoreColumns": "customer_id"})
    assert code == 0
    [package] = LocalModelRegistry(tmp_path / "root").list_packages("StackedEnsemblePackageGroup")
    store = LocalObjectStore(tmp_path / "root")
    model_uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    with tarfile.open(store.path_for(model_uri)) as tar:
        metadata = json.load(tar.extractfile("metadata.json"))
    plan = next(f for f in metadata["features"] if f["name"] == "plan")
    assert plan["kind"] == "ordinal" and plan["categories"] == ["basic", "pro", "enterprise"]
    region = next(f for f in metadata["features"] if f["name"] == "region")
    assert region["kind"] == "categorical"


@pytest.mark.parametrize("parameters, line", [
    ({"TargetColumn": "turnover"},
     "TargetColumn 'turnover' is not a column of the input; its columns are: customer_id, "
     "region, plan"),
    ({"TargetColumn": "plan"},
     "TargetColumn 'plan' must be numeric for regression; 600 value(s) are not"),
    ({"TargetColumn": "revenue", "IgnoreColumns": "id"},
     "IgnoreColumns names ['id'], which the input does not have"),
])
def test_bad_column_choices_stop_preprocessing_with_one_line(tmp_path, capsys, parameters,
                                                             line):
    table = own_data.write(own_data.customers(), tmp_path / "customers.csv")
    code = run(tmp_path / "root", STACKED, {**FAST, "InputDataUrl": str(table), **parameters})
    assert code == 1
    err = capsys.readouterr().err
    assert "step PreprocessData (Processing) Failed" in err and line in err
    store = LocalObjectStore(tmp_path / "root")
    written = store.list_uris(f"{BUCKET}/StackedEnsemblePipeline/")
    assert not [u for u in written if "/PreprocessData/" in u]  # no split, no report
    assert no_sample_data(tmp_path / "root", "StackedEnsemblePipeline")


class TestMultiModelOnShopSales:
    SHOPS = ["Harbour Street", "Old Town"]

    def test_each_shop_is_registered(self, tmp_path):
        table = own_data.write(own_data.shops(tuple(self.SHOPS)), tmp_path / "sales.csv")
        code = run(tmp_path / "root", MULTI_MODEL,
                   {"InputDataUrl": str(table), "SegmentColumn": "shop",
                    "TargetColumn": "units_sold"}, kwargs={"segments": self.SHOPS})
        assert code == 0
        registry = LocalModelRegistry(tmp_path / "root")
        for ident in ("harbour-street", "old-town"):
            [package] = registry.list_packages(f"HousePrices-{ident}")
            assert report_of(tmp_path / "root", package)["gate"]["passed"] is True
        assert no_sample_data(tmp_path / "root", "MultiModelPipeline")

    def test_no_signal_anywhere_ends_in_the_fail_step(self, tmp_path, capsys):
        table = own_data.write(own_data.shuffled(own_data.shops(tuple(self.SHOPS)),
                                                 "units_sold"), tmp_path / "sales.csv")
        code = run(tmp_path / "root", MULTI_MODEL,
                   {"InputDataUrl": str(table), "SegmentColumn": "shop",
                    "TargetColumn": "units_sold"}, kwargs={"segments": self.SHOPS})
        assert code == 1
        err = capsys.readouterr().err
        assert "No segment's model passed its quality gate" in err
        assert "Harbour Street: rmse" in err and "the naive baseline's" in err
        assert registered(tmp_path / "root", "HousePrices-harbour-street") == []
