"""What every step script shares: its `main`, argument parsing and logging set-up."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from steps.common.failure import fail, failures_reported

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CurrentStreamHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout (or sys.stderr) is when a record is emitted, so a caller
    that swaps the stream (a test capturing output) never leaves the handler holding a closed
    one. Every logging set-up of ours, step scripts' and commands', uses it."""

    def __init__(self, name: str = "stdout"):
        if name not in ("stdout", "stderr"):
            raise ValueError(f"stream name must be 'stdout' or 'stderr', got {name!r}")
        self._stream_name = name
        super().__init__()

    @property
    def stream(self):
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging() -> None:
    """Log to stdout, so stderr carries only a failure's one-line reason."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=[CurrentStreamHandler()],
                        force=True)


# Arguments SageMaker adds to a training job's command line that are not ours to read.
SAGEMAKER_ARGUMENT_PREFIXES = ("--sagemaker_", "--_")


def env_path(name: str, default: str) -> str:
    """A path from the SageMaker environment (SM_MODEL_DIR, SM_CHANNEL_X...), else `default`."""
    return os.environ.get(name) or default


class StepArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors end the job through `fail` (failure file included).
    Abbreviations are off: a misspelt hyperparameter must not pass for a real one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message} (see --help)")

    def parse_hyperparameters(self, argv: list[str] | None = None,
                              known: Sequence[str] | None = None) -> argparse.Namespace:
        """Parse a training job's command line: SageMaker's own arguments are ignored, any
        other unknown one ends the job naming the `known` hyperparameters (default: every
        argument the parser declares)."""
        args, unknown = self.parse_known_args(argv)
        ignored = [a for a in unknown if a.startswith(SAGEMAKER_ARGUMENT_PREFIXES)]
        rejected = [a for a in unknown if a.startswith("--") and a not in ignored]
        if rejected:
            known = known or [a.dest for a in self._actions if a.dest != "help"]
            self.error(f"unknown hyperparameter(s) {rejected}; known: {', '.join(known)}")
        if ignored:
            logging.getLogger(__name__).info("ignoring SageMaker's own arguments %s", ignored)
        return args


def _unquote(text: str) -> Any:
    """SageMaker may pass a hyperparameter JSON-encoded ('"regression"', '5'): decode it."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def hp_str(text: str) -> str:
    """A string hyperparameter, plain or JSON-quoted."""
    value = _unquote(text)
    return value if isinstance(value, str) else text


def column_name(text: str) -> str:
    """A column parameter (TargetColumn, SegmentColumn) without the spaces around it, as the
    input table's names lose theirs (input_tables): `revenue ` typed in Studio is `revenue`."""
    return hp_str(text).strip()


def hp_int(text: str) -> int:
    """An integer hyperparameter; '5', '"5"' and '5.0' are accepted, '5.5' is not."""
    value = _unquote(text)
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not number.is_integer():
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(number)


def hp_float(text: str) -> float:
    """A float hyperparameter, plain or JSON-quoted."""
    value = _unquote(text)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def run_step(run: Callable[[argparse.Namespace], Any],
             parse: Callable[[list[str] | None], argparse.Namespace],
             argv: list[str] | None = None) -> int:
    """A step script's `main`: log to stdout, parse the arguments, run; bad input ends the job
    with its one-line reason (failure file, stderr, exit 1), any other error is recorded in
    the failure file and raised."""
    configure_logging()
    with failures_reported():
        run(parse(argv))
    return 0
