"""Model sources: map a request's target model name to a loaded model and its handler.

`ModelSource` is the seam a multi-model endpoint implements (for instance with an LRU cache
that unloads cold models); the app only calls `get(target)` and `healthy()`.
`SingleModelSource` serves one model directory and refuses target names;
`DirectoryModelSource` serves every model directory under a root, loading each on first use.
"""
from __future__ import annotations

import abc
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steps.common.errors import HttpError
from steps.common.structure import bounded
from steps.serve.handler import Handler, HandlerError, handler_name_for, load_handler

LOG = logging.getLogger(__name__)
ARCHIVE_SUFFIX = ".tar.gz"
MAX_TARGET_CHARS = 1024  # SageMaker's limit for InvokeEndpoint's TargetModel
MAX_SEGMENT_BYTES = 255  # the longest file name (NAME_MAX) common filesystems accept


class TargetModelError(HttpError):
    """The target-model header is missing, malformed, or not expected."""

    status = 400


class UnknownModel(HttpError):
    """No model by the requested target name."""

    status = 404


class ModelLoadError(HttpError):
    """The model's handler or its `model_fn` failed; the details are in the log."""

    status = 500


def check_model_name(name: str, what: str = "target model",
                     like: str = "a relative model name like 'Chicago.tar.gz' or "
                                 "'team_a/model'") -> str:
    """`name` if it is a relative model path every filesystem accepts; TargetModelError (400)
    otherwise, decided before anything touches the disk (where an over-long name would be an
    OSError, a 500 and a counted load failure)."""
    shown = bounded(repr(name), 80)
    if len(name) > MAX_TARGET_CHARS:
        raise TargetModelError(f"{what} {shown} is {len(name)} characters; the limit is "
                               f"{MAX_TARGET_CHARS}")
    if not name.isprintable():
        raise TargetModelError(f"{what} {shown} contains control characters")
    parts = name.split("/")
    if "\\" in name or any(part in ("", ".", "..") for part in parts):
        raise TargetModelError(f"{what} {shown} is not {like}")
    longest = max(len(part.encode("utf-8", "surrogatepass")) for part in parts)
    if longest > MAX_SEGMENT_BYTES:
        raise TargetModelError(f"{what} {shown} has a path segment of {longest} bytes; a file "
                               f"name holds at most {MAX_SEGMENT_BYTES}")
    return name


@dataclass(frozen=True)
class LoadedModel:
    """A model object ready for `predict_fn`, with the handler that loaded it."""

    name: str
    model_dir: Path
    handler: Handler
    model: Any


class ModelSource(abc.ABC):
    """What the app needs from wherever models come from."""

    @abc.abstractmethod
    def get(self, target: str | None) -> LoadedModel:
        """The model for a target name (None: no header); raise an HttpError if none."""

    @abc.abstractmethod
    def healthy(self) -> bool:
        """True when the source can answer invocations (the `/ping` answer)."""


def load_model(name: str, model_dir: Path, handler_name: str | None) -> LoadedModel:
    """Resolve the handler for `model_dir` and run its `model_fn`; raise ModelLoadError."""
    failed = f"model {name!r} failed to load; see the endpoint's log"
    try:
        handler = load_handler(handler_name_for(model_dir, handler_name))
    except HandlerError as exc:
        LOG.error("model %r in %s: %s", name, model_dir, exc)
        raise ModelLoadError(failed) from exc
    try:
        model = handler.model_fn(str(model_dir))
    except Exception as exc:  # any failure of the handler's load code becomes one load error
        LOG.exception("model %r in %s: %s.model_fn failed", name, model_dir, handler.name)
        raise ModelLoadError(failed) from exc
    LOG.info("loaded model %r from %s with handler %s", name, model_dir, handler.name)
    return LoadedModel(name, model_dir, handler, model)


class SingleModelSource(ModelSource):
    """One model directory, loaded once (call `load()` at startup so `/ping` means ready)."""

    def __init__(self, model_dir: str | Path, handler_name: str | None = None):
        self.model_dir = Path(model_dir)
        self._handler_name = handler_name
        self._loaded: LoadedModel | None = None
        self._lock = threading.Lock()

    def load(self) -> LoadedModel:
        with self._lock:
            if self._loaded is None:
                if not self.model_dir.is_dir():
                    raise ModelLoadError(f"model directory {self.model_dir} does not exist")
                self._loaded = load_model(self.model_dir.name, self.model_dir, self._handler_name)
            return self._loaded

    def get(self, target: str | None) -> LoadedModel:
        if target is not None:
            raise TargetModelError(f"this endpoint serves a single model; drop the "
                                   f"X-Amzn-SageMaker-Target-Model header (got {target!r})")
        return self.load()

    def healthy(self) -> bool:
        try:
            self.load()
        except HttpError:
            return False
        return True


class DirectoryModelSource(ModelSource):
    """Every directory under `root` is a model; the target name is its relative path.

    A trailing `.tar.gz` is ignored, so `Chicago.tar.gz` (the artifact name SageMaker
    multi-model clients send) finds the unpacked `Chicago/`. Models load on first use and
    stay loaded; concurrent first requests for one model load it once.
    """

    def __init__(self, root: str | Path, handler_name: str | None = None):
        self.root = Path(root).resolve()
        self._handler_name = handler_name
        self._loaded: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def get(self, target: str | None) -> LoadedModel:
        name = self._model_name(target)
        if name in self._loaded:
            return self._loaded[name]
        with self._locks_lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._loaded:
                model_dir = self.root / name
                if not model_dir.is_dir():
                    raise UnknownModel(f"unknown target model {target!r}: no model named "
                                       f"{name!r} on this endpoint")
                self._loaded[name] = load_model(name, model_dir, self._handler_name)
            return self._loaded[name]

    def healthy(self) -> bool:
        return self.root.is_dir()

    @staticmethod
    def _model_name(target: str | None) -> str:
        if not target:
            raise TargetModelError("this is a multi-model endpoint: name the model in the "
                                   "X-Amzn-SageMaker-Target-Model header")
        return check_model_name(target).removesuffix(ARCHIVE_SUFFIX)
