"""The user's table read as their tool wrote it: separators, decimal commas, compression,
Parquet and Spark-style folders; other encodings refused with how to re-save."""
from __future__ import annotations

import bz2
import decimal
import gzip
import lzma
import string
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steps.common.errors import InvalidData
from steps.common.input_tables import (
    input_table_files,
    is_table_file,
    listed_columns,
    read_input_table,
)

TABLE = pd.DataFrame({"order id": ["A-1", "A-2", "A-3"], "spend €": [96.24, 31.5, np.nan],
                      "region": ["Nord", None, "Süd"], "visits": [7, 3, 12]})


def _read(path, dtype=None):
    frame, formats = read_input_table(path, dtype)
    return frame, [(f.separator, f.decimal) for f in formats]


@pytest.mark.parametrize("decimal", [",", "."])  # a European spreadsheet's 96,24 ; 31,5 ; 7
def test_semicolon_exports_read_as_the_same_numbers_with_either_decimal_mark(tmp_path, decimal):
    path = tmp_path / "export.csv"
    TABLE.to_csv(path, sep=";", decimal=decimal, index=False)
    frame, formats = _read(path)
    pd.testing.assert_frame_equal(frame, TABLE)
    assert formats == [(";", decimal)]


def test_commas_inside_quoted_text_do_not_make_a_comma_separator(tmp_path):
    path = tmp_path / "tickets.tsv"
    table = pd.DataFrame({"subject": ["late, again", "broken"], "body": ["a, b, c", "d"]})
    table.to_csv(path, sep="\t", index=False)
    frame, formats = _read(path, dtype=str)
    pd.testing.assert_frame_equal(frame, table)
    assert formats == [("\t", ".")]


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open),
                                            (".xz", lzma.open)])
def test_compressed_exports(tmp_path, suffix, opener):
    path = tmp_path / f"export.csv{suffix}"
    with opener(path, "wt", encoding="utf-8") as handle:
        TABLE.to_csv(handle, sep="|", index=False)
    frame, formats = _read(path)
    pd.testing.assert_frame_equal(frame, TABLE)
    assert formats == [("|", ".")]


def test_a_zip_of_one_table(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export.csv", TABLE.to_csv(index=False))
    pd.testing.assert_frame_equal(_read(path)[0], TABLE)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("other.csv", "x\n1\n")
    with pytest.raises(InvalidData, match="export.zip holds 2 files; a .zip input must hold "
                                          "exactly one table"):
        read_input_table(path)


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(TABLE.to_csv(index=False).encode("utf-8-sig"))
    assert list(_read(path)[0].columns)[0] == "order id"


def test_a_legacy_code_page_is_refused_with_how_to_resave(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes(TABLE.to_csv(index=False).encode("cp1252"))
    with pytest.raises(InvalidData) as caught:
        read_input_table(path)
    assert str(caught.value).startswith(
        "input file windows.csv is not UTF-8 text (byte 0x80 near byte 15): save it as UTF-8")
    late = tmp_path / "late.csv"  # the bad byte after the lines the separator is read from
    late.write_bytes(b"a,b\n" + b"1,2\n" * 300 + "3,Zürich\n".encode("cp1252"))
    with pytest.raises(InvalidData, match="late.csv is not UTF-8 text"):
        read_input_table(late)


def test_a_file_that_is_not_what_its_name_says(tmp_path):
    path = tmp_path / "export.csv.gz"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidData, match="export.csv.gz cannot be read as its name says"):
        read_input_table(path)


def test_parquet_reads_like_its_csv_export(tmp_path):
    path = tmp_path / "part-0.parquet"
    table = TABLE.assign(plan=pd.Categorical(["pro", "basic", None]),
                         signed=pd.to_datetime(["2021-03-04", None, "2022-01-31 10:00"], format="ISO8601"))
    table.to_parquet(path)
    frame, formats = read_input_table(path)
    assert formats[0].kind == "parquet"
    assert frame["plan"].tolist()[:2] == ["pro", "basic"] and pd.isna(frame["plan"][2])
    assert frame["signed"].tolist()[0] == "2021-03-04 00:00:00" and pd.isna(frame["signed"][1])
    assert frame["visits"].tolist() == [7, 3, 12]
    text, _ = read_input_table(path, dtype=str)
    assert text["visits"].tolist() == ["7", "3", "12"]
    assert text["spend €"].tolist()[:2] == ["96.24", "31.5"] and pd.isna(text["spend €"][2])


def test_a_database_exports_decimal_amounts_are_numbers(tmp_path):
    """Athena, Redshift and Spark write DECIMAL(10,2) money as Parquet decimals; pandas gives
    them as Decimal objects, which the steps took for categories, one per amount."""
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({
        "amount": pa.array([decimal.Decimal("103.46"), None, decimal.Decimal("-7.50")],
                           type=pa.decimal128(10, 2)),
        "visits": pa.array([3, None, 5], type=pa.int64()),
        "code": pa.array(["A", "B", None])}), path)
    frame, _ = read_input_table(path)
    assert frame["amount"].dtype == float and frame["amount"].tolist()[::2] == [103.46, -7.5]
    assert pd.isna(frame["amount"][1]) and frame["code"].tolist()[:2] == ["A", "B"]
    text, _ = read_input_table(path, dtype=str)
    assert text["amount"].tolist()[::2] == ["103.46", "-7.50"]


