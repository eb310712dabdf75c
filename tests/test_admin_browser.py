"""The admin page in a real browser (Debian's Chromium driven by Playwright): curation
against a real API server on a copy of the knowledge (no engine needed), training and
rollback against the session's retraining stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from api.app import create_app
from iara.admin import auth
from iara.db import Database, UnansweredQuestion
from iara.settings import PROJECT_ROOT, Settings
from iara.stack import Stack
from tests.admin_stack import admin, engine_model
from tests.standins.server import serving

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "senha-do-navegador"
# Ceiling for a deploy or rollback (engine model load + action server warm-up).
DEPLOY_WAIT_MS = 180_000

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; make test does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    settings = Settings(knowledge_dir=knowledge, var_dir=tmp_path / "var",
                        database_url=f"sqlite:///{tmp_path / 'iara.db'}",
                        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}")
    db = Database(settings.database_url)
    auth.add_user(db, "ana", PASSWORD)
    with db.session() as session:
        for i in range(3):
            session.add(UnansweredQuestion(
                sender=f"web:{i}", channel="web", reason="not_found",
                question="como tiro a certidao do fgts da camara", created_at=datetime.now(UTC),
                context=[{"who": "gestor", "text": "meu e-mail é ana@example.com"}]))
    with serving(create_app(settings)) as running:
        yield running.url, settings


def test_analyst_signs_in_turns_a_queue_row_into_a_pair_and_reverts(
        browser: Browser, server: tuple[str, Settings]) -> None:
    url, settings = server
    context = browser.new_context(locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{url}/admin")
    expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    page.get_by_label("Usuário").fill("ana")
    page.get_by_label("Senha").fill("errada")
    page.get_by_role("button", name="Entrar").click()
    expect(page.locator("#status")).to_contain_text("incorretos")
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    expect(page.locator("#user")).to_have_text("ana")

    group = page.locator("#queue-list li").first
    expect(group).to_contain_text("(3×)")
    expect(page.locator("#queue-list")).not_to_contain_text("ana@example.com")
    group.get_by_label("Tópico para").select_option("1.3")
    group.get_by_label("Tipo de pergunta").select_option("como_regularizar")
    group.get_by_role("button", name="Virar pergunta").click()
    expect(page.locator("#status")).to_contain_text("Pergunta adicionada")
    expect(page.locator("#queue-list")).to_contain_text("Nenhuma pergunta na fila")
    path = settings.knowledge_dir / "qa" / "1.3.yml"
    assert "como tiro a certidao do fgts da camara" in path.read_text(encoding="utf-8")

    page.get_by_label("Pergunta", exact=True).fill("pergunta sem tópico válido")
    page.locator("#qa-topic").select_option("1.1")
    page.locator("#qa-text").fill("item 1.1")  # already in qa/1.1.yml: refused
    page.get_by_role("button", name="Adicionar").click()
    expect(page.locator("#status")).to_contain_text("duplicate question")

    row = page.locator("#audit-rows tr").first
    expect(row).to_contain_text("Nova pergunta no cartão 1.3/")
    row.get_by_role("button", name="Desfazer").click()
    expect(page.locator("#status")).to_contain_text("Alteração desfeita")
    assert "como tiro a certidao do fgts da camara" not in path.read_text(encoding="utf-8")
    expect(page.locator("#an-totals")).to_contain_text("Sem resposta")
    assert errors == []
    context.close()


@pytest.mark.stack
def test_analyst_trains_sees_progress_and_history_and_rolls_back(
        browser: Browser, teach: Stack) -> None:
    """The training controls against the session's retraining stack (tests/admin_stack.py;
    its Rasa model is reused, so this adds an evaluation, not a training, to the suite)."""
    auth.add_user(Database(teach.settings.database_url), "bia", PASSWORD)
    doc = sorted((teach.settings.knowledge_dir / "itens").glob("*.md"))[0]
    original = doc.read_text(encoding="utf-8")
    model_before = engine_model(teach)
    live_before = admin(teach, "GET", "/train/status").json()["atual"]
    context = browser.new_context(locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        # A change to the knowledge that alters no answer: there is something to train.
        doc.write_text(original + "\n", encoding="utf-8")
        page.goto(f"{teach.settings.api_base_url}/admin")
        page.get_by_label("Usuário").fill("bia")
        page.get_by_label("Senha").fill(PASSWORD)
        page.get_by_role("button", name="Entrar").click()
        expect(page.locator("#user")).to_have_text("bia")
        page.get_by_role("link", name="Treino").click()
        page.get_by_role("button", name="Treinar e publicar").click()
        expect(page.locator("#status")).to_contain_text("Treino iniciado")
        steps = page.get_by_role("list", name="Etapas do treino")
        expect(steps).to_contain_text("validando o conhecimento")
        row = page.locator("#train-rows tr").first
        expect(row).to_contain_text("publicado", timeout=900_000)
        expect(row).to_contain_text("item_accuracy")
        expect(row).to_contain_text("Publicado: nenhuma métrica caiu")
        expect(steps).to_contain_text("avaliando o candidato")
        expect(steps.locator("li").last).to_contain_text("publicado")
        status = admin(teach, "GET", "/train/status").json()
        release = status["atual"]
        assert release != live_before and status["anterior"] == live_before
        expect(page.locator("#train-progress")).to_contain_text(f"Versão no ar: {release}")

        # A rollback loads the previous model in the engine and warms the action server
        # up: about 30 s on a quiet machine, longer on a busy one. The page says it is
        # working meanwhile; the wait below is a ceiling, not a speed target.
        page.get_by_role("button", name="Voltar à versão anterior").click()
        expect(page.locator("#status")).to_contain_text("Voltando à versão anterior")
        expect(page.get_by_role("button", name="Treinar e publicar")).to_be_disabled()
        expect(page.locator("#status")).to_contain_text("Versão no ar:", timeout=DEPLOY_WAIT_MS)
        expect(page.get_by_role("button", name="Treinar e publicar")).to_be_enabled()
        expect(row).to_contain_text("revertido")
        expect(page.locator("#train-progress")).to_contain_text(f"(anterior: {release})")
        assert admin(teach, "GET", "/train/status").json()["atual"] == live_before
        assert engine_model(teach) == model_before
        page.get_by_role("button", name="Voltar à versão anterior").click()  # and back again
        expect(page.locator("#status")).to_contain_text(f"Versão no ar: {release}",
                                                        timeout=DEPLOY_WAIT_MS)
        page.get_by_role("button", name="Voltar à versão anterior").click()
        expect(page.locator("#status")).to_contain_text("Versão no ar:", timeout=DEPLOY_WAIT_MS)
        expect(page.locator("#status")).not_to_contain_text(f"Versão no ar: {release}")
        assert errors == []
    finally:
        doc.write_text(original, encoding="utf-8")
        context.close()
