"""SageMaker's multi-model API for custom containers, served by the image's `serve` entrypoint.

On a multi-model endpoint SageMaker downloads and unpacks each model itself and drives the
container (which it starts with SAGEMAKER_MULTI_MODEL=true) over port 8080:

  POST   /models                     {"model_name": NAME, "url": DIR}: load; 409 when NAME is
                                     loaded (or loading), 507 when out of memory or model slots
  GET    /models[?next_page_token=T] {"models": [{"modelName", "modelUrl"}], "nextPageToken"?}
  GET    /models/NAME                {"modelName", "modelUrl"}; 404 when not loaded
  DELETE /models/NAME                unload; 404 when not loaded
  POST   /models/NAME/invoke         the handler's input_fn, predict_fn, output_fn
  GET    /ping                       200 once the server runs

`model_name` is SageMaker's opaque key, not the caller's TargetModel. Invocations go through
`ServingApp`'s `/invocations`, so payload limits, content negotiation and the error mapping
(4xx from exceptions with a `status`, 500 otherwise, JSON bodies) are the same as elsewhere.
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from steps.common.errors import HttpError
from steps.common.structure import StructureError, load_json
from steps.serve.app import (
    DEFAULT_MAX_REQUEST_BYTES,
    REQUEST_ID_KEY,
    TARGET_MODEL_HEADER,
    ServingApp,
    StartResponse,
)
from steps.serve.models import (
    LoadedModel,
    ModelLoadError,
    ModelSource,
    UnknownModel,
    check_model_name,
    load_model,
)

LOG = logging.getLogger(__name__)
DEFAULT_PAGE_SIZE = 1000
MAX_LOAD_REQUEST_BYTES = 64 * 1024
_INVOKE_SUFFIX = "/invoke"
_ROUTES = ("GET /ping", "GET /models", "POST /models", "GET /models/NAME",
           "DELETE /models/NAME", "POST /models/NAME/invoke")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 413: "Content Too Large", 500: "Internal Server Error",
            507: "Insufficient Storage"}


class BadLoadRequest(HttpError):
    """The load request's body is not `{"model_name": ..., "url": ...}` or the url is no dir."""

    status = 400


class ModelAlreadyLoaded(HttpError):
    """SageMaker asked to load a model_name that is loaded or being loaded."""

    status = 409


class InsufficientMemory(HttpError):
    """No room for another model: SageMaker answers 507 by unloading unused models."""

    status = 507


@dataclass(frozen=True)
class RegisteredModel:
    """A loaded model under SageMaker's model_name, with the url it came from."""

    name: str
    url: str
    loaded: LoadedModel

    def describe(self) -> dict[str, str]:
        return {"modelName": self.name, "modelUrl": self.url}


class LoadedModels(ModelSource):
    """Thread-safe models by model_name; `max_models` (0: unbounded) caps how many are loaded.

    A load runs outside the lock, so invocations of other models go on meanwhile; the name is
    reserved while it loads, and a second load of it answers 409.
    """

    def __init__(self, handler_name: str | None = None, max_models: int = 0):
        if max_models < 0:
            raise ValueError(f"max_models must be 0 (unbounded) or positive, got {max_models}")
        self._handler_name = handler_name
        self._max_models = max_models
        self._models: dict[str, RegisteredModel] = {}
        self._loading: set[str] = set()
        self._lock = threading.Lock()

    def load(self, name: str, url: str) -> RegisteredModel:
        """Load the model unpacked at `url` as `name`; HttpError (409, 507, 400, 500)."""
        model_dir = Path(url)
        if not model_dir.is_dir():
            raise BadLoadRequest(f"url {url!r} is not a directory; SageMaker passes the "
                                 "directory it unpacked the model into")
        with self._lock:
            if name in self._models or name in self._loading:
                raise ModelAlreadyLoaded(f"model {name!r} is already loaded; unload it first "
                                         f"(DELETE /models/{name})")
            if self._max_models and len(self._models) + len(self._loading) >= self._max_models:
                raise InsufficientMemory(f"cannot load model {name!r}: all {self._max_models} "
                                         "model slots are in use; unload a model first")
            self._loading.add(name)
        try:
            loaded = load_model(name, model_dir, self._handler_name)
        except ModelLoadError as exc:
            if isinstance(exc.__cause__, MemoryError):
                raise InsufficientMemory(f"not enough memory to load model {name!r}; unload "
                                         "a model first") from exc
            raise
        finally:
            with self._lock:
                self._loading.discard(name)
        registered = RegisteredModel(name, url, loaded)
        with self._lock:
            self._models[name] = registered
        return registered

    def unload(self, name: str) -> RegisteredModel:
        """Forget `name` (in-flight invocations finish with their model); UnknownModel if absent."""
        with self._lock:
            registered = self._models.pop(name, None)
        if registered is None:
            raise _unknown(name)
        LOG.info("unloaded model %r", name)
        return registered

    def describe(self, name: str) -> RegisteredModel:
        with self._lock:
            registered = self._models.get(name)
        if registered is None:
            raise _unknown(name)
        return registered

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def get(self, target: str | None) -> LoadedModel:
        return self.describe(target or "").loaded

    def healthy(self) -> bool:
        return True


