"""Run a ServingApp on waitress: in the foreground (the container) or a background thread.

`BackgroundServer` is for the local endpoint, local deployment and tests: it binds (port 0
picks a free port), serves from a thread and stops cleanly, closing every connection.
"""
from __future__ import annotations

import errno
import logging
import threading
from typing import Self

from waitress import create_server, wasyncore
from waitress.server import BaseWSGIServer

from steps.serve.app import ServingApp

LOG = logging.getLogger(__name__)
# waitress itself refuses bodies this far past the app's limit (plain-text 413) without
# buffering them; below it, the app answers its JSON 413.
_WAITRESS_SLACK_BYTES = 1024 * 1024


def make_server(app: ServingApp, host: str = "0.0.0.0", port: int = 8080,
                threads: int = 4) -> BaseWSGIServer:
    """A bound (not yet running) waitress server for `app`."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return create_server(app, host=host, port=port, threads=threads, ident="steps.serve",
                         max_request_body_size=app.max_request_bytes + _WAITRESS_SLACK_BYTES,
                         clear_untrusted_proxy_headers=True)


class BackgroundServer:
    """`with BackgroundServer(app, port=0) as server: requests to server.url ...`."""

    def __init__(self, app: ServingApp, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 4):
        self._server = make_server(app, host=host, port=port, threads=threads)
        self._thread = threading.Thread(target=self._server.run, name="steps.serve",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listener and all connections in the loop thread, then end the workers."""
        server = self._server
        if self._thread.is_alive():
            try:
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            except OSError as exc:
                # A worker finishing a request woke the loop, which ran the close step and
                # closed the wake-up pipe before this write: the server has already stopped.
                if exc.errno != errno.EBADF:
                    raise
            self._thread.join(timeout)
            if self._thread.is_alive():
                LOG.warning("serve loop did not stop within %.0f s", timeout)
        else:
            wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
