"""`InputDataUrl` locally: local paths, file:// URIs and folders staged; missing data refused.

Runs `run-pipeline --local` on a one-step fixture module (the fixture Preprocess job splits
every CSV row under its input into train/validation), so each test sees what the job read.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli import run_pipeline
from pipelines.input_data import InputDataTarget, prepare_input_data
from pipelines.local import run_local_pipeline
from pipelines.local.store import local_store
from runtime.errors import UserError

from . import definitions as d

pytestmark = pytest.mark.integration

MODULE = "input_fixture_pipeline"
PIPELINE = "input-fixture"
STAGING_BUCKET = "staging-bucket"
SAMPLE = b"7,7.7\n8,8.8\n9,9.9\n"
MODULE_SOURCE = '''
import json

DEFINITION = json.loads({definition!r})
CALLS = []


class _Session:
    def default_bucket(self):
        return {bucket!r}


class _Pipeline:
    name = {name!r}
    sagemaker_session = _Session()

    def definition(self):
        return json.dumps(DEFINITION)


def get_pipeline(**kwargs):
    return _Pipeline()


def sample_data(uri, **kwargs):
    CALLS.append(uri)
    return {sample!r}
'''


def _definition() -> dict:
    return {"Version": "2020-12-01", "Parameters": d.parameters(),
            "Steps": [d.preprocess_step()]}


def _rows(start: int, n: int) -> bytes:
    return "".join(f"{x},{x * 2}.5\n" for x in range(start, start + n)).encode()


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    """A local root holding the fixture code only (no data), and the fixture module."""
    local_root = tmp_path / "local"
    d.upload_code(local_store(local_root))
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / f"{MODULE}.py").write_text(MODULE_SOURCE.format(
        definition=json.dumps(_definition()), bucket=STAGING_BUCKET, name=PIPELINE,
        sample=SAMPLE))
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    yield local_root
    sys.modules.pop(MODULE, None)


def _main(root: Path, input_data: str | None = None) -> int:
    parameters = [] if input_data is None else ["--parameters",
                                                json.dumps({"InputDataUrl": input_data})]
    return run_pipeline.main(["--local", "--local-root", str(root), "-n", MODULE, *parameters])


def _executions(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "executions").glob("*.json"),
                                                      key=lambda p: p.stat().st_mtime)]


def _seen_rows(root: Path) -> list[str]:
    """Every row the Preprocess job read, from its train and validation outputs."""
    store = local_store(root)
    read = store.read_text(f"s3://{d.BUCKET}/preprocess/train/train.csv").splitlines()
    read += store.read_text(f"s3://{d.BUCKET}/preprocess/validation/validation.csv").splitlines()
    return sorted(read)


def _lines(*chunks: bytes) -> list[str]:
    return sorted(line for chunk in chunks for line in chunk.decode().splitlines())


def _store_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def _staged(root: Path) -> list[str]:
    return local_store(root).list_uris(f"s3://{STAGING_BUCKET}/{PIPELINE}/input-data/")


def _assert_no_sample_data(root: Path) -> None:
    import input_fixture_pipeline

    assert input_fixture_pipeline.CALLS == []
    assert not local_store(root).exists(d.DATA)
    first_sample_row = SAMPLE.splitlines()[0]
    holders = [name for name, data in _store_files(root).items() if first_sample_row in data]
    assert holders == []


class TestLocalPathsAreStaged:
    def test_absolute_path_is_copied_under_its_content_hash(self, root, tmp_path, capsys):
        data = tmp_path / "my data.csv"
        data.write_bytes(_rows(100, 9))
        assert _main(root, str(data)) == 0

        digest = hashlib.sha256(data.read_bytes()).hexdigest()[:16]
        uri = f"s3://{STAGING_BUCKET}/{PIPELINE}/input-data/{digest}/my data.csv"
        assert _staged(root) == [uri]
        assert local_store(root).read_bytes(uri) == data.read_bytes()
        assert _seen_rows(root) == _lines(data.read_bytes())
        (line,) = [line for line in capsys.readouterr().err.splitlines()
                   if line.startswith("InputDataUrl")]
        assert line == (f"InputDataUrl {data} -> {uri} (staged 1 of 1 file(s), "
                        f"{data.stat().st_size} bytes)")
        _assert_no_sample_data(root)

    def test_relative_path_from_the_working_directory(self, root, tmp_path, monkeypatch):
        work = tmp_path / "work"
        work.mkdir()
        (work / "data.csv").write_bytes(_rows(200, 6))
        monkeypatch.chdir(work)

        assert _main(root, "./data.csv") == 0

        assert _seen_rows(root) == _lines(_rows(200, 6))
        assert [u.rsplit("/", 1)[1] for u in _staged(root)] == ["data.csv"]
        _assert_no_sample_data(root)

    def test_file_uri(self, root, tmp_path):
        data = tmp_path / "dir with space" / "table.csv"
        data.parent.mkdir()
        data.write_bytes(_rows(300, 5))

        assert _main(root, data.as_uri()) == 0  # file:///.../dir%20with%20space/table.csv

        assert "%20" in data.as_uri()
        assert _seen_rows(root) == _lines(_rows(300, 5))
        _assert_no_sample_data(root)

    def test_folder_of_csvs_becomes_a_prefix(self, root, tmp_path):
        folder = tmp_path / "parts"
        (folder / "2024").mkdir(parents=True)
        (folder / "a.csv").write_bytes(_rows(400, 4))
        (folder / "2024" / "b.csv").write_bytes(_rows(500, 3))
        (folder / "README.txt").write_text("not data")

        assert _main(root, str(folder)) == 0

        listing = "".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
                          for n in ("2024/b.csv", "a.csv"))
        prefix = (f"s3://{STAGING_BUCKET}/{PIPELINE}/input-data/"
                  f"{hashlib.sha256(listing.encode()).hexdigest()[:16]}/")
        assert _staged(root) == [f"{prefix}2024/b.csv", f"{prefix}a.csv"]
        (execution,) = _executions(root)
        raw = execution["steps"]["Preprocess"]
        assert raw["status"] == "Succeeded"
        assert _seen_rows(root) == _lines(_rows(400, 4), _rows(500, 3))

    def test_rerun_reuses_the_staged_copy_and_the_step_cache(self, root, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_bytes(_rows(600, 8))
        assert _main(root, str(data)) == 0
        (staged,) = _staged(root)
        path = local_store(root).path_for(staged)
        before = path.stat()

        capsys.readouterr()
        assert _main(root, str(data)) == 0

        assert _staged(root) == [staged]
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino,
                                                                 before.st_mtime_ns)
        assert f"-> {staged} (already staged, 1 file(s) reused" in capsys.readouterr().err
        first, second = _executions(root)
        assert second["steps"]["Preprocess"]["cached"] is True

    def test_changed_content_gets_a_new_key_and_keeps_the_old_one(self, root, tmp_path):
        data = tmp_path / "data.csv"
        data.write_bytes(_rows(700, 4))
        assert _main(root, str(data)) == 0
        data.write_bytes(_rows(800, 4))
        assert _main(root, str(data)) == 0

        first, second = _staged(root)
        assert first != second
        assert sorted(local_store(root).read_bytes(u) for u in (first, second)) == sorted(
            [_rows(700, 4), _rows(800, 4)])
        assert _seen_rows(root) == _lines(_rows(800, 4))


class TestMissingDataIsRefused:
    def _refused(self, root: Path, capsys, input_data: str) -> str:
        before = _store_files(root)
        assert _main(root, input_data) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1, err
        assert _store_files(root) == before
        _assert_no_sample_data(root)
        return err.strip()

    def test_missing_s3_object(self, root, capsys):
        uri = f"s3://{d.BUCKET}/raw/typo.csv"
        assert self._refused(root, capsys, uri) == (
            f"run-pipeline: error: InputDataUrl {uri} does not exist in the local store: "
            "pass a local path (--parameters "
            f"'{{\"InputDataUrl\": \"./data.csv\"}}') or copy your file to "
            f"{root}/{d.BUCKET}/raw/typo.csv")

    def test_empty_prefix(self, root, capsys):
        (root / d.BUCKET / "empty").mkdir(parents=True)
        err = self._refused(root, capsys, f"s3://{d.BUCKET}/empty/")
        assert err.startswith(f"run-pipeline: error: InputDataUrl s3://{d.BUCKET}/empty/ does "
                              "not exist in the local store")

    def test_missing_local_path(self, root, capsys, tmp_path):
        missing = tmp_path / "nope.csv"
        assert self._refused(root, capsys, str(missing)) == (
            f"run-pipeline: error: InputDataUrl {str(missing)!r}: no such file or folder "
            f"({missing}); pass a table file, a folder of them or an s3:// URI")

    def test_a_workbook_is_refused_before_any_step(self, root, capsys, tmp_path):
        workbook = tmp_path / "customers.xlsx"
        workbook.write_bytes(b"PK\x03\x04")
        assert self._refused(root, capsys, str(workbook)) == (
            f"run-pipeline: error: InputDataUrl {str(workbook)!r}: input file customers.xlsx is "
            "an Excel workbook, which is not read: save it as CSV (UTF-8) or Parquet")

    def test_folder_without_table_files(self, root, capsys, tmp_path):
        folder = tmp_path / "docs"
        folder.mkdir()
        (folder / "notes.txt").write_text("1,2\n")
        assert self._refused(root, capsys, str(folder)) == (
            f"run-pipeline: error: InputDataUrl {str(folder)!r}: no table file under {folder}; "
            "pass a file or folder of .csv or .tsv (optionally .gz, .bz2, .xz or .zip) or .parquet")

    def test_empty_file(self, root, capsys, tmp_path):
        empty = tmp_path / "empty.csv"
        empty.touch()
        assert self._refused(root, capsys, str(empty)).endswith(
            f"{empty} is empty; a table needs a header row and data rows")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
    def test_unreadable_file(self, root, capsys, tmp_path):
        locked = tmp_path / "locked.csv"
        locked.write_bytes(_rows(1, 2))
        locked.chmod(0)
        assert self._refused(root, capsys, str(locked)).endswith(
            f"cannot read {locked} (Permission denied)")

    @pytest.mark.parametrize("value, message", [
        ("https://example.com/data.csv", "unsupported scheme https://; pass an s3:// URI, a "
                                         "local path or a file:// URI"),
        ("file://server/share/data.csv", "a file:// URI must name a file on this machine"),
        ("s3://", "has no bucket name"),
        (f"s3://{d.BUCKET}/../../outside.csv", "escapes the local store root"),
        ("", "InputDataUrl is empty"),
        ("data\x00.csv", "InputDataUrl 'data\\x00.csv': no such file or folder"),
        ("x" * 5000 + ".csv", "x.csv' is not a usable path: File name too long"),
        ("s3://b/\nkey" + "k" * 5000, "InputDataUrl s3://b/\\nkeykk"),
    ])
    def test_unusable_values(self, root, capsys, value, message):
        err = self._refused(root, capsys, value)
        assert message in err
        assert len(err) <= len("run-pipeline: error: ") + 300  # long input is cut in the middle


class TestSampleData:
    def test_default_is_seeded_once_and_says_so(self, root, capsys):
        import input_fixture_pipeline

        assert _main(root) == 0
        assert _main(root) == 0

        assert input_fixture_pipeline.CALLS == [d.DATA]
        assert local_store(root).read_bytes(d.DATA) == SAMPLE
        assert _seen_rows(root) == _lines(SAMPLE)
        assert capsys.readouterr().err.count(f"seeded {d.DATA} with sample data") == 1
        assert _staged(root) == []

    def test_default_given_explicitly_is_still_the_default(self, root):
        assert _main(root, d.DATA) == 0
        assert local_store(root).read_bytes(d.DATA) == SAMPLE

    def test_existing_object_is_used_as_is(self, root):
        uri = f"s3://{d.BUCKET}/mine/data.csv"
        local_store(root).write_bytes(uri, _rows(900, 4))
        assert _main(root, uri) == 0
        assert _seen_rows(root) == _lines(_rows(900, 4))
        _assert_no_sample_data(root)


class TestPrepareInputData:
    """The module on its own: what it returns, and what it leaves alone."""

    def test_overrides_are_not_changed_and_the_default_bucket_is_the_fallback(self, tmp_path):
        data = tmp_path / "data.csv"
        data.write_bytes(_rows(1, 3))
        overrides = {"InputDataUrl": str(data), "LearningRate": "0.1"}
        target = InputDataTarget(local_store(tmp_path / "store"), "p")

        prepared = prepare_input_data(d.parameters(), overrides, target)

        digest = hashlib.sha256(_rows(1, 3)).hexdigest()[:16]
        assert prepared == {"InputDataUrl": f"s3://{d.BUCKET}/p/input-data/{digest}/data.csv",
                            "LearningRate": "0.1"}
        assert overrides == {"InputDataUrl": str(data), "LearningRate": "0.1"}

    def test_a_pipeline_without_input_data_url_is_left_alone(self, tmp_path):
        declared = [p for p in d.parameters() if p["Name"] != "InputDataUrl"]
        target = InputDataTarget(local_store(tmp_path), "p")
        assert prepare_input_data(declared, {"LearningRate": "0.1"}, target) == {
            "LearningRate": "0.1"}
        assert not any(tmp_path.iterdir())

    def test_no_default_bucket_and_no_s3_default_cannot_stage(self, tmp_path):
        data = tmp_path / "data.csv"
        data.write_bytes(_rows(1, 3))
        declared = [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": "./sample.csv"}]
        with pytest.raises(UserError, match="the pipeline has no default bucket"):
            prepare_input_data(declared, {"InputDataUrl": str(data)},
                               InputDataTarget(local_store(tmp_path / "store"), "p"))

    def test_the_runner_runs_what_was_prepared(self, tmp_path):
        """Without run-pipeline: prepare, then run the definition on the prepared URI."""
        root = tmp_path / "local"
        d.upload_code(local_store(root))
        data = tmp_path / "data.csv"
        data.write_bytes(_rows(50, 6))
        parameters = prepare_input_data(
            d.parameters(), {"InputDataUrl": str(data)},
            InputDataTarget(local_store(root), "p", sample_data=lambda uri: SAMPLE))

        execution = run_local_pipeline(d.chain_definition(), parameters, local_root=root)

        assert execution.status == "Succeeded", execution.failure_reason
        assert _seen_rows(root) == _lines(_rows(50, 6))
        assert not local_store(root).exists(d.DATA)

    def test_a_missing_default_without_sample_data_is_refused(self, tmp_path):
        store = local_store(tmp_path / "store")
        with pytest.raises(UserError, match=(
                rf"^InputDataUrl {d.DATA} \(the pipeline's default; it has no sample data\) "
                r"does not exist in the local store: pass a local path")):
            prepare_input_data(d.parameters(), {}, InputDataTarget(store, "p"))
        assert not (tmp_path / "store").exists()
