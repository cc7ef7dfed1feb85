"""A tiny inference handler for multi-model tests: answers which model served the request."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def model_fn(model_dir: str) -> dict[str, Any]:
    return json.loads((Path(model_dir) / "model.json").read_text())


def input_fn(body: bytes, content_type: str) -> list[str]:
    return body.decode().splitlines()


def predict_fn(rows: list[str], model: dict[str, Any]) -> dict[str, Any]:
    return {**model, "rows": len(rows)}


def output_fn(prediction: dict[str, Any], accept: str) -> tuple[str, str]:
    return json.dumps(prediction), "application/json"
