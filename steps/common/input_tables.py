"""Reading the user's table as their tools wrote it: CSV or Parquet, one file or a folder.

Exports rarely look like pandas' defaults. A spreadsheet in a German or French locale writes
`;`-separated fields with decimal commas (`7,5`); databases write tab- or `|`-separated text;
Spark, Glue and Athena write folders of (compressed) CSV or Parquet parts beside `_SUCCESS`
markers. So the separator is read from the header line, the decimal mark from the values, and
compression from the file name, and what was assumed is logged. Column names lose the spaces
around them (a spreadsheet's `revenue ` is the `revenue` a user types), and a name given twice
is refused where pandas would rename it. Text values lose them too (`north ` and `north` are
one shop; the served models trim a request's values alike), and a value that is then empty or
one of pandas' missing markers (` NA`) is missing, as an empty field is. Text must be UTF-8 (a
BOM is fine): guessing a legacy code page could silently turn names into other names, so any
other encoding is refused with how to re-save the file.
"""
from __future__ import annotations

import bz2
import csv
import decimal
import gzip
import io
import itertools
import logging
import lzma
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from steps.common.errors import InvalidData
from steps.common.formatted_numbers import (
    NumberFormat,
    decimal_mark,
    number_share,
    read_formatted_numbers,
)

TEXT_SUFFIXES = (".csv", ".tsv")  # not .txt: a folder's README.txt is not data
PARQUET_SUFFIX = ".parquet"
COMPRESSION_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
SEPARATORS = (",", ";", "\t", "|")
SAMPLE_LINES = 200
# Formats a user may point at by mistake: named, rather than read as text and failing oddly.
OTHER_FORMATS = {".xlsx": "an Excel workbook", ".xlsm": "an Excel workbook",
                 ".xls": "an Excel workbook", ".ods": "a spreadsheet", ".json": "JSON",
                 ".jsonl": "JSON lines", ".feather": "Feather", ".arrow": "Arrow IPC",
                 ".pkl": "a pickle", ".pickle": "a pickle", ".h5": "HDF5", ".avro": "Avro",
                 ".orc": "ORC"}
ACCEPTED = ".csv or .tsv (optionally .gz, .bz2, .xz or .zip) or .parquet"
# pandas.read_csv's default missing-value markers: what a served model reads as missing too.
PANDAS_MISSING_TOKENS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableFormat:
    """How one input file is read: what the data report records."""

    file: str
    kind: str  # "text" or "parquet"
    separator: str | None = None
    decimal: str | None = None
    formatted_numbers: dict[str, NumberFormat] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "parquet":
            return f"{self.file}: Parquet"
        return f"{self.file}: {self.separator!r}-separated, decimal {self.decimal!r}"