def _unknown(name: str) -> UnknownModel:
    return UnknownModel(f"model {name!r} is not loaded; load it with POST /models")


class MultiModelApp:
    """WSGI callable serving the multi-model API over a LoadedModels."""

    def __init__(self, registry: LoadedModels,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 page_size: int = DEFAULT_PAGE_SIZE):
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.registry = registry
        self.page_size = page_size
        self._invocations = ServingApp(registry, max_request_bytes)
        self.max_request_bytes = self._invocations.max_request_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/ping" or (path.startswith("/models/") and path.endswith(_INVOKE_SUFFIX)
                               and method == "POST"):
            return self._delegate(environ, start_response, path)
        request_id = environ[REQUEST_ID_KEY] = uuid.uuid4().hex
        headers: list[tuple[str, str]] = []
        try:
            status, answer = self._manage(environ, path, method, headers)
        except HttpError as exc:
            LOG.warning("request %s: %s %s answered %s: %s", request_id, method, path,
                        exc.status, exc)
            status, answer = exc.status, {"error": str(exc), "status": exc.status,
                                          "request_id": request_id}
        except Exception:  # the HTTP boundary: every failure becomes a JSON answer
            LOG.exception("request %s: %s %s failed", request_id, method, path)
            status, answer = 500, {"error": "internal error; see the endpoint's log",
                                   "status": 500, "request_id": request_id}
        body = json.dumps(answer).encode("utf-8")
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    ("X-Request-Id", request_id)]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _delegate(self, environ: dict[str, Any], start_response: StartResponse,
                  path: str) -> Iterable[bytes]:
        """`/ping` and invocations are ServingApp's; the model_name becomes the target."""
        if path != "/ping":
            name = path[len("/models/"):-len(_INVOKE_SUFFIX)]
            environ = {**environ, "PATH_INFO": "/invocations", TARGET_MODEL_HEADER: name}
        return self._invocations(environ, start_response)

    def _manage(self, environ: dict[str, Any], path: str, method: str,
                headers: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        if path == "/models":
            if method == "GET":
                return 200, self._list(environ.get("QUERY_STRING", ""))
            if method == "POST":
                name, url = _load_request(environ)
                return 200, {"status": "loaded", **self.registry.load(name, url).describe()}
            allowed = "GET, POST"
        elif path.startswith("/models/") and _is_name(name := path[len("/models/"):]):
            if method == "GET":
                return 200, self.registry.describe(name).describe()
            if method == "DELETE":
                return 200, {"status": "unloaded", **self.registry.unload(name).describe()}
            allowed = "GET, DELETE"
        elif (path.startswith("/models/") and path.endswith(_INVOKE_SUFFIX)
              and _is_name(path[len("/models/"):-len(_INVOKE_SUFFIX)])):
            allowed = "POST"
        else:
            raise HttpError(f"no route {path!r}: this server answers {', '.join(_ROUTES)}",
                            status=404)
        headers.append(("Allow", allowed))
        raise HttpError(f"{path} accepts {allowed}, not {method}", status=405)

    def _list(self, query: str) -> dict[str, Any]:
        token = parse_qs(query).get("next_page_token", [""])[0]
        names = [name for name in self.registry.names() if name > token]
        page = []
        for name in names[:self.page_size]:
            try:
                page.append(self.registry.describe(name).describe())
            except UnknownModel:  # unloaded since names() was read
                continue
        answer: dict[str, Any] = {"models": page}
        if len(names) > self.page_size:
            answer["nextPageToken"] = names[self.page_size - 1]
        return answer


def _is_name(text: str) -> bool:
    return bool(text) and "/" not in text


def _load_request(environ: dict[str, Any]) -> tuple[str, str]:
    """`(model_name, url)` from a load request's JSON body; BadLoadRequest otherwise."""
    usage = 'the body must be JSON like {"model_name": "NAME", "url": "/opt/ml/models/NAME/model"}'
    body = environ["wsgi.input"].read(MAX_LOAD_REQUEST_BYTES + 1)
    if len(body) > MAX_LOAD_REQUEST_BYTES:
        raise BadLoadRequest(f"load request exceeds {MAX_LOAD_REQUEST_BYTES} bytes; {usage}")
    try:
        request = load_json(body)
    except StructureError as exc:
        raise BadLoadRequest(f"load request is {exc}; {usage}") from None
    fields = [request.get(key) if isinstance(request, dict) else None
              for key in ("model_name", "url")]
    bad = [key for key, value in zip(("model_name", "url"), fields, strict=True)
           if not isinstance(value, str) or not value]
    if bad:
        raise BadLoadRequest(f"load request lacks a non-empty string {' and '.join(bad)}; "
                             f"{usage}")
    name, url = fields
    if "/" in name:
        raise BadLoadRequest(f"model_name {name!r} must not contain '/'")
    return check_model_name(name, "model_name"), url
