"""An LRU cache of models loaded from `.tar.gz` artifacts: a multi-model endpoint's ModelSource.

As on SageMaker's multi-model endpoints, the target model names an artifact under a prefix
(`new-york/v3.tar.gz`). The first request for it extracts the archive into a private directory
under `cache_dir` and runs the handler's `model_fn` (the handler comes from the archive's
serving.json); later requests reuse the loaded model. Whenever more than `max_models` models or
more than `max_bytes` bytes are loaded, the least recently used models are evicted.

A model's bytes are the size of its extracted files, measured once at load. That is a proxy for
its memory: deterministic, cheap, and known before `model_fn` runs (a model that can never fit
is refused with 507 without loading it); it grows with the model (trees, vocabularies), though
not 1:1 (an XGBoost JSON file is larger than its trees in memory). A deep size of the loaded
object would miss the native memory that XGBoost or torch hold. Peak use is one model per
concurrent load above the bound: the LRU models are evicted when a load completes.

Eviction never fails a request. The cache drops its reference; a request that already got the
model keeps it (and its directory) alive, and the directory is deleted when the last reference
goes (`weakref.finalize`), so `evicted_in_use` in `stats()` counts evicted models still serving.
Concurrent first requests for one model load it once; the others wait for that load.
"""
from __future__ import annotations

import abc
import collections
import logging
import re
import shutil
import statistics
import tarfile
import tempfile
import threading
import time
import weakref
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from steps.common.errors import HttpError
from steps.serve.models import (
    ARCHIVE_SUFFIX,
    LoadedModel,
    ModelLoadError,
    ModelSource,
    TargetModelError,
    UnknownModel,
    check_model_name,
    load_model,
)

LOG = logging.getLogger(__name__)
_LOAD_TIMES_KEPT = 1000  # recent load durations kept for the median
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class ModelTooLarge(HttpError):
    """The model's extracted size exceeds the cache's byte bound on its own."""

    status = 507  # what SageMaker's multi-model endpoints answer when a model cannot fit


class ArtifactStore(abc.ABC):
    """Where the `.tar.gz` artifacts live; names are paths relative to its prefix."""

    location: str  # for messages and /models

    @abc.abstractmethod
    def names(self) -> list[str]:
        """Every artifact name available now, sorted (e.g. 'new-york/v3.tar.gz')."""

    @abc.abstractmethod
    def open(self, name: str) -> BinaryIO:
        """A binary stream of the artifact; raise UnknownModel if there is none by that name."""

    def healthy(self) -> bool:
        return True


class DirectoryArtifacts(ArtifactStore):
    """Artifacts are the `*.tar.gz` files under a directory (hidden files are skipped)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(name for path in self.root.rglob(f"*{ARCHIVE_SUFFIX}") if path.is_file()
                      and is_artifact_name(name := path.relative_to(self.root).as_posix()))

    def open(self, name: str) -> BinaryIO:
        path = (self.root / name).resolve()
        if self.root not in path.parents or not path.is_file():
            raise unknown_model(name, self.location)
        return path.open("rb")

    def healthy(self) -> bool:
        return self.root.is_dir()


def is_artifact_name(name: str) -> bool:
    """A relative, non-hidden path ending in .tar.gz that check_model_name accepts:
    'new-york/v3.tar.gz'."""
    try:
        check_model_name(name)
    except TargetModelError:
        return False
    return (name.endswith(ARCHIVE_SUFFIX) and len(name) > len(ARCHIVE_SUFFIX)
            and not any(part.startswith(".") for part in name.split("/")))


def unknown_model(name: str, location: str) -> UnknownModel:
    return UnknownModel(f"unknown target model {name!r}: no such artifact under {location}; "
                        "GET /models lists the available models")


@dataclass
class _Entry:
    loaded: LoadedModel
    bytes: int
    load_seconds: float
    loaded_at: float  # time.time()
    release: weakref.finalize  # deletes the model's directory once nothing holds the model
    last_used: float = field(default_factory=time.monotonic)
    hits: int = 0


class _PendingLoad:
    """One model's load in progress; requests for the same model wait on it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.loaded: LoadedModel | None = None
        self.error: HttpError | None = None


