"""`run_local_pipeline`: check a definition, then run its steps in dependency order.

Independent steps run concurrently (threads; at most `max_workers` job steps at once, default
the number of cores; Callback steps waiting for an answer do not count); each job itself is a
subprocess. The first failure stops new steps from starting, except steps with run conditions
(run_conditions.py); running ones finish; the rest are reported as not run. A stop request
ends running steps as Stopped. Only this loop catches StepFailed.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import graphlib
import logging
import os
import secrets
import signal
import string
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipelines.local.callback_queues import CallbackOptions, CallbackQueues, Consumer
from pipelines.local.context import RunContext
from pipelines.local.definition import (
    PipelineGraph,
    StepSpec,
    load_graph,
    parse_definition,
    refuse_unsupported,
)
from pipelines.local.errors import ResolutionError, StepFailed, StepStopped
from pipelines.local.execution import LocalExecution, StepRecord
from pipelines.local.execution_digest import digest_execution, property_file_uri
from pipelines.local.execution_page import write_execution_page
from pipelines.local.executions import recover_interrupted, save_record
from pipelines.local.executors import EXECUTORS, StepExecutor
from pipelines.local.live_view import RunView
from pipelines.local.report import print_summary
from pipelines.local.resolver import Resolver, load_json_document
from pipelines.local.retry import parse_policies
from pipelines.local.run_conditions import TRIGGERED, Decision, decide, ran_on_a_failure
from pipelines.local.selective import Selection, plan_selection
from pipelines.local.step_runner import StepRunner
from pipelines.local.stopping import POLL_SECONDS, StopControl
from pipelines.local.store import local_store
from pipelines.local.timestamps import now_iso
from pipelines.parameter_overrides import resolve_parameters
from runtime.ports.model_registry import LocalModelRegistry
from runtime.ports.object_store import ObjectNotFound

logger = logging.getLogger("pipelines.local")



def run_local_pipeline(definition: str | dict, parameters: dict[str, object] | None = None, *,
                       local_root: str | Path = ".sagemaker-local", use_cache: bool = True,
                       pipeline_name: str | None = None,
                       max_workers: int | None = None,
                       callback_consumers: Mapping[str, Consumer] | None = None,
                       callback_options: CallbackOptions | None = None,
                       lambda_functions: Mapping[str, Callable[..., Any]] | None = None,
                       retry_interval_scale: float = 1.0,
                       live: bool | None = None,
                       selected_steps: list[str] | None = None,
                       source_execution_id: str | None = None) -> LocalExecution:
    """Run a pipeline definition JSON on this machine and return the finished execution.

    Raises InvalidDefinition / InvalidParameters before anything runs; a failing step does
    not raise: the execution's status is Failed and its record says why. A stop (Ctrl-C, or
    `request_stop(local_root)` from anywhere) ends it Stopped.

    Caching: with `use_cache` (the default) every Processing, Training and Tuning step is
    cached, whether or not its definition enables CacheConfig, because locally the cache is
    what lets a re-run resume after a failure; a step whose CacheConfig says
    `"Enabled": false` is never cached, and CacheConfig.ExpireAfter is honoured. Callback and
    Lambda steps are cached only when their CacheConfig enables it, as on SageMaker.
    Condition, Fail and model steps always run. `use_cache=False` runs everything.

    Callback steps deliver to `callback_consumers[queue URL]` (see callback_queues.py; none
    are registered by default); Lambda steps call `lambda_functions[ARN or name]`.
    `retry_interval_scale` multiplies RetryPolicies' waits (tests use a small one). `live`:
    a live table (default: when stderr is a terminal), else plain log lines.

    Parameters are used as given: input data must already be in the store under the URIs
    they name (`run-pipeline` stages and checks it first, pipelines/input_data.py).

    `selected_steps`: a selective execution (selective.py): only those steps run, the steps
    they depend on come from `source_execution_id` (default: the latest ended execution).
    """
    if retry_interval_scale < 0:
        raise ValueError(f"retry_interval_scale must not be negative, got {retry_interval_scale}")
    document = parse_definition(definition)
    graph = load_graph(document, EXECUTORS)
    refuse_unsupported(graph, EXECUTORS)
    for step in graph.steps.values():
        parse_policies(step.name, step.raw.get("RetryPolicies"))
    values = resolve_parameters(graph.parameters, parameters)
    root = Path(local_root).resolve()
    name = pipeline_name or document.get("PipelineName") or "local-pipeline"
    selection = (plan_selection(graph, selected_steps, root, name, source_execution_id)
                 if selected_steps else None)
    execution_id = "".join(secrets.choice(string.ascii_lowercase + string.digits)
                           for _ in range(12))
    execution = LocalExecution(
        pipeline_name=name, execution_id=execution_id, local_root=str(root),
        execution_arn=(f"arn:aws:sagemaker:local:000000000000:pipeline/{name.lower()}"
                       f"/execution/{execution_id}"),
        steps={n: StepRecord(n, s.type) for n, s in graph.steps.items()})
    run = RunContext(
        root=root, store=local_store(root), registry=LocalModelRegistry(root),
        execution=execution, stop=StopControl(root, execution_id),
        callbacks=CallbackQueues(callback_consumers or {}, root,
                                 callback_options or CallbackOptions(), logger),
        lambda_functions=dict(lambda_functions or {}),
        max_workers=max_workers or os.cpu_count() or 1, use_cache=use_cache,
        retry_interval_scale=retry_interval_scale, logger=logger)
    _Run(graph, values, run, live, selection).run()
    return execution


class _Run:
    def __init__(self, graph: PipelineGraph, parameters: Mapping[str, Any], run: RunContext,
                 live: bool | None, selection: Selection | None = None):
        self.graph = graph
        self.selection = selection
        self.parameters = parameters
        self.run_context = run
        self.execution = execution = run.execution
        self.store = run.store
        self.root = root = run.root
        self.stop = run.stop
        # Waiting steps (a Callback's) hold no job slot: a step waiting for a review does not
        # keep jobs from running.
        self.job_slots = threading.BoundedSemaphore(run.max_workers)
        self.pool_size = run.max_workers + sum(_executor(s).waits for s in graph.steps.values())
        self.properties: dict[str, Mapping[str, Any]] = {}
        self.chosen: dict[str, str] = {}  # branching step -> the branch it chose
        self.lock = threading.Lock()
        execution.start_time = now_iso()
        self.stop_hint = (f"stop it with Ctrl-C or: run-pipeline --local --local-root {root} "
                          f"--stop {execution.execution_id}")
        self.view = RunView(execution, self.stop_hint, live=live)
        variables = {"ExecutionId": execution.execution_id,
                     "PipelineExecutionId": execution.execution_id,
                     "PipelineExecutionArn": execution.execution_arn,
                     "PipelineName": execution.pipeline_name,
                     "PipelineArn": execution.execution_arn.partition("/execution/")[0],
                     "StartDateTime": execution.start_time, "CurrentDateTime": now_iso}
        symbolic = {k: f"{{Execution.{k}}}" for k in variables}
        sources = (self._step_properties, self._read_property_file, self._read_json)
        self.step_runner = StepRunner(run, Resolver(parameters, variables, *sources),
                                      Resolver(parameters, symbolic, *sources))

    def run(self) -> None:
        logger.info("execution %s started (local root %s); %s", self.execution.execution_id,
                    self.root, self.stop_hint)
        recover_interrupted(self.root)
        self.stop.mark_running()
        save_record(self.root, self.execution)  # Executing: a killed runner leaves a record
        previous = self._trap_sigint()
        try:
            with self.view:
                failed, stopped = self._schedule()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.run_context.callbacks.close()
            self.stop.finish()
        self._finish(failed, stopped)

    def _schedule(self) -> tuple[list[StepFailed], bool]:
        sorter = self.graph.sorter()
        failed: list[StepFailed] = []
        stopping = False
        with cf.ThreadPoolExecutor(max_workers=self.pool_size) as pool:
            running: dict[cf.Future, str] = {}
            while sorter.is_active():
                if not stopping and self.stop.requested:
                    stopping = True
                    logger.warning("stopping execution %s: running steps are stopped and no "
                                   "new step starts", self.execution.execution_id)
                if not stopping:
                    started = self._ready(sorter, bool(failed))
                    for name in started:
                        self.execution.steps[name].status = "Executing"
                        running[pool.submit(self._run_step, self.graph.steps[name])] = name
                    if started:
                        save_record(self.root, self.execution)
                if not running:
                    break
                done, _ = cf.wait(running, timeout=POLL_SECONDS,
                                  return_when=cf.FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    try:
                        future.result()
                    except StepFailed as exc:
                        self._record_failure(exc)
                        if not isinstance(exc, StepStopped):
                            failed.append(exc)
                    sorter.done(name)
                    save_record(self.root, self.execution)
        return failed, stopping

    def _trap_sigint(self) -> Any:
        """Ctrl-C stops the execution; a second Ctrl-C exits at once (jobs die with us)."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigint(signum: int, frame: Any) -> None:
            if self.stop.requested:
                logger.error("second Ctrl-C: exiting now; run again to resume")
                os._exit(130)
            logger.warning("Ctrl-C: stopping the execution (Ctrl-C again to exit at once)")
            self.stop.request()

        return signal.signal(signal.SIGINT, on_sigint)

    def _ready(self, sorter: graphlib.TopologicalSorter, failed: bool) -> list[str]:
        """Ready steps to start; those run_conditions.decide skips are marked here, those it
        holds stay NotRun."""
        startable = []
        statuses = {name: record.status for name, record in self.execution.steps.items()}
        ready = list(sorter.get_ready())
        while ready:
            for name in ready:
                if self.selection is not None and name not in self.selection.steps:
                    statuses[name] = self._not_selected(name)
                    sorter.done(name)
                    continue
                decision, why = decide(self.graph.steps[name], self.graph.steps, statuses,
                                      self.chosen, failed)
                if decision is Decision.SKIP:
                    record = self.execution.steps[name]
                    record.status = statuses[name] = "Skipped"
                    record.summary = why
                    sorter.done(name)
                elif decision is Decision.RUN:
                    startable.append(name)
            ready = list(sorter.get_ready())
        return startable

    def _not_selected(self, name: str) -> str:
        """A step outside a selective execution: its source outputs when the selection needs
        them (Succeeded), else Skipped."""
        record = self.execution.steps[name]
        reused = self.selection.reused.get(name) if self.selection else None
        if reused is None:
            record.status, record.summary = "Skipped", "not selected"
            return record.status
        branch = _executor(self.graph.steps[name]).chosen_branch(reused)
        with self.lock:
            self.properties[name] = reused
            if branch is not None:
                self.chosen[name] = branch
        record.status, record.cached, record.properties = "Succeeded", True, dict(reused)
        record.summary = f"from execution {self.selection.source_execution_id}"
        return record.status

    def _run_step(self, step: StepSpec) -> None:
        record = self.execution.steps[step.name]
        executor = _executor(step)
        slot = contextlib.nullcontext() if executor.waits else self.job_slots
        with slot:
            record.start_time = now_iso()
            started = time.monotonic()
            self.view.started(step.name)
            logger.info("step %s (%s) started", step.name, step.type)
            try:
                outcome = self.step_runner.run(step, record,
                                               functools.partial(self.view.note, step.name))
            finally:
                record.end_time = now_iso()
                record.duration_s = round(time.monotonic() - started, 3)
        with self.lock:
            self.properties[step.name] = outcome.properties
            branch = executor.chosen_branch(outcome.properties)
            if branch is not None:
                self.chosen[step.name] = branch
        record.status, record.cached, record.properties, record.summary = (
            "Succeeded", outcome.cached, dict(outcome.properties), outcome.summary)
        logger.info("step %s (%s) Succeeded in %.1fs%s", step.name, step.type,
                    record.duration_s, " (cached)" if outcome.cached else "")

    def _record_failure(self, exc: StepFailed) -> None:
        record = self.execution.steps[exc.step_name]
        record.status, record.failure_reason, record.log_path = exc.status, exc.reason, exc.log_path
        log = logger.warning if isinstance(exc, StepStopped) else logger.error
        log("step %s (%s) %s in %.1fs: %s%s", exc.step_name, record.type, exc.status,
            record.duration_s or 0.0, exc.reason, f" (log: {exc.log_path})" if exc.log_path else "")

    def _finish(self, failed: list[StepFailed], stopped: bool) -> None:
        execution = self.execution
        execution.end_time = now_iso()
        statuses = {name: record.status for name, record in execution.steps.items()}
        execution.status = ("Stopped" if stopped else "Succeeded" if not failed
                            else "CompletedWithFailures"
                            if ran_on_a_failure(self.graph.steps, statuses) else "Failed")
        if failed:
            first = failed[0]
            own_reason = _executor(self.graph.steps[first.step_name]).failure_is_execution_reason
            execution.failure_reason = (first.reason if own_reason
                                        else f"step {first.step_name} failed: {first.reason}")
        if stopped:
            self._note_stop_handlers(statuses)
        ran = sum(r.status in ("Succeeded", "Failed", "Stopped")
                  for r in execution.steps.values())
        skipped = sum(r.status == "Skipped" for r in execution.steps.values())
        logger.info("execution %s %s: completed %d of %d steps%s", execution.execution_id,
                    execution.status, ran, len(execution.steps),
                    f" ({skipped} skipped: branch not taken or run condition not met)"
                    if skipped else "")
        if execution.not_run:
            logger.warning("did not run: %s; run again to resume (finished steps come from "
                           "the cache)", ", ".join(execution.not_run))
        save_record(self.root, execution)
        digest = digest_execution(execution, {n: s.raw for n, s in self.graph.steps.items()},
                                  self.store)
        try:
            page = write_execution_page(execution, self.graph, self.parameters, digest)
        except OSError as exc:  # the run is recorded; a page it cannot write is no failure
            logger.warning("execution page not written: %s", exc)
            page = None
        print_summary(execution, digest, page)

    def _note_stop_handlers(self, statuses: Mapping[str, str]) -> None:
        """Say why a step whose run condition a stop met did not run: a local execution starts
        no step after a stop, where SageMaker would start it (the one difference in run
        conditions; README, 'What runs locally')."""
        for name, step in self.graph.steps.items():
            met = [upstream for upstream, trigger in step.run_conditions.items()
                   if statuses[upstream] == "Stopped" and "Stopped" in TRIGGERED[trigger]]
            if met and statuses[name] == "NotRun":
                self.execution.steps[name].summary = (
                    f"not run: its run condition on {', '.join(met)} (Stopped) was met, but a "
                    "local execution starts no step after a stop (SageMaker would start it)")

    def _step_properties(self, name: str) -> Mapping[str, Any]:
        with self.lock:
            if name not in self.properties:
                raise ResolutionError(f"step {name} has not run in this execution")
            return self.properties[name]

    def _read_property_file(self, step_name: str, file_name: str) -> Any:
        spec = self.graph.steps[step_name]
        declared = {p["PropertyFileName"]: p for p in spec.raw.get("PropertyFiles") or []}
        if file_name not in declared:
            raise ResolutionError(f"step {step_name} declares no PropertyFile {file_name!r} "
                                  f"(declared: {', '.join(declared) or 'none'})")
        return self._read_json(property_file_uri(declared[file_name],
                                                 self._step_properties(step_name)))

    def _read_json(self, uri: str) -> Any:
        try:
            return load_json_document(self.store.read_bytes(uri), uri)
        except ObjectNotFound as exc:
            raise ResolutionError(f"no object at {uri}") from exc


def _executor(step: StepSpec) -> StepExecutor:
    return EXECUTORS[step.type]()
