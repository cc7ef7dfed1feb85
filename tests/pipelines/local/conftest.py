"""Fixtures for the local runner tests: a local root with fixture code and sample data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.local.store import local_store

from . import definitions

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def local_root(tmp_path: Path) -> Path:
    root = tmp_path / "local"
    store = local_store(root)
    definitions.upload_code(store)
    store.write_bytes(definitions.DATA, definitions.sample_rows())
    return root
