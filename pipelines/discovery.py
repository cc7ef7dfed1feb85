"""Find and load pipeline modules by name, with a helpful error for a wrong name."""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pipelines
from runtime.errors import UserError


def available_pipeline_modules() -> list[str]:
    """Every `pipelines.<name>.pipeline` module in this package."""
    root = Path(pipelines.__file__).parent
    return sorted(f"pipelines.{path.parent.name}.pipeline" for path in root.glob("*/pipeline.py"))


def load_pipeline_module(module_name: str) -> ModuleType:
    """Import a module that defines `get_pipeline`; list the known pipelines if it can't."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UserError(f"no pipeline module {module_name!r}; available: "
                            f"{', '.join(available_pipeline_modules())}") from None
        raise
    if not callable(getattr(module, "get_pipeline", None)):
        raise UserError(f"module {module_name!r} has no get_pipeline(); available: "
                        f"{', '.join(available_pipeline_modules())}")
    return module


def build_pipeline(module: ModuleType, kwargs: dict[str, Any]) -> Any:
    """`module.get_pipeline(**kwargs)`; kwargs it does not take, or values it rejects, are a
    UserError naming the module (a TypeError from deeper down is a bug and propagates)."""
    try:
        return module.get_pipeline(**kwargs)
    except TypeError as exc:
        if "get_pipeline()" in str(exc):
            raise UserError(f"--kwargs do not fit {module.__name__}.get_pipeline: {exc}") from exc
        raise
    except ValueError as exc:
        raise UserError(f"{module.__name__}.get_pipeline rejected --kwargs: {exc}") from exc
