"""Whether a ready step runs, is skipped, or is held (not run), from how its upstream steps
ended: the rule of branches and of run conditions (SDK v3's `StepDependency`) in one place.

- A step on a Condition's branch that was not chosen, or after a skipped step, is skipped.
- A run condition `{"Step": S, "Trigger": Failed | Stopped | Any}` is met when S ended
  Failed, Stopped, or in any of Succeeded/Failed/Stopped; unmet, the step is skipped.
- Every other upstream step must have succeeded; a step after a failed one is not run.
- Once a step has failed, only steps with run conditions (a failure handler, a
  notification) and the steps after them still start; the execution then ends
  CompletedWithFailures when such a step ran on a failure, Failed otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from pipelines.local.definition import StepSpec

TRIGGERED = {"Failed": {"Failed"}, "Stopped": {"Stopped"},
             "Any": {"Succeeded", "Failed", "Stopped"}}


class Decision(Enum):
    RUN = "run"
    SKIP = "skip"
    HOLD = "hold"  # left NotRun: an upstream step did not succeed, or the execution failed


def decide(step: StepSpec, steps: Mapping[str, StepSpec], statuses: Mapping[str, str],
           chosen: Mapping[str, str], execution_failed: bool) -> tuple[Decision, str]:
    """What to do with a step whose upstream steps have all ended, and why (for a skip)."""
    if any(statuses[d] == "Skipped" for d in step.depends_on):
        return Decision.SKIP, "an upstream step was skipped"
    if step.branch_of is not None and chosen.get(step.branch_of[0]) != step.branch_of[1]:
        return Decision.SKIP, "branch not taken"
    plain = step.depends_on - step.run_conditions.keys()
    if any(statuses[d] != "Succeeded" for d in plain):
        return Decision.HOLD, ""
    for upstream, trigger in step.run_conditions.items():
        if statuses[upstream] not in TRIGGERED[trigger]:
            return Decision.SKIP, (f"run condition not met: {upstream} ended "
                                   f"{statuses[upstream]}, not {trigger}")
    if execution_failed and not _after_a_run_condition(step, steps):
        return Decision.HOLD, ""
    return Decision.RUN, ""


def _after_a_run_condition(step: StepSpec, steps: Mapping[str, StepSpec]) -> bool:
    """Whether the step, or a step it depends on (transitively), has run conditions."""
    seen: set[str] = set()
    pending = [step.name]
    while pending:
        current = steps[pending.pop()]
        if current.run_conditions:
            return True
        fresh = current.depends_on - seen
        seen |= fresh
        pending.extend(fresh)
    return False


def ran_on_a_failure(steps: Mapping[str, StepSpec], statuses: Mapping[str, str]) -> bool:
    """Whether a step ran because an upstream step failed or stopped (CompletedWithFailures)."""
    return any(statuses[name] in TRIGGERED["Any"] and any(
        statuses[upstream] in ("Failed", "Stopped") for upstream in step.run_conditions)
        for name, step in steps.items())