class ModelCache(ModelSource):
    """Loads models from `store` on first use; keeps at most `max_models` models and
    `max_bytes` bytes (None: unbounded) loaded, evicting the least recently used.

    `cache_dir` holds the extracted models (default: a new temporary directory, removed by
    `close()`). `handler_name` overrides every model's serving.json.
    """

    def __init__(self, store: ArtifactStore, max_models: int | None = None,
                 max_bytes: int | None = None, cache_dir: str | Path | None = None,
                 handler_name: str | None = None):
        for label, bound in (("max_models", max_models), ("max_bytes", max_bytes)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)
                                      or bound < 1):
                raise ValueError(f"{label} must be a positive integer or None, got {bound!r}")
        self.store = store
        self.max_models = max_models
        self.max_bytes = max_bytes
        self._handler_name = handler_name
        self._owns_dir = cache_dir is None
        self.cache_dir = Path(tempfile.mkdtemp(prefix="model-cache-") if cache_dir is None
                              else cache_dir).resolve()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._loading: dict[str, _PendingLoad] = {}
        self._retired: list[weakref.finalize] = []
        self._bytes = 0
        # Per request: hits, misses (found unloaded, then served), unknown_target, errors (its
        # model failed to load). Per model: loads, load_failures, evictions.
        self._counts = dict.fromkeys(("hits", "misses", "unknown_target", "errors", "loads",
                                      "load_failures", "evictions"), 0)
        self._load_times: collections.deque[float] = collections.deque(maxlen=_LOAD_TIMES_KEPT)
        self._load_seconds_total = 0.0
        self._closed = False

    # --- ModelSource -------------------------------------------------------------------------
    def get(self, target: str | None) -> LoadedModel:
        name = self._model_name(target)
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None:
                self._entries.move_to_end(name)
                entry.hits += 1
                entry.last_used = time.monotonic()
                self._counts["hits"] += 1
                return entry.loaded
            pending = self._loading.get(name)
            owner = pending is None
            if owner:
                pending = self._loading[name] = _PendingLoad()
        if owner:
            return self._load_for(name, pending)
        pending.done.wait()
        return self._outcome(name, pending)

    def healthy(self) -> bool:
        return not self._closed and self.store.healthy()

    # --- introspection ---------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What `/models` answers: available artifacts, loaded models (most recent first)."""
        available = self.store.names()
        now, wall = time.monotonic(), time.time()
        with self._lock:
            loaded = [{"name": name, "bytes": e.bytes, "load_seconds": round(e.load_seconds, 6),
                       "loaded_at": _iso(e.loaded_at), "hits": e.hits,
                       "idle_seconds": round(now - e.last_used, 3)}
                      for name, e in reversed(self._entries.items())]
            loading = sorted(self._loading)
        return {"location": self.store.location, "available": available, "loaded": loaded,
                "loading": loading, "as_of": _iso(wall)}

    def stats(self) -> dict[str, Any]:
        """What `/metrics` answers: counters, bounds, current size, load times in seconds."""
        with self._lock:
            counts = dict(self._counts)
            self._retired = [release for release in self._retired if release.alive]
            times = list(self._load_times)
            answered = counts["hits"] + counts["misses"]
            return {**counts,
                    "hit_rate": round(counts["hits"] / answered, 6) if answered else None,
                    "loaded_models": len(self._entries), "loaded_bytes": self._bytes,
                    "max_models": self.max_models, "max_bytes": self.max_bytes,
                    "loading": len(self._loading), "evicted_in_use": len(self._retired),
                    "load_seconds": {
                        "count": counts["loads"],
                        "total": round(self._load_seconds_total, 6),
                        "median": round(statistics.median(times), 6) if times else None,
                        "max": round(max(times), 6) if times else None,
                        "last": round(times[-1], 6) if times else None}}

    def close(self) -> None:
        """Unload everything and delete the extracted models (also those still in use)."""
        with self._lock:
            self._closed = True
            releases = [e.release for e in self._entries.values()] + self._retired
            self._entries.clear()
            self._retired = []
            self._bytes = 0
        for release in releases:
            release()
        if self._owns_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def __enter__(self) -> ModelCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- loading and eviction ----------------------------------------------------------------
    def _load_for(self, name: str, pending: _PendingLoad) -> LoadedModel:
        """Load `name` for the request that found it missing, then publish the outcome."""
        size, seconds = 0, 0.0
        try:
            pending.loaded, size, seconds = self._load(name)
        except UnknownModel as exc:
            pending.error = exc
        except HttpError as exc:
            pending.error = exc
            LOG.warning("model %r: %s", name, exc)
        except Exception:  # an unexpected failure becomes a load error for every waiter
            LOG.exception("model %r: loading failed", name)
        finally:
            if pending.loaded is None and pending.error is None:
                pending.error = ModelLoadError(f"model {name!r} failed to load; see the "
                                               "endpoint's log")
            evicted = self._publish(name, pending, size, seconds)
        for entry in evicted:
            LOG.info("evicted model %r (%d bytes, %d hits, idle %.1f s)", entry.loaded.name,
                     entry.bytes, entry.hits, time.monotonic() - entry.last_used)
        if pending.loaded is not None:
            LOG.info("model %r: %d bytes loaded in %.3f s", name, size, seconds)
        return self._outcome(name, pending)

    def _publish(self, name: str, pending: _PendingLoad, size: int,
                 seconds: float) -> list[_Entry]:
        """Cache a loaded model (evicting over the bounds), count, and wake the waiters."""
        evicted: list[_Entry] = []
        with self._lock:
            if pending.loaded is not None:
                self._entries[name] = _Entry(pending.loaded, size, seconds, time.time(),
                                             _releaser(pending.loaded))
                self._bytes += size
                self._counts["loads"] += 1
                self._load_times.append(seconds)
                self._load_seconds_total += seconds
                evicted = self._evict_over_bounds()
            elif not isinstance(pending.error, UnknownModel):
                self._counts["load_failures"] += 1
            del self._loading[name]
        pending.done.set()
        return evicted

    def _outcome(self, name: str, pending: _PendingLoad) -> LoadedModel:
        """Count this request, then return the loaded model or raise the load's error."""
        if pending.error is None:
            counter = "misses"
        else:
            counter = "unknown_target" if isinstance(pending.error, UnknownModel) else "errors"
        with self._lock:
            self._counts[counter] += 1
        if pending.error is not None:
            raise type(pending.error)(str(pending.error)) from pending.error
        assert pending.loaded is not None
        return pending.loaded

    def _load(self, name: str) -> tuple[LoadedModel, int, float]:
        """Extract the artifact into a fresh directory, check its size, run model_fn."""
        started = time.perf_counter()
        directory = Path(tempfile.mkdtemp(prefix=_UNSAFE_CHARS.sub("_", name)[:60] + "-",
                                          dir=self.cache_dir))
        try:
            with self.store.open(name) as stream:
                _extract(stream, directory, name)
            size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
            if self.max_bytes is not None and size > self.max_bytes:
                raise ModelTooLarge(f"model {name!r} takes {size} bytes, more than the cache's "
                                    f"whole byte bound of {self.max_bytes}; raise --max-bytes")
            loaded = load_model(name, directory, self._handler_name)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return loaded, size, time.perf_counter() - started

    def _evict_over_bounds(self) -> list[_Entry]:
        """Pop least recently used entries until within both bounds; call under the lock."""
        evicted = []
        while len(self._entries) > 1 and (
                (self.max_models is not None and len(self._entries) > self.max_models)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)):
            _, entry = self._entries.popitem(last=False)
            self._bytes -= entry.bytes
            self._counts["evictions"] += 1
            self._retired.append(entry.release)
            evicted.append(entry)
        return evicted

    @staticmethod
    def _model_name(target: str | None) -> str:
        if not target:
            raise TargetModelError("this is a multi-model endpoint: name the model in the "
                                   "X-Amzn-SageMaker-Target-Model header, e.g. "
                                   "'new-york/v3.tar.gz'")
        like = "a relative artifact name like 'new-york/v3.tar.gz'"
        check_model_name(target, like=like)
        if not is_artifact_name(target):
            raise TargetModelError(f"target model {target!r} is not {like}")
        return target


def _extract(stream: BinaryIO, directory: Path, name: str) -> None:
    """Unpack a gzip tar safely (the 'data' filter refuses links out, devices, absolute paths)."""
    try:
        with tarfile.open(fileobj=stream, mode="r:gz") as archive:
            archive.extractall(directory, filter="data")
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        LOG.error("model %r: cannot unpack its artifact: %s", name, exc)
        raise ModelLoadError(f"model {name!r} failed to load: its artifact is not a readable "
                             f".tar.gz ({type(exc).__name__})") from exc


def _releaser(loaded: LoadedModel) -> weakref.finalize:
    return weakref.finalize(loaded, shutil.rmtree, str(loaded.model_dir), True)


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
