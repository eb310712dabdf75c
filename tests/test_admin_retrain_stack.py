"""An analyst teaches Iara through the real stack: add a Q&A pair via the admin API,
retrain (engine HTTP API), evaluate on the dev set, deploy under a steady chat load,
roll back, and see a worse change refused.

This stack runs on a copy of the knowledge and of ``var/`` (model, encoder, index) in a
temporary folder, on its own ports, so the checkout's prepared model is never retrained.
Slow (a Rasa training and three side stacks): opt in with ``IARA_TEST_RETRAIN=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from iara.settings import PROJECT_ROOT, get_settings
from iara.stack import Stack
from tests.conftest import TEST_PORT_BASE, stack_test_settings

pytestmark = [pytest.mark.stack,
              pytest.mark.skipif(os.environ.get("IARA_TEST_RETRAIN") != "1",
                                 reason="slow retraining test: set IARA_TEST_RETRAIN=1")]

TOKEN = "admin-token-" + "x" * 20
BASE = TEST_PORT_BASE + 300
# Refused today as out of scope (the NLU misses it), though "siafic" names item 3.7.
QUESTION = "minha tia trabalha com o siafic"
TOPIC, TYPE = "3.7", "geral"
DEV_EVERY = 4  # the copy's dev set keeps every 4th question (shorter evaluations)


@pytest.fixture(scope="module")
def teach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("teach")
    knowledge = tmp / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    dev = yaml.safe_load((knowledge / "dev.yml").read_text(encoding="utf-8"))
    (knowledge / "dev.yml").write_text(
        yaml.safe_dump(dev[::DEV_EVERY], allow_unicode=True, sort_keys=False), encoding="utf-8")
    live = get_settings()
    var = tmp / "var"
    shutil.copytree(live.models_dir, var / "models")
    shutil.copytree(live.index_path, var / "index")
    settings = stack_test_settings(
        tmp, api_port=BASE, rasa_url=f"http://127.0.0.1:{BASE - 3000 + 5}",
        actions_url=f"http://127.0.0.1:{BASE - 3000 + 55}", var_dir=var,
        index_dir=var / "index", knowledge_dir=knowledge, admin_token=TOKEN)
    with Stack(settings, log_dir=tmp / "log") as stack:
        stack.wait_healthy(timeout=600)
        stack.warm_up()
        yield stack


def admin(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{stack.settings.api_base_url}/api/admin{path}",
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120, **kwargs)


def items_of(stack: Stack, sender: str, text: str) -> list[str]:
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
        time.sleep(3)
    raise AssertionError("training did not finish")


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
        with httpx.Client(timeout=60) as client:
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


def test_analyst_teaches_a_question_deploys_under_load_and_rolls_back(teach: Stack) -> None:
    assert httpx.post(f"{teach.settings.api_base_url}/api/admin/train",
                      timeout=30).status_code == 401
    before = items_of(teach, "teach-before", QUESTION)
    assert TOPIC not in before, f"Iara already answers {QUESTION!r}: {before}"
    model_before = engine_model(teach)

    started = time.monotonic()
    added = admin(teach, "POST", "/qa", json={"pergunta": QUESTION, "topico": TOPIC,
                                              "tipo": TYPE})
    assert added.status_code == 201, added.text
    with Load(teach) as load:
        assert admin(teach, "POST", "/train").status_code == 202
        assert admin(teach, "POST", "/train").status_code == 409  # one at a time
        run = wait_training(teach)
        time.sleep(3)  # the action server picks the new index up within seconds
    assert run["status"] == "deployed", run
    after = items_of(teach, "teach-after", QUESTION)
    live_seconds = time.monotonic() - started
    print(f"\nanalyst adds one Q&A -> Iara answers it live: {live_seconds:.0f}s; chat "
          f"requests during the retrain: {load.ok} ok, {len(load.failed)} failed; "
          f"metrics {run['metricas']} vs {run['referencia']}")
    assert load.failed == [] and load.ok > 0
    assert TOPIC in after, after
    assert engine_model(teach) != model_before
    history = admin(teach, "GET", "/trainings").json()
    assert history[0]["status"] == "deployed" and history[0]["metricas"]

    rolled = admin(teach, "POST", "/rollback")
    assert rolled.status_code == 200, rolled.text
    time.sleep(3)
    assert engine_model(teach) == model_before
    assert items_of(teach, "teach-rollback", QUESTION) == before


def test_a_change_that_worsens_the_evaluation_is_refused(teach: Stack) -> None:
    knowledge = teach.settings.knowledge_dir
    model_before = engine_model(teach)
    answer_before = items_of(teach, "worse-before", "qual o prazo para enviar o RREO?")
    # An edit that empties every deadline section (outside the admin API, as a careless
    # edit of the files would): the NLU is unchanged, the answers lose their facts.
    for path in sorted((knowledge / "itens").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(## Prazos e validade\n).*?(?=\n## )",
                               r"\1\nConteúdo em revisão.\n", text, flags=re.DOTALL),
                        encoding="utf-8")
    assert admin(teach, "POST", "/train").status_code == 202
    run = wait_training(teach)
    assert run["status"] == "rejected", run
    assert "must_mention_coverage" in run["decisao"]
    assert engine_model(teach) == model_before
    assert items_of(teach, "worse-after", "qual o prazo para enviar o RREO?") == answer_before
    pointer = teach.settings.var_dir / "index-current"
    assert not pointer.exists() or run["versao"] not in pointer.read_text()
