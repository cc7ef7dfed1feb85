"""RetryPolicies: failures of the named types are retried with backoff, AlgorithmErrors never."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local import InvalidDefinition, run_local_pipeline
from pipelines.local.retry import RetryPolicy
from pipelines.local.store import local_store

from . import definitions as d
from . import runner_fixtures as f

pytestmark = pytest.mark.integration

INTERNAL = "SageMaker.JOB_INTERNAL_ERROR"


def _run(root: Path, definition: dict):
    return run_local_pipeline(definition, local_root=root, live=False,
                              retry_interval_scale=0.01)


class TestJobRetries:
    def test_a_job_killed_by_a_signal_is_retried_and_succeeds(self, local_root, tmp_path):
        counter = tmp_path / "attempts"
        execution = _run(local_root, f.processing_with_retry(
            counter, kill_first=1, policies=[f.job_policy(INTERNAL, max_attempts=2)]))

        record = execution.steps["Flaky"]
        assert execution.status == "Succeeded", execution.failure_reason
        assert record.attempts == 2
        assert counter.read_text() == "2"
        done = local_store(local_root).read_bytes(f"s3://{d.BUCKET}/flaky/out/done.txt")
        assert done == b"attempt 2\n"

    def test_retries_stop_at_max_attempts(self, local_root, tmp_path):
        counter = tmp_path / "attempts"
        execution = _run(local_root, f.processing_with_retry(
            counter, kill_first=5, policies=[f.job_policy(INTERNAL, max_attempts=2)]))

        record = execution.steps["Flaky"]
        assert record.status == "Failed"
        assert record.attempts == 3  # the first try and 2 retries
        assert record.failure_reason == (
            "the job was killed by SIGKILL (the kernel's OOM killer sends SIGKILL)")

    def test_a_policy_for_other_types_does_not_retry(self, local_root, tmp_path):
        counter = tmp_path / "attempts"
        execution = _run(local_root, f.processing_with_retry(
            counter, kill_first=1, policies=[f.job_policy("Step.SERVICE_FAULT")]))

        assert execution.steps["Flaky"].attempts == 1
        assert execution.status == "Failed"

    def test_a_script_error_is_never_retried(self, local_root, tmp_path):
        counter = tmp_path / "attempts"
        execution = _run(local_root, f.processing_with_retry(
            counter, exit_code=3, policies=[f.job_policy(INTERNAL, "SageMaker.CAPACITY_ERROR",
                                                         "Step.SERVICE_FAULT")]))

        record = execution.steps["Flaky"]
        assert record.attempts == 1
        assert counter.read_text() == "1"
        assert record.failure_reason == "attempt 1: failing on purpose"


class TestPolicyDefinition:
    @pytest.mark.parametrize("policy, message", [
        ({"ExceptionType": ["SageMaker.OOPS"], "MaxAttempts": 1},
         r"step 'Flaky' RetryPolicies\[0\]: ExceptionType \['SageMaker.OOPS'\] must list some "
         r"of Step.SERVICE_FAULT, Step.THROTTLING, SageMaker.JOB_INTERNAL_ERROR"),
        ({"ExceptionType": [INTERNAL]},
         r"step 'Flaky' RetryPolicies\[0\] needs exactly one of MaxAttempts and ExpireAfterMin"),
        ({"ExceptionType": [INTERNAL], "MaxAttempts": "twice"},
         r"step 'Flaky' RetryPolicies\[0\]: invalid literal for int\(\) with base 10: 'twice'"),
    ])
    def test_invalid_policies_are_rejected_before_anything_runs(self, local_root, tmp_path,
                                                                policy, message):
        definition = f.processing_with_retry(tmp_path / "attempts", policies=[policy])
        with pytest.raises(InvalidDefinition, match=message):
            _run(local_root, definition)
        assert not (tmp_path / "attempts").exists()

    def test_waits_grow_by_the_backoff_rate(self):
        policy = RetryPolicy(frozenset({INTERNAL}), interval_seconds=2, backoff_rate=3,
                             max_attempts=3)
        assert [policy.wait_before(n) for n in (1, 2, 3)] == [2, 6, 18]
        assert [policy.allows(n, 0.0) for n in (3, 4)] == [True, False]
        expiring = RetryPolicy(frozenset({INTERNAL}), expire_after_min=1)
        assert [expiring.allows(9, s) for s in (59.0, 60.0)] == [True, False]
