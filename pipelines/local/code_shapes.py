"""Find the code a training job runs, in the three shapes SDK v3 emits, and build its command.

1. ModelTrainer with source code: ContainerEntrypoint runs `sm_drivers/sm_train.sh`, which
   (see sagemaker/train/templates.py) cds into the `code` channel and runs either
   SourceCode.command or the basic script driver: `python <entry_script> --hp value ...`.
   We emulate that script from `sm_drivers/sourcecode.json` instead of running bash with
   hard-coded /opt/ml paths.
2. Any other ContainerEntrypoint: run it with container paths mapped.
3. Tuner/framework legacy mode: hyperparameters `sagemaker_program` and
   `sagemaker_submit_directory` (a sourcedir.tar.gz): extract to /opt/ml/code, put it on
   PYTHONPATH and run the program with the user hyperparameters as `--key value`.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.errors import ResolutionError
from pipelines.local.jobs import ContainerPaths, command_line
from pipelines.local.staging import extract_tar_gz, stage_prefix
from runtime.ports.object_store import LocalObjectStore

SM_TRAIN_SCRIPT = "sm_drivers/sm_train.sh"
CODE_CHANNEL = "/opt/ml/input/data/code"
DRIVERS_CHANNEL = "/opt/ml/input/data/sm_drivers"
LEGACY_CODE_DIR = "/opt/ml/code"


class CodeNotFound(ValueError):
    """The training job names no code the runner can run; the message says why."""


@dataclass(frozen=True)
class JobCommand:
    command: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def deserialize(value: Any) -> Any:
    """sagemaker-training's rule: a JSON-decodable string becomes its value, else stays."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def serialize(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def hyperparameter_args(hyperparameters: Mapping[str, str]) -> list[str]:
    """`--key value` pairs with JSON-quoted strings decoded, as the toolkit passes them."""
    args: list[str] = []
    for key, value in hyperparameters.items():
        args += [f"--{key}", serialize(deserialize(value))]
    return args


def user_hyperparameters(hyperparameters: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}


def job_command(algorithm: Mapping[str, Any], hyperparameters: Mapping[str, str],
                store: LocalObjectStore, paths: ContainerPaths) -> JobCommand:
    """Choose the shape from the (resolved) AlgorithmSpecification and hyperparameters."""
    entrypoint = algorithm.get("ContainerEntrypoint") or []
    arguments = algorithm.get("ContainerArguments") or []
    if entrypoint and any(SM_TRAIN_SCRIPT in str(a) for a in [*entrypoint, *arguments]):
        return _model_trainer_command(hyperparameters, paths)
    if entrypoint:
        return JobCommand(command_line(entrypoint, arguments, paths), paths.root)
    if "sagemaker_program" in hyperparameters:
        return _legacy_command(hyperparameters, store, paths)
    raise CodeNotFound(
        "the training job names no code: no ContainerEntrypoint and no sagemaker_program "
        f"hyperparameter; a built-in algorithm image ({algorithm.get('TrainingImage')}) cannot "
        "run locally")


def _model_trainer_command(hyperparameters: Mapping[str, str],
                           paths: ContainerPaths) -> JobCommand:
    drivers = paths.local(DRIVERS_CHANNEL)
    source_code = _read_json(drivers / "sourcecode.json")
    if _read_json(drivers / "distributed.json"):
        raise CodeNotFound("distributed training drivers (torchrun, MPI) do not run locally; "
                           "drop ModelTrainer(distributed=...) for local runs")
    code_dir = paths.local(CODE_CHANNEL)
    notes = []
    source_dir = source_code.get("source_dir") or ""
    if source_dir.endswith(".tar.gz"):
        extract_tar_gz((code_dir / os.path.basename(source_dir)).read_bytes(), code_dir)
    if source_code.get("requirements"):
        notes.append(f"skipped installing {source_code['requirements']}: local jobs use the "
                     "current environment")
    cwd = code_dir if source_dir else paths.root
    env = {"SM_SOURCE_DIR": CODE_CHANNEL, "SM_ENTRY_SCRIPT": source_code.get("entry_script") or ""}
    if source_code.get("command"):
        parts = shlex.split(source_code["command"]) + [str(a) for a in
                                                       source_code.get("args") or []]
        return JobCommand(command_line(parts, [], paths), cwd, env, tuple(notes))
    entry = source_code.get("entry_script")
    if not entry:
        raise CodeNotFound("sm_drivers/sourcecode.json names neither command nor entry_script")
    args = hyperparameter_args(hyperparameters)
    runner = [sys.executable] if entry.endswith(".py") else ["/bin/sh"]
    return JobCommand([*runner, entry, *args], cwd, env, tuple(notes))


def _legacy_command(hyperparameters: Mapping[str, str], store: LocalObjectStore,
                    paths: ContainerPaths) -> JobCommand:
    program = str(deserialize(hyperparameters["sagemaker_program"]))
    submit = deserialize(hyperparameters.get("sagemaker_submit_directory", ""))
    code_dir = paths.local(LEGACY_CODE_DIR)
    code_dir.mkdir(parents=True, exist_ok=True)
    if not submit:
        raise CodeNotFound(f"sagemaker_program {program!r} without sagemaker_submit_directory")
    if str(submit).endswith(".tar.gz"):
        try:
            extract_tar_gz(store.read_bytes(submit), code_dir)
        except KeyError as exc:
            raise CodeNotFound(f"sagemaker_submit_directory {submit} is not in the local "
                               "store") from exc
    else:
        try:
            stage_prefix(store, str(submit), code_dir)
        except ResolutionError as exc:
            raise CodeNotFound(f"sagemaker_submit_directory: {exc}") from exc
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(code_dir),
                                                       os.environ.get("PYTHONPATH")])),
           "SM_MODULE_DIR": str(submit), "SM_USER_ENTRY_POINT": program}
    args = hyperparameter_args(user_hyperparameters(hyperparameters))
    runner = [sys.executable] if program.endswith(".py") else ["/bin/sh"]
    return JobCommand([*runner, program, *args], code_dir, env)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text() or "{}") or {}
