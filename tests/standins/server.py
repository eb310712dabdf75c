"""A small real HTTP server in a background thread (uvicorn on a free loopback port) that
records the calls it receives, for stand-ins of internet services."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI


@dataclass
class Call:
    """One request a stand-in received."""

    method: str  # the API method, e.g. "sendMessage" or "messages"
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200  # what the stand-in answered


class Recorder:
    """Thread-safe list of calls, plus failures to inject into the next ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: list[tuple[int, dict[str, Any], dict[str, str]]] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self, predicate: Callable[[Call], bool] = lambda c: True) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if predicate(c)]

    def wait_for(self, predicate: Callable[[Call], bool], count: int = 1,
                 timeout: float = 90.0) -> list[Call]:
        """Poll until ``count`` calls match (the channels answer in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(predicate)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def fail_next(self, times: int, status: int, body: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` message sends with this error instead."""
        with self._lock:
            self._failures += [(status, body, headers or {})] * times

    def take_failure(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()


class BackgroundServer:
    """Serve ``app`` on 127.0.0.1 on a free port until ``stop``."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextmanager
def serving(app: FastAPI) -> Iterator[BackgroundServer]:
    server = BackgroundServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()
