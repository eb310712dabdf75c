"""The analysts' retraining stack shared by the admin tests: engine, actions and API on a
copy of the knowledge and of ``var/`` (model, encoder, exported NLU, index) in a temporary
folder, on its own ports, so the checkout's prepared model is never retrained. One per
test session (``teach`` in conftest): it is slow to train and evaluate."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from iara.settings import PROJECT_ROOT, get_settings
from iara.stack import Stack
from tests.conftest import TEST_PORT_BASE, stack_test_settings

TOKEN = "admin-token-" + "x" * 20
BASE = TEST_PORT_BASE + 300
DEV_EVERY = 4  # the copy's dev set keeps every 4th question (shorter evaluations)
RETRAIN_TOLERANCE = 0.05


@contextmanager
def teaching_stack(tmp: Path) -> Iterator[Stack]:
    knowledge = tmp / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    dev = yaml.safe_load((knowledge / "dev.yml").read_text(encoding="utf-8"))
    (knowledge / "dev.yml").write_text(
        yaml.safe_dump(dev[::DEV_EVERY], allow_unicode=True, sort_keys=False), encoding="utf-8")
    live = get_settings()
    var = tmp / "var"
    shutil.copytree(live.models_dir, var / "models")
    shutil.copytree(live.generated_nlu_dir, var / "nlu")
    shutil.copytree(live.index_path, var / "index")
    settings = stack_test_settings(
        tmp, api_port=BASE, rasa_url=f"http://127.0.0.1:{BASE - 3000 + 5}",
        actions_url=f"http://127.0.0.1:{BASE - 3000 + 55}", var_dir=var,
        index_dir=var / "index", knowledge_dir=knowledge, admin_token=TOKEN,
        # One dev question of the quarter-size set is 0.024 of a metric: the gate allows
        # two flips (retraining with one more example may move one), not a real drop.
        retrain_tolerance=RETRAIN_TOLERANCE)
    with Stack(settings, log_dir=tmp / "log") as stack:
        stack.wait_healthy(timeout=600)
        stack.warm_up()
        yield stack


def admin(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{stack.settings.api_base_url}/api/admin{path}",
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120, **kwargs)


def items_of(stack: Stack, sender: str, text: str) -> list[str]:
    """The CAUC items cited by Iara's answer to ``text`` (through the real chat API)."""
    response = httpx.post(f"{stack.settings.api_base_url}/api/chat",
                          json={"sender": sender, "message": text}, timeout=60)
    assert response.status_code == 200, response.text
    return [s["item"] for m in response.json()["messages"] for s in m["sources"] if s["item"]]


def engine_model(stack: Stack) -> str:
    token = stack.settings.rasa_token.get_secret_value()  # type: ignore[union-attr]
    status = httpx.get(f"{str(stack.settings.rasa_url).rstrip('/')}/status",
                       params={"token": token}, timeout=30).json()
    return str(status["model_id"])  # model_file is the same name for every release


def wait_training(stack: Stack, timeout: float = 1800) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = admin(stack, "GET", "/train/status").json()
        if not status["em_andamento"]:
            run: dict[str, Any] = status["treino"]
            return run
        time.sleep(2)
    raise AssertionError("training did not finish")


def step_seconds(run: dict[str, Any]) -> dict[str, float]:
    """How long each step of a training took (from its timed log)."""
    from datetime import datetime

    log = run["log"]  # the last entry is the outcome ("publicado", "recusado"…)
    ends = [e["at"] for e in log[1:]] + [log[-1]["at"]]
    return {e["step"]: round((datetime.fromisoformat(end)
                              - datetime.fromisoformat(e["at"])).total_seconds(), 1)
            for e, end in zip(log, ends, strict=True)}


class Load:
    """Steady chat load: ``users`` threads asking in turn; counts failed requests."""

    def __init__(self, stack: Stack, users: int = 3) -> None:
        self.url = f"{stack.settings.api_base_url}/api/chat"
        self.stop = threading.Event()
        self.ok = 0
        self.failed: list[str] = []
        self.threads = [threading.Thread(target=self._user, args=(i,)) for i in range(users)]

    def _user(self, i: int) -> None:
        n = 0
        with httpx.Client(timeout=180) as client:
            while not self.stop.is_set():
                n += 1
                try:
                    response = client.post(self.url, json={
                        "sender": f"load-{i}-{n}", "message": "qual o prazo do rreo?"})
                    if response.status_code == 200 and response.json()["messages"]:
                        self.ok += 1
                    else:
                        self.failed.append(f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))
                time.sleep(0.5)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
