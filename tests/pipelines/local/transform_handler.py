"""A serve-contract handler for the transform tests: score = coef x the sum of the features.

CSV rows of numbers, or JSON lines `{"features": [...]}` / `[...]`, in; one score per line
out, as CSV or as JSON lines `{"score": s}`. `calls` counts the requests it answered.
"""
from __future__ import annotations

import json
from pathlib import Path

calls: list[int] = []


def model_fn(model_dir: str) -> float:
    return json.loads(Path(model_dir, "model.json").read_text())["coef"]


def input_fn(body: bytes, content_type: str) -> list[list[float]]:
    lines = [line for line in body.decode().splitlines() if line.strip()]
    if content_type == "text/csv":
        return [[float(x) for x in line.split(",")] for line in lines]
    rows = [json.loads(line) for line in lines]
    return [row["features"] if isinstance(row, dict) else row for row in rows]


def predict_fn(rows: list[list[float]], coef: float) -> list[float]:
    calls.append(len(rows))
    if any(not row for row in rows):
        raise ValueError("a row without features")
    return [coef * sum(row) for row in rows]


def output_fn(scores: list[float], accept: str) -> str:
    if accept == "text/csv":
        return "\n".join(f"{s:g}" for s in scores)
    return "\n".join(json.dumps({"score": s}) for s in scores)
