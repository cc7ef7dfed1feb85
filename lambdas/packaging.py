"""A Lambda function's deployment zip, by rule: its handler plus what it imports of ours.

The zip holds `lambdas/<function>/handler.py` and every first-party module it imports,
directly or through other modules (`runtime/` ports and planning, `steps/` contracts and
schemas), found by reading the import statements, with their packages' `__init__.py`: no hand
list to keep in step with the code. Nothing of `pipelines/` may be reached (it needs the
SageMaker SDK); a function that reaches it is refused, naming the import. boto3 comes with the
Lambda runtime, Powertools and pydantic from AWS's public layer (lambdas/template.yaml), so
the zip is our code only and the same on any build machine: entries sorted, timestamps fixed
at 1980-01-01, permissions 0644.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import zipfile
from pathlib import Path

from steps.common.atomic import write_bytes_atomic

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("lambdas", "runtime", "steps")
NEVER = ("pipelines",)
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _module_file(module: str, repo: Path) -> Path | None:
    base = repo.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path, module: str) -> list[str]:
    """Every module name an import statement of `path` names (a `from a import b` names both
    `a` and `a.b`: b may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return names


def module_files(entry: str, repo: Path = REPO) -> dict[str, Path]:
    """Module name -> file, for `entry` and every first-party module it reaches."""
    found: dict[str, Path] = {}
    pending = [entry]
    while pending:
        module = pending.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # the module and its parent packages
            name = ".".join(parts[:depth])
            if name in found:
                continue
            if parts[0] in NEVER:
                raise ValueError(f"{entry} reaches {name}: a Lambda may not import "
                                 f"{'/'.join(NEVER)}/ (see ARCHITECTURE.md)")
            path = _module_file(name, repo)
            if path is None:
                continue
            found[name] = path
            pending += [n for n in _imported(path, name) if n.split(".")[0] in FIRST_PARTY + NEVER]
    return found


def package_files(function: str, repo: Path = REPO) -> dict[str, bytes]:
    """Archive name -> content: the function's handler and what it imports of ours."""
    handler = f"lambdas.{function}.handler"
    if _module_file(handler, repo) is None:
        raise FileNotFoundError(f"{repo / 'lambdas' / function} has no handler.py")
    return {path.relative_to(repo).as_posix(): path.read_bytes()
            for path in module_files(handler, repo).values()}


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


def write_package(function: str, output: Path) -> str:
    """Write the function's zip atomically; return its SHA-256."""
    data = build_zip(package_files(function))
    write_bytes_atomic(output, data)
    return hashlib.sha256(data).hexdigest()


def main(function: str, argv: list[str] | None = None) -> int:
    """`python -m lambdas.<...>`: build `dist/<function>.zip` and print its digest."""
    name = function.replace("_", "-")
    default = REPO / "dist" / f"{name}.zip"
    parser = argparse.ArgumentParser(description=f"Build the {name} Lambda's deployment zip.")
    parser.add_argument("--output", type=Path, default=default,
                        help=f"zip to write (default {default.relative_to(REPO)})")
    args = parser.parse_args(argv)
    digest = write_package(function, args.output)
    print(f"{args.output}  sha256={digest}")
    print(f"suggested CodeKey: lambdas/{name}-{digest[:16]}.zip")
    return 0
