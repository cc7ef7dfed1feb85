"""Build a module's definition with its AWS calls answered locally, keeping what it uploads.

A SageMaker Projects template module builds its own PipelineSession and uploads code while
`definition()` runs. `capture_definition` runs that build with every AWS call routed to the
local object store (aws_routing.py), so the uploads land in the local store exactly where the
definition says and the local run finds them; `build_offline` does the same into a throwaway
store, for a definition wanted without AWS (`get-pipeline-definition --offline`,
`validate-pipelines`). Either way nothing reaches AWS and no credentials are needed.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.discovery import build_pipeline
from pipelines.local.aws_routing import LocalAws, routed_to_local
from pipelines.local.store import local_store
from pipelines.session import session_mode


def capture_definition(build: Callable[[], str], local_root: str | Path) -> str:
    """Run `build` (returns the definition JSON); its S3 uploads land under `local_root`."""
    with routed_to_local(LocalAws(local_store(local_root))):
        return build()


def build_offline(build: Callable[[], str]) -> str:
    """Run `build` with its AWS calls answered locally and its uploads discarded."""
    with tempfile.TemporaryDirectory(prefix="definition-uploads-") as scratch:
        return capture_definition(build, scratch)


def offline_definition(module: ModuleType, kwargs: dict[str, Any]) -> str:
    """The definition JSON of any module `run-pipeline --local` can run, built without AWS:
    our modules in the offline session mode, a template-style one with its calls answered
    locally (a call other than S3 and the step callbacks is refused, naming it)."""
    with session_mode("offline"):
        return build_offline(lambda: build_pipeline(module, kwargs).definition())
