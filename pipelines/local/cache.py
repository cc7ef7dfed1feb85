"""The step cache: a re-run reuses what an earlier run of the same step already produced.

Key: the step's type, its resolved arguments with execution variables left symbolic (so
`--run-id <execution id>` does not defeat resume) and a content hash of the code objects it
stages. A hit also needs the entry to be younger than the definition's CacheConfig
ExpireAfter (when given) and the step's artifacts to be still in the store. Entries are JSON
under `<local_root>/cache/<step>/<key>.json`, written atomically.
As on SageMaker, data content is not part of the key: a step that re-runs and rewrites the
same output URIs leaves downstream entries valid (run with use_cache=False to redo all).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steps.common.atomic import write_bytes_atomic

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def cache_key(step_type: str, key_arguments: Any, code_hash: str) -> str:
    document = json.dumps({"Type": step_type, "Arguments": key_arguments, "Code": code_hash},
                          sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()


def expire_after(cache_config: Mapping[str, Any] | None) -> dt.timedelta | None:
    """CacheConfig.ExpireAfter (ISO 8601 duration, e.g. P30D, PT1H) as a timedelta."""
    text = (cache_config or {}).get("ExpireAfter")
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return dt.timedelta(days=365 * years + 30 * months + 7 * weeks + days, hours=hours,
                        minutes=minutes, seconds=seconds)


class StepCache:
    def __init__(self, local_root: Path):
        self.root = local_root / "cache"

    def lookup(self, step_name: str, key: str,
               max_age: dt.timedelta | None) -> dict[str, Any] | None:
        path = self.root / step_name / f"{key}.json"
        if not path.is_file():
            return None
        entry = json.loads(path.read_text())
        created = dt.datetime.fromisoformat(entry["CreatedAt"])
        if max_age is not None and dt.datetime.now(dt.UTC) - created > max_age:
            return None
        return entry

    def save(self, step_name: str, key: str, properties: Mapping[str, Any],
             execution_arn: str) -> None:
        entry = {"StepName": step_name, "Key": key, "ExecutionArn": execution_arn,
                 "CreatedAt": dt.datetime.now(dt.UTC).isoformat(),
                 "Properties": properties}
        write_bytes_atomic(self.root / step_name / f"{key}.json",
                     json.dumps(entry, indent=2, default=str).encode())
