"""A serving command in its own process on a free loopback port, for the serving benchmarks.

The command is started with `--port 0`; its log line "... on http://127.0.0.1:PORT" says which
port it took. Leaving the `with` block terminates it.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

LISTENING = " on http://127.0.0.1:"


class EndpointProcess:
    def __init__(self, command: list[str], log: Path, start_timeout_s: float = 60):
        self.log = log
        self._stream = log.open("w")
        self.process = subprocess.Popen(command, stderr=self._stream)
        self.port = self._wait_for_port(start_timeout_s)

    def _wait_for_port(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if LISTENING in line:
                    return int(line.split(LISTENING)[1].split()[0])
            if self.process.poll() is not None:
                self.close()
                raise SystemExit(f"the endpoint exited: {self.log.read_text()}")
            time.sleep(0.05)
        self.close()
        raise SystemExit(f"the endpoint did not start in {timeout_s:.0f} s; see {self.log}")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self._stream.close()

    def __enter__(self) -> EndpointProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
