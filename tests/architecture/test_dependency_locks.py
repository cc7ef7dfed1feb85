"""The hashed locks that CI (make), CodeBuild and checkov's virtualenv install from pin every
direct requirement at setup.py's version; torch stays out (it is installed first, a CPU build)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _requirements_module():
    spec = importlib.util.spec_from_file_location("docker_requirements",
                                                  REPO / "docker" / "requirements.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


requirements = _requirements_module()
LISTS = requirements.setup_lists((REPO / "setup.py").read_text())


@pytest.mark.parametrize("lock, pins", [
    ("requirements/core.txt", LISTS["CORE"]),
    ("requirements/test.txt", LISTS["CORE"] + LISTS["JOBS"] + LISTS["TOPICS"] + LISTS["LAMBDA"]
     + LISTS["TEST"]),
    ("requirements/checkov.txt", requirements._pins((REPO / "requirements/checkov.in").read_text())),
])
def test_each_lock_pins_its_requirements_with_hashes(lock, pins):
    text = (REPO / lock).read_text()
    assert requirements.lock_problems("\n".join(pins), text) == []


def test_unused_libraries_are_not_pinned():
    pinned = {requirements._name(pin) for pins in LISTS.values() for pin in pins}
    assert not {"simplemma", "lemminflect"} & pinned
