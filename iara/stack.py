"""Start and stop the three processes: Rasa engine, action server, API.

Used by ``iara run`` (and ``make run``) and by the end-to-end tests, so both exercise the
same start-up path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from pydantic import SecretStr

from iara.admin.releases import current_model
from iara.settings import Settings
from iara.training import ENGINE_ENV, model_path, rasa_executable
from index.errors import IaraError

logger = logging.getLogger(__name__)


class StackError(IaraError):
    """A process of the stack failed to start or died."""


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as IARA_* variables, so child processes see the same values."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        env[f"IARA_{name.upper()}"] = str(value)
    return env


def with_token(settings: Settings) -> Settings:
    """The settings with an engine auth token: the configured one or a fresh random one."""
    if settings.rasa_token is not None:
        return settings
    return settings.model_copy(update={"rasa_token": SecretStr(secrets.token_urlsafe(32))})


@dataclass
class Process:
    name: str
    command: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)

    def tail(self, lines: int = 25) -> str:
        try:
            content = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(content[-lines:])


class Stack:
    """The running engine, action server and API, as child processes."""

    def __init__(self, settings: Settings, *, log_dir: Path | None = None) -> None:
        self.settings = with_token(settings)
        self.log_dir = log_dir or self.settings.var_dir / "log"
        self.processes: list[Process] = []
        # ``close`` may come from another thread while ``start`` is still spawning.
        self._spawning = threading.Lock()
        self._closed = False

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(settings_env(self.settings))
        env["IARA_ACTIONS_WEBHOOK"] = str(self.settings.actions_url).rstrip("/") + "/webhook"
        env["IARA_TRACKER_STORE_URL"] = self.settings.tracker_store_url
        env["SANIC_HOST"] = "127.0.0.1"  # the action server listens on loopback only
        env.update(ENGINE_ENV)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def commands(self) -> list[tuple[str, list[str]]]:
        s = self.settings
        rasa_url = httpx.URL(str(s.rasa_url))
        actions_url = httpx.URL(str(s.actions_url))
        token = s.rasa_token.get_secret_value() if s.rasa_token else ""
        root = s.project_root
        return [
            ("engine", [
                str(rasa_executable(s)), "run", "--enable-api", "--auth-token", token,
                "--interface", rasa_url.host, "--port", str(rasa_url.port or 5005),
                "--model", str(current_model(s)),
                "--endpoints", str(root / "endpoints.yml"),
                "--credentials", str(root / "credentials.yml"),
            ]),
            ("actions", [
                sys.executable, "-m", "rasa_sdk", "--actions", "bot.actions",
                "--port", str(actions_url.port or 5055),
            ]),
            ("api", [
                sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                "--host", s.api_host, "--port", str(s.api_port), "--no-access-log",
            ]),
        ]

    def start(self) -> None:
        if not model_path(self.settings).exists():
            raise StackError("no trained model: run 'iara train' (make run does it)")
        tracker = self.settings.tracker_store_url
        if tracker.startswith("sqlite:///"):
            Path(tracker.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        for name, command in self.commands():
            with self._spawning:
                if self._closed:
                    raise StackError("the stack was closed while it started")
                process = Process(name, command, self.log_dir / f"{name}.log")
                process.log = process.log_path.open("wb")
                process.popen = subprocess.Popen(
                    command, cwd=self.settings.project_root, env=env, stdout=process.log,
                    stderr=subprocess.STDOUT, start_new_session=True)
                self.processes.append(process)
            logger.info("started %s (pid %d), log %s", name, process.popen.pid, process.log_path)

    def check_alive(self) -> None:
        if self._closed:
            raise StackError("the stack was closed")
        for process in self.processes:
            if process.popen is not None and process.popen.poll() is not None:
                raise StackError(
                    f"{process.name} exited with code {process.popen.returncode}; last lines of "
                    f"{process.log_path}:\n{process.tail()}")

    def wait_healthy(self, timeout: float | None = None,
                     on_progress: object = None) -> dict[str, object]:
        """Poll the API's /health until every component is up; raise on timeout or death."""
        deadline = time.monotonic() + (timeout or self.settings.startup_timeout_s)
        url = f"{self.settings.api_base_url}/health"
        last: dict[str, object] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                response = httpx.get(url, timeout=5)
                last = response.json()
                if response.status_code == 200:
                    return last
            except (httpx.HTTPError, ValueError):
                pass
            if callable(on_progress):
                on_progress(last)
            time.sleep(1.0)
        raise StackError(f"not healthy after {timeout or self.settings.startup_timeout_s:.0f}s: "
                         f"{last}")

    def warm_up(self) -> None:
        """Run the knowledge action once, straight at the action server, so the model and
        index load before the first gestor asks (no conversation is stored)."""
        url = str(self.settings.actions_url).rstrip("/") + "/webhook"
        tracker = {"sender_id": "iara-warmup", "slots": {}, "events": [], "paused": False,
                   "latest_message": {"text": "qual o prazo do RREO?", "intent": {},
                                      "entities": []},
                   "followup_action": None, "active_loop": {}, "latest_action_name": None}
        payload = {"next_action": "action_responder_conhecimento", "sender_id": "iara-warmup",
                   "tracker": tracker, "domain": {}, "version": "3.6.21"}
        response = httpx.post(url, json=payload, timeout=self.settings.startup_timeout_s)
        if response.status_code != 200:
            raise StackError(f"action server warm-up failed: HTTP {response.status_code}")

    def close(self) -> None:
        """Stop for good, from any thread: a ``start`` under way spawns nothing more and
        fails, and so does a ``wait_healthy`` (the processes run in their own sessions,
        so nothing else would stop them)."""
        with self._spawning:
            self._closed = True
        self.stop()

    def stop(self, grace: float = 15.0) -> None:
        for process in reversed(self.processes):
            if process.popen is not None and process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            if process.popen is None:
                continue
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
            if process.log is not None:
                process.log.close()
        self.processes.clear()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
