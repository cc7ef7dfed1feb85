"""Build the mapping callback's deployment zip, byte for byte the same from the same sources.

    python -m lambdas.build_package [--output dist/mapping-callback.zip]

The zip holds only our code: the handler package, the mapping schema, the bounded JSON parser
(steps/common/structure.py) and the ports it imports.
boto3 comes with the Lambda runtime; Powertools (with pydantic, compiled for the runtime) comes
from AWS's public Powertools layer, which lambdas/template.yaml attaches, so the zip is the same
on any build machine. Entries are sorted, timestamps fixed at 1980-01-01 and permissions 0644.
The parent packages `pipelines` and `steps` get docstring-only `__init__.py` files, so the
function never imports definition-side code. Upload the zip under a key that names its SHA-256
(printed) so a CloudFormation update sees new code.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "dist" / "mapping-callback.zip"
SOURCES = (
    "lambdas/__init__.py",
    "lambdas/mapping_callback",
    "pipelines/ports/__init__.py",
    "pipelines/ports/callbacks.py",
    "pipelines/ports/object_store.py",
    "pipelines/ports/uris.py",
    "steps/common/structure.py",
    "steps/sequential_topics/__init__.py",
    "steps/sequential_topics/mapping_schema.py",
)
PACKAGE_MARKERS = {
    "pipelines/__init__.py": '"""Only the run-time ports travel with the Lambda."""\n',
    "steps/__init__.py": '"""Only the mapping schema travels with the Lambda."""\n',
    "steps/common/__init__.py": '"""Only the bounded JSON parsing travels with the Lambda."""\n',
}
_EPOCH = (1980, 1, 1, 0, 0, 0)


def package_files(repo: Path = REPO) -> dict[str, bytes]:
    """Archive name -> content, for every file the function needs."""
    files = dict((name, text.encode("utf-8")) for name, text in PACKAGE_MARKERS.items())
    for source in SOURCES:
        path = repo / source
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; the Lambda package needs it")
        paths = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in paths:
            if "__pycache__" not in file.parts:
                files[file.relative_to(repo).as_posix()] = file.read_bytes()
    return files


def build_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def write_package(output: Path) -> str:
    """Write the zip atomically; return its SHA-256."""
    data = build_zip(package_files())
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=output.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the zip is meant to be uploaded
    os.replace(tmp, output)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"zip to write (default {DEFAULT_OUTPUT.relative_to(REPO)})")
    args = parser.parse_args(argv)
    digest = write_package(args.output)
    print(f"{args.output}  sha256={digest}")
    print(f"suggested CodeKey: lambdas/mapping-callback-{digest[:16]}.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