def is_table_file(path: Path) -> bool:
    """A name the input reader understands; hidden files and Spark's `_SUCCESS` are not."""
    name = path.name.lower()
    if name.startswith((".", "_")):
        return False
    if name.endswith(PARQUET_SUFFIX):
        return True
    stem = name
    for suffix in (*COMPRESSION_OPENERS, ".zip"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem.endswith(TEXT_SUFFIXES)


def input_table_files(location: Path) -> list[Path]:
    """The file at `location` (any name but another format's: it is read as text unless it
    ends in .parquet), or every table file under the folder, sorted."""
    location = Path(location)
    if location.is_file():
        other = OTHER_FORMATS.get(location.suffix.lower())
        if other:
            raise InvalidData(f"input file {location.name} is {other}, which is not read: save "
                              "it as CSV (UTF-8) or Parquet")
        return [location]
    if not location.is_dir():
        raise InvalidData(f"input {location} does not exist: pass a CSV or Parquet file or a "
                          "folder of them")
    files = sorted(path for path in location.rglob("*") if path.is_file() and is_table_file(path))
    if not files:
        raise InvalidData(f"no table file under {location}: the input must be {ACCEPTED}")
    return files


def listed_columns(columns: Iterable[Any]) -> str:
    """'a, b, c' for a message naming a table's columns, with a hint where the names are
    mostly numbers: a file without a header line, whose first row of values became the names."""
    names = [str(name) for name in columns]
    hint = " (mostly numbers: if the file has no header line, add one naming the columns)"
    return ", ".join(names) + (hint if names and number_share(names) >= 0.5 else "")


def read_input_table(location: Path, dtype: Any = None) -> tuple[pd.DataFrame, list[TableFormat]]:
    """Read one file or all files of a folder (same columns in each) into one table.

    `dtype=str` reads every value as text (missing values stay missing), as for a corpus.
    Returns the table and how each file was read.
    """
    location = Path(location)
    frames, formats = [], []
    for path in input_table_files(location):
        shown = path.name if path == location else path.relative_to(location).as_posix()
        frame, table_format = _read_file(path, shown, dtype)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise InvalidData(
                f"input file {shown} has columns {list(frame.columns)} but {formats[0].file} "
                f"has {list(frames[0].columns)}: every file must have the same header")
        logger.info("read %d rows from %s", len(frame), table_format.describe())
        frames.append(frame)
        formats.append(table_format)
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if table.empty:
        raise InvalidData(f"input {location.name} has a header but no data rows")
    return table, formats


def _read_file(path: Path, shown: str, dtype: Any) -> tuple[pd.DataFrame, TableFormat]:
    if path.name.lower().endswith(PARQUET_SUFFIX):
        return _read_parquet(path, shown, dtype), TableFormat(shown, "parquet")
    separator, decimal, header = _sniff(path, shown)
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:  # pandas would silently rename the second one 'name.1'
        raise InvalidData(f"input file {shown} names column(s) {repeated} more than once "
                          f"(spaces around names ignored): rename them so each is unique; its "
                          f"columns are: {listed_columns(header)}")
    try:
        frame = pd.read_csv(path, sep=separator, decimal=decimal, dtype=dtype,
                            encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InvalidData(
            f"input file {shown} is empty: it needs a header row and data rows") from None
    except UnicodeDecodeError as error:
        raise _not_utf8(shown, error) from None
    except pd.errors.ParserError as error:
        message = " ".join(str(error).split())
        raise InvalidData(f"input file {shown} is not a readable {separator!r}-separated "
                          f"table: {message}; quote fields that hold the separator") from None
    frame, numbers = _trimmed_values(_trimmed_names(frame, shown), shown), {}
    if dtype is None:
        frame, numbers = read_formatted_numbers(frame, decimal, shown)
    return frame, TableFormat(shown, "text", separator, decimal, numbers)


def _trimmed_values(frame: pd.DataFrame, shown: str) -> pd.DataFrame:
    """Text values without surrounding spaces; one that is then empty or a missing marker
    (PANDAS_MISSING_TOKENS) is missing. Other values (numbers, booleans) are left as read."""
    trimmed: dict[str, int] = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object and not pd.api.types.is_string_dtype(column):
            continue
        text = (column.str.strip() if column.dtype != object else  # str dtype: vectorised
                column.map(lambda v: v.strip() if isinstance(v, str) else v))
        text = text.where(~text.isin(PANDAS_MISSING_TOKENS))
        changed = int((column.notna() & (text.isna() | (text != column))).sum())
        if changed:
            frame[name] = text
            trimmed[str(name)] = changed
    if trimmed:
        logger.info("%s: spaces around text values trimmed (%s)", shown,
                    ", ".join(f"{name}: {n} value(s)" for name, n in trimmed.items()))
    return frame


def _trimmed_names(frame: pd.DataFrame, shown: str) -> pd.DataFrame:
    """Column names without surrounding spaces (`revenue ` from a spreadsheet is `revenue`)."""
    names = [str(column).strip() for column in frame.columns]
    if len(set(names)) < len(names):
        raise InvalidData(f"input file {shown} has column names that differ only in spaces "
                          "around them: rename them so each is unique")
    return frame.set_axis(names, axis=1)


def _sniff(path: Path, shown: str) -> tuple[str, str, list[str]]:
    """The separator that splits the header into the most fields (ties: `,` first), a
    decimal comma only where the values have decimal commas and no decimal points (`1.234`
    could be either), and the header's names (trimmed)."""
    try:
        with _open_text(path) as handle:
            lines = list(itertools.islice(handle, SAMPLE_LINES))
    except UnicodeDecodeError as error:
        raise _not_utf8(shown, error) from None
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as error:
        raise InvalidData(f"input file {shown} cannot be read as its name says "
                          f"({error}); the input must be {ACCEPTED}") from None
    lines = [line for line in lines if line.strip()]  # pandas skips blank lines too
    if not lines:
        raise InvalidData(f"input file {shown} is empty: it needs a header row and data rows")
    headers = {sep: next(csv.reader([lines[0]], delimiter=sep)) for sep in SEPARATORS}
    separator = max(SEPARATORS, key=lambda sep: len(headers[sep]))  # max keeps the first tie
    header = [name.strip() for name in headers[separator]]
    if separator == ",":
        return separator, ".", header
    values = [field.strip() for row in csv.reader(lines[1:], delimiter=separator)
              for field in row]
    return separator, decimal_mark(values), header


@contextmanager
def _open_text(path: Path) -> Iterator[IO[str]]:
    """The file's text, decompressed as its last suffix says (a .zip holds one file)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            if len(members) != 1:
                raise InvalidData(f"input file {path.name} holds {len(members)} files; a .zip "
                                  "input must hold exactly one table")
            with archive.open(members[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        return
    opener = COMPRESSION_OPENERS.get(suffix)
    if opener is None:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield handle
        return
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        yield handle


def _not_utf8(shown: str, error: UnicodeDecodeError) -> InvalidData:
    byte = error.object[error.start:error.start + 1].hex() if error.object else "?"
    return InvalidData(
        f"input file {shown} is not UTF-8 text (byte 0x{byte} near byte {error.start}): "
        "save it as UTF-8 (Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8 in.csv > out.csv)")


def _read_parquet(path: Path, shown: str, dtype: Any) -> pd.DataFrame:
    """A Parquet file as its CSV export would read, but for ordered categories, whose order
    a CSV cannot carry: unordered categories as their values, decimals (a database's
    DECIMAL(10,2) amounts, which pandas gives as Python Decimal objects) as floats, times as
    ISO text (the steps treat dates in text), and with `dtype=str` every value as text."""
    try:
        frame = pd.read_parquet(path)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid / ArrowIOError
        message = " ".join(str(error).split())
        raise InvalidData(f"input file {shown} is not a readable Parquet file: {message}") \
            from None
    frame = _trimmed_values(_trimmed_names(frame.reset_index(drop=True), shown), shown)
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype) and not values.dtype.ordered:
            frame[column] = values.astype(object)
        elif pd.api.types.is_datetime64_any_dtype(values) or \
                pd.api.types.is_timedelta64_dtype(values):
            frame[column] = values.astype(str).where(values.notna())
        elif dtype is not str and values.dtype == object and _all_decimals(values):
            frame[column] = values.astype(float)
    if dtype is str:
        frame = frame.astype(object).where(frame.notna())
        frame = frame.apply(lambda column: column.map(str, na_action="ignore"))
    return frame


def _all_decimals(values: pd.Series) -> bool:
    present = values.dropna()
    return not present.empty and all(isinstance(v, decimal.Decimal) for v in present)
