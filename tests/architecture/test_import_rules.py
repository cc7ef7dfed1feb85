"""ARCHITECTURE.md's import rules hold: import-linter's contracts (.importlinter) are kept."""
from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".importlinter"


def test_every_contract_is_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--config", str(CONFIG), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_contracts_cover_every_top_level_package():
    config = configparser.ConfigParser()
    config.read(CONFIG)
    roots = set(config["importlinter"]["root_packages"].split())
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert roots == packages
