"""Reading input tables and model archives; writing JSON and CSV outputs (atomically, see atomic)."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pandas as pd

from steps.common.atomic import write_text_atomic
from steps.common.errors import InvalidData


def write_json_atomic(path: Path, document: Any) -> None:
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def write_csv_atomic(path: Path, frame: pd.DataFrame) -> None:
    """One CSV with a header row and no index; missing values as empty fields."""
    write_text_atomic(path, frame.to_csv(index=False))


def csv_files(location: Path) -> list[Path]:
    """The CSV file at `location`, or every *.csv under the folder `location`, sorted."""
    location = Path(location)
    if location.is_file():
        return [location]
    if not location.is_dir():
        raise InvalidData(f"input {location} does not exist: pass a CSV file or a folder of CSVs")
    files = sorted(path for path in location.rglob("*.csv") if path.is_file())
    if not files:
        raise InvalidData(f"no .csv file under {location}: pass a CSV file or a folder of CSVs")
    return files


def read_csv_table(location: Path, dtype: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read one CSV or all CSVs of a folder (same columns in each) into one table."""
    frames = []
    for path in csv_files(location):
        try:
            frame = pd.read_csv(path, dtype=dtype)
        except pd.errors.EmptyDataError:
            raise InvalidData(
                f"input file {path} is empty: it needs a header row and data rows") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            message = " ".join(str(error).split())
            raise InvalidData(f"input file {path} is not a readable CSV: {message}") from error
        if frames and list(frame.columns) != list(frames[0].columns):
            raise InvalidData(
                f"input file {path} has columns {list(frame.columns)} but the first file has "
                f"{list(frames[0].columns)}: every CSV must have the same header")
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if table.empty:
        raise InvalidData(f"input {location} has a header but no data rows")
    return table


MODEL_ARCHIVE = "model.tar.gz"


def model_directory(location: Path, scratch: Path, marker: str) -> Path:
    """A model to load: `location` itself when it is an extracted model (it holds `marker`),
    else `scratch` holding the model.tar.gz found at or in `location`, extracted."""
    location = Path(location)
    archive = location / MODEL_ARCHIVE if location.is_dir() else location
    if archive.is_file():
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        return Path(scratch)
    if (location / marker).is_file():
        return location
    raise InvalidData(f"{location} holds neither {MODEL_ARCHIVE} nor an extracted model "
                      f"({marker}); pass the training job's model artifact")
