"""The admin page in a real browser (Debian's Chromium driven by Playwright) against a
real API server on a copy of the knowledge (no engine needed for curation)."""

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
from tests.standins.server import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "senha-do-navegador"

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
    expect(row).to_contain_text("Nova pergunta em 1.3")
    row.get_by_role("button", name="Desfazer").click()
    expect(page.locator("#status")).to_contain_text("Alteração desfeita")
    assert "como tiro a certidao do fgts da camara" not in path.read_text(encoding="utf-8")
    expect(page.locator("#an-totals")).to_contain_text("Sem resposta")
    assert errors == []
    context.close()