def test_parquet_keeps_an_ordered_category_ordered(tmp_path):
    path = tmp_path / "diamonds.parquet"
    cut = pd.Categorical(["Good", "Ideal", "Fair"], categories=["Fair", "Good", "Ideal"],
                         ordered=True)
    pd.DataFrame({"cut": cut, "price": [1, 2, 3]}).to_parquet(path)
    frame, _ = read_input_table(path)
    assert frame["cut"].dtype == cut.dtype and frame["cut"].tolist() == ["Good", "Ideal", "Fair"]


def test_names_lose_surrounding_spaces(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(" order id ,revenue \nA,1.5\n")
    assert list(_read(path)[0].columns) == ["order id", "revenue"]


def test_numbers_with_thousands_grouped_are_numbers(tmp_path):
    """A formatted spreadsheet's amounts; as text each would be its own category."""
    english = tmp_path / "english.csv"
    english.write_text('id,amount,code\nA,"1,234.50",001\nB,999,002\nC,,"1,2"\n')
    frame, _ = _read(english)
    assert frame["amount"].tolist()[:2] == [1234.5, 999.0] and pd.isna(frame["amount"][2])
    assert frame["amount"].dtype == float
    assert frame["code"].tolist() == ["001", "002", "1,2"]  # not numbers: kept as written
    german = tmp_path / "german.csv"
    german.write_text("id;amount;qty\nA;1.234,50;7\nB;999;8\nC;12\u00a0345,5;9\n",
                      encoding="utf-8")
    frame, formats = _read(german)
    assert formats == [(";", ",")]
    assert frame["amount"].tolist() == [1234.5, 999.0, 12345.5]
    text, _ = _read(german, dtype=str)  # a corpus keeps text as written
    assert text["amount"].tolist() == ["1.234,50", "999", "12\u00a0345,5"]


def test_trailing_separators_and_leading_blank_lines_are_an_export_not_an_error(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("\n\nname;amount;;\nx;1,5;;\ny;2,5;;\n")
    frame, formats = _read(path)
    assert formats == [(";", ",")]
    assert frame["amount"].tolist() == [1.5, 2.5] and frame.shape == (2, 4)


@pytest.mark.parametrize("header", ["a,b,a", "a,b,a "])
def test_a_name_given_twice_is_refused(tmp_path, header):
    path = tmp_path / "sheet.csv"
    path.write_text(f"{header}\n1,2,3\n")
    with pytest.raises(InvalidData, match=r"sheet.csv names column\(s\) \['a'\] more than once"):
        read_input_table(path)


def test_a_spark_output_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for part, rows in enumerate((TABLE.iloc[:2], TABLE.iloc[2:])):
        with gzip.open(folder / f"part-{part:05d}.csv.gz", "wt", encoding="utf-8") as handle:
            rows.to_csv(handle, index=False)
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.csv.gz.crc").write_text("x")
    (folder / "README.txt").write_text("exported nightly")
    assert [p.name for p in input_table_files(folder)] == ["part-00000.csv.gz",
                                                            "part-00001.csv.gz"]
    pd.testing.assert_frame_equal(_read(folder)[0], TABLE)


@pytest.mark.parametrize("name, kind", [("Customers.XLSX", "an Excel workbook"),
                                        ("rows.jsonl", "JSON lines")])
def test_another_format_is_named_not_read_as_text(tmp_path, name, kind):
    (tmp_path / name).write_bytes(b"PK\x03\x04 not text")
    with pytest.raises(InvalidData) as caught:
        read_input_table(tmp_path / name)
    assert str(caught.value) == (f"input file {name} is {kind}, which is not read: save it as "
                                 "CSV (UTF-8) or Parquet")


def test_parts_must_share_a_header(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.tsv").write_text("x\tz\n1\t2\n")
    with pytest.raises(InvalidData, match=r"b.tsv has columns \['x', 'z'\] but a.csv has"):
        read_input_table(tmp_path)


@pytest.mark.parametrize("name, table", [
    ("data.csv", True), ("data.TSV", True), ("data.csv.gz", True), ("data.tsv.zip", True),
    ("data.parquet", True), ("notes.txt", False), ("_SUCCESS", False), (".data.csv", False),
    ("data.json", False), ("data.gz", False)])
def test_which_names_are_tables(tmp_path, name, table):
    assert is_table_file(tmp_path / name) is table


WORDS = st.text(string.ascii_letters, min_size=1, max_size=8).filter(
    lambda word: word.lower() not in {"nan", "na", "null", "none", "true", "false", "n", "inf"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
                        min_size=1, max_size=20),
       words=st.data(), convention=st.sampled_from([(",", "."), (";", ","), (";", "."),
                                                    ("\t", "."), ("|", ",")]))
def test_any_convention_round_trips(tmp_path, numbers, words, convention):
    """Whatever separator and decimal mark wrote a table of numbers and words, it reads back."""
    separator, decimal = convention
    labels = words.draw(st.lists(WORDS, min_size=len(numbers), max_size=len(numbers)))
    table = pd.DataFrame({"amount": numbers, "label": labels})
    path = tmp_path / "t.csv"
    table.to_csv(path, sep=separator, decimal=decimal, index=False)
    frame, formats = _read(path)
    pd.testing.assert_frame_equal(frame, table, check_dtype=False)
    assert formats[0][0] == separator


def test_a_file_without_a_header_line_is_named_as_such_where_columns_are_listed(tmp_path):
    """A UCI-style file: its first row of values became the names."""
    path = tmp_path / "adult.csv"
    path.write_text("39,State-gov,77516,-4.2\n50,Self-emp,83311,1.5\n")
    frame, _ = read_input_table(path)
    assert listed_columns(frame.columns) == (
        "39, State-gov, 77516, -4.2 (mostly numbers: if the file has no header line, add one "
        "naming the columns)")
    assert listed_columns(["region", "2019", "revenue"]) == "region, 2019, revenue"
    path.write_text("0,1,0,x\n1,1,0,y\n")
    with pytest.raises(InvalidData, match=r"names column\(s\) \['0'\] more than once .* "
                                          r"its columns are: 0, 1, 0, x \(mostly numbers"):
        read_input_table(path)


def test_spaces_around_text_values_are_trimmed_and_blank_values_are_missing(tmp_path):
    """A hand-kept sheet's `north ` and ` north` were two more shops than `north`."""
    path = tmp_path / "shops.csv"
    path.write_text("shop,note,n\nnorth ,a,1\n north,  ,2\nnorth, NA ,3\nsouth,b ,4\n",
                    encoding="utf-8")
    frame, _ = read_input_table(path)
    assert frame["shop"].tolist() == ["north", "north", "north", "south"]
    assert frame["note"].tolist()[0] == "a" and frame["note"].tolist()[3] == "b"
    assert frame["note"].isna().tolist() == [False, True, True, False]
    assert frame["n"].tolist() == [1, 2, 3, 4]
