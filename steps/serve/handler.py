"""Find and validate the inference handler module that serves a model.

A handler module defines model_fn, input_fn, predict_fn and output_fn, and optionally
`response_content_type(accept)`, the content type output_fn writes for `accept`.

Selection, first match wins: an explicit module path (`--handler` / `SERVE_HANDLER`), else the
model directory's `serving.json` (`{"handler": "steps.stacked_ensemble.inference"}`), written
by the training script beside the model. The file makes a model self-describing, which a
multi-model endpoint needs: one container serves models of different kinds.
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HANDLER_FILE = "serving.json"
HANDLER_FUNCTIONS = ("model_fn", "input_fn", "predict_fn", "output_fn")


class HandlerError(RuntimeError):
    """No handler named, the module does not import, or it lacks a hook."""


@dataclass(frozen=True)
class Handler:
    """The four hooks of one handler module."""

    name: str
    model_fn: Callable[[str], Any]
    input_fn: Callable[[bytes, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    response_content_type: Callable[[str], str] | None = None  # optional: label for output_fn


def load_handler(module_name: str) -> Handler:
    """Import `module_name` and check that it defines the four hooks."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerError(f"cannot import handler module {module_name!r}: {exc}") from exc
    missing = [name for name in HANDLER_FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        raise HandlerError(f"handler module {module_name!r} lacks {', '.join(missing)}; a "
                           f"handler defines {', '.join(HANDLER_FUNCTIONS)}")
    hooks = (getattr(module, name) for name in HANDLER_FUNCTIONS)
    content_type = getattr(module, "response_content_type", None)
    return Handler(module_name, *hooks, content_type if callable(content_type) else None)


def handler_name_for(model_dir: Path, explicit: str | None = None) -> str:
    """The handler module for a model directory: `explicit`, else its `serving.json`."""
    if explicit:
        return explicit
    path = model_dir / HANDLER_FILE
    if not path.is_file():
        raise HandlerError(f"no handler for model {model_dir}: it has no {HANDLER_FILE}; pass "
                           "--handler MODULE (or set SERVE_HANDLER)")
    try:
        name = json.loads(path.read_text(encoding="utf-8"))["handler"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HandlerError(f"{path} must be JSON like {{\"handler\": \"package.module\"}}: "
                           f"{exc}") from exc
    if not isinstance(name, str) or not name:
        raise HandlerError(f"{path}: \"handler\" must be a module path string, got {name!r}")
    return name
