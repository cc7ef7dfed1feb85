"""Timestamps as SageMaker's Describe* responses carry them (ISO 8601, UTC)."""
from __future__ import annotations

import datetime as dt


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
