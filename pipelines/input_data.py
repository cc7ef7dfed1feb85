"""Turn the user's `InputDataUrl` into a URI the execution can read: stage, seed or refuse.

`run-pipeline` calls `prepare_input_data` in both modes, after building the definition and
before anything runs (locally) or starts (on AWS), so the runner and the steps only ever see
an `s3://` URI that holds data. The value may be:
- a local path (relative or absolute) or a `file://` URI: a CSV or Parquet file, or a folder
  whose table files (recursively, as the step scripts read them: see input_tables) are the
  data. It is copied into the run's object store (the local store, or S3 on AWS) under
  `s3://<default bucket>/<pipeline>/input-data/<hash>/<name>`, each object written only if
  absent: the same content gives the same key, so a re-run reuses it and the step cache still
  hits. The hash is the file's sha256 (what `sha256sum` prints), or for a folder the sha256 of
  its `sha256sum`-style listing (names and contents); its first 16 hex digits name the key.
- an `s3://` URI of an object or a prefix: used as is when anything is there. When nothing is,
  the pipeline's own default is seeded from the module's sample-data hook; any other URI stops
  the run with a UserError (exit 2) before anything is written. When the check itself is
  denied (AccessDenied on AWS), a warning says so and the run goes on.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pipelines.parameter_overrides import resolve_parameters
from runtime.errors import UserError, aws_error_message
from runtime.ports.object_store import LocalObjectStore, ObjectStore, error_code
from runtime.ports.uris import join_s3_uri, split_s3_uri
from steps.common.errors import InvalidData
from steps.common.input_tables import ACCEPTED, input_table_files

INPUT_PARAMETER = "InputDataUrl"
STAGING_FOLDER = "input-data"
HASH_DIGITS = 16
EXAMPLE = '--parameters \'{"InputDataUrl": "./data.csv"}\''
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled",
                           "Forbidden", "403"})

log = logging.getLogger("pipelines.input_data")


@dataclass(frozen=True)
class InputDataTarget:
    """Where a run's data must be readable, and what the pipeline module offers for it.

    `default_bucket` is asked only when a local path is staged (on AWS it may probe S3);
    without one, the bucket of the parameter's declared default is used.
    """

    store: ObjectStore
    pipeline_name: str
    default_bucket: Callable[[], str] | None = None
    sample_data: Callable[[str], bytes] | None = None


@dataclass(frozen=True)
class _LocalFile:
    name: str  # the key below the hashed prefix: the file name, or the path inside the folder
    path: Path
    sha256: str


def prepare_input_data(declared: Sequence[Mapping[str, Any]], overrides: Mapping[str, Any],
                       target: InputDataTarget) -> dict[str, Any]:
    """Return a copy of `overrides` whose InputDataUrl (if any) the execution can read.

    A staged local path replaces the value; an `s3://` URI stays as it is. A pipeline that
    declares no InputDataUrl gets its overrides back unchanged. Raises UserError, with
    nothing written, when the data is missing; InvalidParameters for bad overrides.
    """
    declaration = next((p for p in declared if p.get("Name") == INPUT_PARAMETER), None)
    if declaration is None:
        return dict(overrides)
    value = str(resolve_parameters(declared, overrides)[INPUT_PARAMETER])
    if not value.strip():
        raise UserError(f"{INPUT_PARAMETER} is empty: pass a table file, a folder of them or an "
                        "s3:// URI")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme == "s3":
        _check_s3(value, value == declaration.get("DefaultValue"), target)
        return dict(overrides)
    if scheme not in ("", "file"):
        raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': unsupported scheme "
                        f"{_show(scheme, 20)}://; pass an "
                        "s3:// URI, a local path or a file:// URI")
    default_uri = str(declaration.get("DefaultValue") or "")
    return {**overrides, INPUT_PARAMETER: _stage(value, _local_path(value), target, default_uri)}


def _local_path(value: str) -> Path:
    """A path as given (relative to the working directory, `~` expanded) or a file:// URI's."""
    if not value.lower().startswith("file://"):
        return Path(value).expanduser().absolute()
    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost"):
        raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': a file:// URI must name a file "
                        f"on this machine (file:///path), not on host '{_show(parts.netloc)}'")
    return Path(url2pathname(parts.path)).absolute()


