"""What every quality gate reports: named checks, how many failed, and one line to quote.

A pipeline's condition step reads `gate.failed` (0 registers the model) and its Fail step
quotes `gate.message`, so each gate's section of the evaluation report has one shape:
`{"passed", "failed", "message", <the gate's own settings and figures>, "checks": [...]}`,
each check `{"name", "passed", "text", <its figures>}`. The tabular gate
(steps/common/tabular_gate.py) and the topic gate (steps/sequential_topics/topic_gate.py)
decide differently and report alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Where the pipelines' condition and Fail step read the verdict in evaluation.json.
GATE_FAILED_JSON_PATH = "gate.failed"    # the number of checks that failed: 0 to register
GATE_MESSAGE_JSON_PATH = "gate.message"  # one line quoting the figures
# SageMaker's FailureReason holds at most 1024 characters; the Fail step adds its own words.
MAX_MESSAGE_CHARS = 900


@dataclass(frozen=True)
class Check:
    """One check of a gate: its name, whether it passed, one phrase saying why, its figures."""

    name: str
    passed: bool
    text: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "text": self.text, **self.figures}


def gate_section(checks: list[Check], message: str, **details: Any) -> dict[str, Any]:
    """The report's gate section: the verdict over `checks`, the one-line `message` (cut to
    MAX_MESSAGE_CHARS, the cut marked) and the gate's own `details` (settings, figures)."""
    failed = sum(not check.passed for check in checks)
    line = " ".join(message.split())
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[:MAX_MESSAGE_CHARS - 3] + "..."
    return {"passed": not failed, "failed": failed, "message": line, **details,
            "checks": [check.to_json() for check in checks]}
