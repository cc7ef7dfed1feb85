"""Build the deploy function's zip, byte for byte the same from the same sources.

    python -m lambdas.deploy_on_approval.package [--output dist/deploy-on-approval.zip]

Only our code: the handler, the deployment planning modules and the ports they use; boto3
comes with the Lambda runtime. `pipelines.deployment.local` (the serve module) and the CLI stay
out. Upload the zip under a key naming its SHA-256 (printed) so a stack update sees new code.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from lambdas.build_package import REPO, build_zip

DEFAULT_OUTPUT = REPO / "dist" / "deploy-on-approval.zip"
SOURCES = (
    "lambdas/__init__.py",
    "lambdas/deploy_on_approval/__init__.py",
    "lambdas/deploy_on_approval/events.py",
    "lambdas/deploy_on_approval/handler.py",
    "lambdas/deploy_on_approval/settings.py",
    "pipelines/deployment/__init__.py",
    "pipelines/deployment/endpoints.py",
    "pipelines/deployment/errors.py",
    "pipelines/deployment/multi_model.py",
    "pipelines/deployment/naming.py",
    "pipelines/deployment/plan.py",
    "pipelines/deployment/requests.py",
    "pipelines/ports/__init__.py",
    "pipelines/ports/model_registry.py",
    "pipelines/ports/object_store.py",
    "pipelines/ports/uris.py",
    "steps/multi_model/__init__.py",
    "steps/multi_model/contract.py",
)
PACKAGE_MARKERS = {
    "pipelines/__init__.py": '"""Only deployment planning and the run-time ports travel here."""\n',
    "steps/__init__.py": '"""Only the multi-model contract travels with the function."""\n',
}


def package_files(repo: Path = REPO) -> dict[str, bytes]:
    """Archive name -> content."""
    files = {name: text.encode("utf-8") for name, text in PACKAGE_MARKERS.items()}
    for source in SOURCES:
        path = repo / source
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; the deploy function needs it")
        files[source] = path.read_bytes()
    return files


def write_package(output: Path) -> str:
    """Write the zip atomically; return its SHA-256."""
    data = build_zip(package_files())
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=output.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, output)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    digest = write_package(args.output)
    print(f"{args.output}  sha256={digest}")
    print(f"suggested CodeKey: lambdas/deploy-on-approval-{digest[:16]}.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