def _local_files(value: str, path: Path) -> list[_LocalFile]:
    """The table file, or the folder's table files (as the steps read them), each non-empty."""
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        reason = getattr(exc, "strerror", None) or exc  # without the (long) file name
        raise UserError(f"{INPUT_PARAMETER} '{_show(value)}' is not a usable path: "
                        f"{_show(reason)}") from None
    if not exists:
        raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': no such file or folder "
                        f"({_show(path)}); pass a table file, a folder of them or an s3:// URI")
    try:
        paths = input_table_files(path)
    except InvalidData as error:
        if path.is_file():  # another format's file (a workbook, JSON)
            raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': {error}") from None
        raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': no table file under "
                        f"{_show(path)}; pass a file or folder of {ACCEPTED}") from None
    files = []
    for file in paths:
        if file.stat().st_size == 0:
            raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': {_show(file)} is empty; a "
                            "table needs a header row and data rows")
        name = file.name if file == path else file.relative_to(path).as_posix()
        try:
            with file.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': cannot read {_show(file)} "
                            f"({exc.strerror or exc})") from None
        files.append(_LocalFile(name, file, digest))
    return files


def _content_hash(files: Sequence[_LocalFile], folder: bool) -> str:
    """sha256 of the file, or of the folder's `sha256sum`-style listing (names and contents)."""
    if not folder:
        return files[0].sha256
    listing = "".join(f"{f.sha256}  {f.name}\n" for f in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(listing.encode()).hexdigest()


def _stage(value: str, path: Path, target: InputDataTarget, default_uri: str) -> str:
    files = _local_files(value, path)
    folder = path.is_dir()
    digest = _content_hash(files, folder)[:HASH_DIGITS]
    prefix = join_s3_uri(_bucket(target, default_uri),
                         f"{target.pipeline_name}/{STAGING_FOLDER}/{digest}/")
    written = 0
    for file in files:
        uri = prefix + file.name
        if target.store.exists(uri):
            continue
        data = file.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise UserError(f"{INPUT_PARAMETER} '{_show(value)}': {_show(file.path)} changed "
                            "while it was being staged; run again once it is complete")
        written += target.store.write_if_absent(uri, data)
    uri = prefix if folder else prefix + files[0].name
    size = sum(f.path.stat().st_size for f in files)
    done = (f"staged {written} of {len(files)} file(s)" if written
            else f"already staged, {len(files)} file(s) reused")
    log.info("%s %s -> %s (%s, %d bytes)", INPUT_PARAMETER, value, uri, done, size)
    return uri


def _bucket(target: InputDataTarget, default_uri: str) -> str:
    if target.default_bucket is not None:
        return target.default_bucket()
    try:
        return split_s3_uri(default_uri)[0]
    except ValueError:
        raise UserError(f"cannot stage a local {INPUT_PARAMETER}: the pipeline has no default "
                        "bucket; upload the data to S3 and pass its s3:// URI") from None


def _check_s3(uri: str, is_default: bool, target: InputDataTarget) -> None:
    """Return if data is there (or was seeded, or cannot be checked); else raise UserError."""
    try:
        if target.store.has_objects(uri):
            return
    except (ValueError, OSError) as exc:  # not s3://bucket/key, escaping the local store, ...
        raise UserError(f"{INPUT_PARAMETER}: {_show(exc, 240)}") from None  # names the URI
    except Exception as exc:
        if error_code(exc) not in _DENIED_CODES:
            raise
        log.warning("%s %s: could not check that it exists (%s); starting anyway: the first "
                    "step fails if nothing is there", INPUT_PARAMETER, uri, aws_error_message(exc))
        return
    if is_default and target.sample_data is not None:
        target.store.write_if_absent(uri, target.sample_data(uri))
        log.info("seeded %s with sample data (the default %s; use your own data with %s)",
                 uri, INPUT_PARAMETER, EXAMPLE)
        return
    raise UserError(_missing(uri, is_default, target.store))


def _missing(uri: str, is_default: bool, store: ObjectStore) -> str:
    """One line of at most ~300 characters however long the URI (cut in the middle)."""
    what = " (the pipeline's default; it has no sample data)" if is_default else ""
    if isinstance(store, LocalObjectStore):
        where, fix = "the local store", f"copy your file to {_show(store.path_for(uri), 90)}"
    else:
        where, fix = "S3", f"upload it yourself (aws s3 cp data.csv {_show(uri, 50)})"
    return (f"{INPUT_PARAMETER} {_show(uri, 50)}{what} does not exist in {where}: pass a local "
            f"path ({EXAMPLE}) or {fix}")


def _show(text: object, limit: int = 120) -> str:
    """User-supplied text fit for a one-line message: non-printable characters escaped,
    long text cut in the middle (both ends of a path or URI say the most)."""
    text = str(text)
    if not text.isprintable():
        text = repr(text)[1:-1]
    if len(text) > limit:
        text = f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 1):]}"
    return text
