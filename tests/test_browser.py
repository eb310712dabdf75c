"""The web chat page and the portal widget in a real browser: Debian's Chromium driven by
Playwright, against the real running stack (engine + action server + API).

Screenshots for the README: ``IARA_UPDATE_SCREENSHOTS=1`` rewrites docs/chat-*.png; without
it the suite never touches committed files.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    FrameLocator,
    Page,
    Route,
    expect,
    sync_playwright,
)

from iara.settings import PROJECT_ROOT, Settings
from iara.stack import Stack, settings_env

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 45_000  # an answer on 2 busy cores can take a few seconds
RREO_QUESTION = "qual o prazo para enviar o RREO ao Siconfi?"
XSS = "<img src=x onerror=alert(1)><script>alert(1)</script>"
FEEDBACK = [{"title": "👍 Útil", "payload": '/avaliar{"avaliacao":"util"}'},
            {"title": "👎 Não útil", "payload": '/avaliar{"avaliacao":"nao_util"}'}]
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}
UPDATE_SCREENSHOTS = os.environ.get("IARA_UPDATE_SCREENSHOTS") == "1"

expect.set_options(timeout=TIMEOUT_MS)


# --- Browser and pages ------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package "
                    "(apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page, and what must never happen on it: a dialog (alert) or a JavaScript error."""

    page: Page
    dialogs: list[str]
    errors: list[str]
    console: list[str]


def open_page(browser: Browser, **context_options: Any) -> Watched:
    context = browser.new_context(locale="pt-BR", **({"viewport": DESKTOP} | context_options))
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watched = Watched(page, [], [], [])

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        watched.console.append(message.text)

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    page.on("console", on_console)
    return watched


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    w = open_page(browser)
    yield w
    w.page.context.close()
    assert w.dialogs == [] and w.errors == []


@pytest.fixture
def page(watched: Watched) -> Page:
    return watched.page


def bot_messages(page: Page | FrameLocator) -> Any:
    return page.locator("#log .msg.bot")


def user_messages(page: Page | FrameLocator) -> Any:
    return page.locator("#log .msg.me")


def wait_idle(page: Page | FrameLocator, bot_count: int) -> Any:
    """Wait until the bot has said more than ``bot_count`` messages and stopped typing."""
    expect(bot_messages(page).nth(bot_count)).to_be_visible()
    expect(page.locator("#typing")).to_be_hidden()
    return bot_messages(page).nth(bot_count)


def open_chat(page: Page, stack: Stack, query: str = "") -> Any:
    page.goto(f"{stack.settings.api_base_url}/{query}")
    greeting = wait_idle(page, 0)
    expect(greeting).to_contain_text("Iara")
    return greeting


def ask(page: Page | FrameLocator, text: str, *, press_enter: bool = False) -> Any:
    """Type a question, send it, return the first bot message of the answer."""
    before = bot_messages(page).count()
    page.locator("#message").fill(text)
    if press_enter:
        page.locator("#message").press("Enter")
    else:
        page.locator("#send").click()
    return wait_idle(page, before)


# --- The chat page against the real stack -------------------------------------------------
def test_question_gets_an_answer_with_source_links_and_a_typing_indicator(
        page: Page, stack: Stack) -> None:
    open_chat(page, stack)
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.locator("#log")).to_have_attribute("aria-live", "polite")
    # Record whether "Iara está digitando…" was shown while the answer was on its way.
    page.evaluate("""() => {
        const typing = document.getElementById('typing');
        window.__sawTyping = false;
        new MutationObserver(() => { if (!typing.hidden) window.__sawTyping = true; })
            .observe(typing, {attributes: true});
    }""")
    answer = ask(page, RREO_QUESTION)
    assert page.evaluate("window.__sawTyping") is True
    expect(page.locator("#typing")).to_contain_text("Iara está digitando")
    expect(user_messages(page).last).to_have_text("Você: " + RREO_QUESTION)
    expect(answer).to_contain_text("30 dias")
    # The card's own sources (official pages), and the full explanation one tap away.
    links = answer.locator(".sources a")
    expect(answer.locator(".sources-title")).to_have_text("Fontes")
    assert links.count() >= 1
    for i in range(links.count()):
        assert links.nth(i).get_attribute("href").startswith("https://")
        assert links.nth(i).get_attribute("target") == "_blank"
        assert "noopener" in links.nth(i).get_attribute("rel")
    explain = answer.locator("a.explain")
    expect(explain).to_contain_text("Ver explicação completa")
    assert explain.get_attribute("href").endswith("/conteudos/item-3.2.2#prazos-e-validade")


def test_quick_reply_shows_its_title_and_sends_its_payload(page: Page, stack: Stack) -> None:
    with page.expect_response("**/api/chat") as greeting_response:
        greeting = open_chat(page, stack)
    buttons = greeting_response.value.json()["messages"][0]["buttons"]
    assert buttons, "the greeting offers quick replies"
    replies = greeting.locator(".quick-replies button")
    expect(replies).to_have_count(len(buttons))
    expect(greeting.locator(".quick-replies")).to_have_attribute("role", "group")
    before = bot_messages(page).count()
    with page.expect_request("**/api/chat") as request:
        replies.first.click()
    assert json.loads(request.value.post_data or "{}")["message"] == buttons[0]["payload"]
    expect(user_messages(page).last).to_have_text("Você: " + buttons[0]["title"])
    expect(wait_idle(page, before)).not_to_be_empty()


def test_html_typed_by_the_user_shows_as_text(watched: Watched, stack: Stack) -> None:
    page = watched.page
    open_chat(page, stack)
    ask(page, XSS)
    mine = user_messages(page).last.locator(".msg-text")
    expect(mine).to_have_text(XSS)
    assert mine.evaluate("node => node.children.length") == 0
    assert page.locator("#log img, #log script").count() == 0
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert watched.dialogs == []


def test_bot_data_is_rendered_as_text_never_as_html(watched: Watched, stack: Stack) -> None:
    """Whatever the engine sends (HTML in texts, titles, a javascript: URL, unknown keys),
    the page shows text and safe links."""
    page = watched.page
    hostile = {"sender": "x", "messages": [{
        "text": "Veja <img src=x onerror=alert(1)> e https://www.tesouro.gov.br/cauc.",
        "handoff": True, "unknown": {"a": 1},
        "buttons": [{"title": "<b>negrito</b>", "payload": "<script>alert(2)</script>"}],
        "sources": [{"title": "<script>alert(3)</script>", "url": "javascript:alert(4)"},
                    {"title": "Fonte boa", "url": "https://www.gov.br/tesouro", "format": "video",
                     "item": None, "trilha": "t", "extra": 1}],
    }]}
    page.route("**/api/chat", lambda route: route.fulfill(json=hostile))
    page.goto(stack.settings.api_base_url + "/")
    message = wait_idle(page, 0)
    expect(message.locator(".msg-text")).to_contain_text(
        "Veja <img src=x onerror=alert(1)> e https://www.tesouro.gov.br/cauc")
    in_text = message.locator(".msg-text a")
    expect(in_text).to_have_attribute("href", "https://www.tesouro.gov.br/cauc")
    expect(message.locator(".quick-replies button")).to_have_text("<b>negrito</b>")
    sources = message.locator(".sources li")
    expect(sources.first).to_have_text("<script>alert(3)</script>")
    assert sources.first.locator("a").count() == 0  # javascript: is not a link
    expect(sources.nth(1).locator("a")).to_have_attribute("href", "https://www.gov.br/tesouro")
    expect(sources.nth(1).locator(".source-format")).to_have_text("vídeo")
    assert page.locator("#log img, #log script, #log b").count() == 0
    page.wait_for_timeout(300)
    assert watched.dialogs == []


def test_engine_error_is_shown_and_can_be_retried(page: Page, stack: Stack) -> None:
    state = {"down": True}

    def engine(route: Route) -> None:
        if state["down"]:
            route.fulfill(status=503, json={
                "error": "engine_unavailable", "details": [],
                "message": "A Iara está temporariamente indisponível."})
        else:
            route.continue_()

    page.route("**/api/chat", engine)
    page.goto(stack.settings.api_base_url + "/")
    error = page.locator("#log .msg.error")
    expect(error).to_contain_text("temporariamente indisponível")
    state["down"] = False
    error.get_by_role("button", name="Tentar de novo").click()
    expect(error).to_have_count(0)
    expect(bot_messages(page).first).to_contain_text("Iara")


def test_history_is_kept_across_a_reload(page: Page, stack: Stack) -> None:
    open_chat(page, stack)
    ask(page, RREO_QUESTION)
    texts = page.locator("#log .msg").all_inner_texts()
    sender = page.evaluate("sessionStorage.getItem('iara.sender')")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/chat" in r.url else None)
    page.reload()
    expect(page.locator("#log .msg")).to_have_count(len(texts))
    assert page.locator("#log .msg").all_inner_texts() == texts
    assert page.evaluate("sessionStorage.getItem('iara.sender')") == sender
    answer = bot_messages(page).filter(has=page.locator(".sources"))
    expect(answer.locator(".sources a").first).to_be_visible()
    page.wait_for_timeout(300)
    assert requests == []  # no new greeting: the conversation goes on
    # ... and the engine still knows the topic: a follow-up stays on item 3.2.2.
    follow_up = ask(page, "e se eu não conseguir?")
    expect(follow_up.locator("a.explain")).to_have_attribute(
        "href", re.compile(r"/conteudos/item-3\.2\.2(#|$)"))


def test_restart_starts_a_new_conversation(page: Page, stack: Stack) -> None:
    open_chat(page, stack)
    ask(page, RREO_QUESTION)
    sender = page.evaluate("sessionStorage.getItem('iara.sender')")
    page.get_by_role("button", name="Recomeçar").click()
    greeting = wait_idle(page, 0)
    expect(page.locator("#log .msg")).to_have_count(1)
    expect(greeting).to_contain_text("Iara")
    assert page.evaluate("sessionStorage.getItem('iara.sender')") != sender
    assert len(json.loads(page.evaluate("sessionStorage.getItem('iara.history')"))) == 1
    expect(page.locator("#message")).to_be_focused()
    page.reload()
    expect(page.locator("#log .msg")).to_have_count(1)


def focused(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
        return {id: e.id, cls: e.className, tag: e.tagName, text: e.textContent.trim(),
                outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight};
    }""")
    return result


def shift_tab_until(page: Page, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Move focus backwards until ``wanted``; every stop on the way shows a focus ring."""
    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        now = focused(page)
        assert now["outline"] != "none" and now["outlineWidth"] >= 2, now
        assert now["visible"], now
        if wanted(now):
            return now
    pytest.fail("not reachable with the keyboard")


def test_keyboard_only(page: Page, stack: Stack) -> None:
    open_chat(page, stack)
    expect(page.locator("#message")).to_be_focused()  # type right away
    page.keyboard.type(RREO_QUESTION)
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(wait_idle(page, before)).to_contain_text("30 dias")
    expect(page.locator("#message")).to_be_focused()
    # Backwards through the answer's links, the conversation and the header to the skip
    # link, which leads back to the question field.
    shift_tab_until(page, lambda f: f["cls"] == "skip-link")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_be_focused()
    # A quick reply of the greeting, activated with the space bar.
    reply = shift_tab_until(page, lambda f: "quick-reply" in f["cls"])
    before = bot_messages(page).count()
    page.keyboard.press(" ")
    expect(user_messages(page).last).to_have_text("Você: " + reply["text"])
    wait_idle(page, before)


def test_feedback_buttons_on_a_live_answer(page: Page, stack: Stack) -> None:
    open_chat(page, stack)
    answer = ask(page, RREO_QUESTION)
    group = answer.locator(".feedback")
    expect(group).to_have_attribute("role", "group")
    useful = group.get_by_role("button", name="Esta resposta foi útil", exact=True)
    not_useful = group.get_by_role("button", name="Esta resposta não foi útil", exact=True)
    expect(useful).to_have_text("Útil")  # the emoji is drawn as an icon
    expect(not_useful).to_have_text("Não útil")
    expect(useful.locator("svg")).to_have_attribute("aria-hidden", "true")
    expect(answer.locator(".quick-replies")).to_have_count(0)  # not mixed with suggestions
    before = bot_messages(page).count()
    with page.expect_response("**/api/chat") as response:
        useful.click()
    assert response.value.status == 200
    expect(useful).to_be_disabled()
    expect(not_useful).to_be_disabled()
    expect(useful).to_have_attribute("aria-pressed", "true")
    expect(group.locator(".feedback-thanks")).to_be_visible()
    if bot_messages(page).count() > before:  # the bot's thanks, if it says one
        wait_idle(page, before)
    page.reload()
    expect(bot_messages(page).nth(1).get_by_role(
        "button", name="Esta resposta foi útil", exact=True)).to_be_disabled()


def test_feedback_group_behaviour(page: Page, stack: Stack) -> None:
    """The feedback group with a stand-in answer: payload sent, disabled after use, and an
    unrated group goes away once the gestor moves on (it rates the latest answer only)."""
    sent: list[str] = []

    def engine(route: Route) -> None:
        message = json.loads(route.request.post_data or "{}")["message"]
        sent.append(message)
        if message == "oi":
            route.fulfill(json={"sender": "x", "messages": [{"text": "Olá! Eu sou a Iara."}]})
        elif message.startswith("/avaliar"):
            route.fulfill(json={"sender": "x", "messages": [{"text": "Obrigada!"}]})
        else:
            route.fulfill(json={"sender": "x", "messages": [
                {"text": f"Resposta a {message}", "buttons": FEEDBACK,
                 "sources": [{"title": "Fonte", "url": "/conteudos/item-3.2.2"}]}]})

    page.route("**/api/chat", engine)
    open_chat(page, stack)
    first = ask(page, "primeira pergunta")
    second = ask(page, "segunda pergunta")
    expect(first.locator(".feedback")).to_have_count(0)
    expect(page.locator(".feedback")).to_have_count(1)  # only the latest answer's
    expect(second.locator(".feedback")).to_have_count(1)
    not_useful = second.get_by_role("button", name="Esta resposta não foi útil")
    not_useful.click()
    expect(not_useful).to_have_attribute("aria-pressed", "true")
    expect(second.get_by_role("button", name="Esta resposta foi útil")).to_be_disabled()
    expect(bot_messages(page).last).to_have_text("Iara: Obrigada!")
    assert sent[-1] == '/avaliar{"avaliacao":"nao_util"}'
    assert user_messages(page).count() == 2  # a rating is not a chat message
    ask(page, "terceira pergunta")
    expect(second.locator(".feedback button")).to_have_count(2)  # rated: kept, disabled
    expect(second.locator(".feedback button").first).to_be_disabled()


def test_phone_width(browser: Browser, stack: Stack) -> None:
    w = open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True,
                  device_scale_factor=2)
    page = w.page
    try:
        greeting = open_chat(page, stack)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        expect(page.locator(".tagline")).to_be_hidden()
        send = page.get_by_role("button", name="Enviar")
        expect(send).to_be_visible()
        box = page.locator("#composer").bounding_box()
        assert box and box["y"] + box["height"] <= PHONE["height"]
        reply = greeting.locator(".quick-reply").first
        reply_box = reply.bounding_box()
        assert reply_box and reply_box["height"] >= 40  # a comfortable touch target
        before = bot_messages(page).count()
        reply.tap()
        wait_idle(page, before)
        answer = ask(page, RREO_QUESTION)
        expect(answer).to_contain_text("30 dias")
        answer_box = answer.bounding_box()
        assert answer_box and answer_box["x"] >= 0
        assert answer_box["x"] + answer_box["width"] <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert w.errors == [] and w.dialogs == []
    finally:
        page.context.close()


# --- The widget on a portal of another origin ---------------------------------------------
PORTAL_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prefeitura Municipal de Exemplo</title>
<style>/* a portal's careless CSS must not reach the widget */
  body {{ font: 22px Georgia, serif; color: #800; }}
  div, button, iframe {{ background: yellow !important; padding: 40px !important; }}
</style></head>
<body><h1>Prefeitura Municipal de Exemplo</h1><p>Serviços, notícias e transparência.</p>
<script src="{iara}/static/widget.js" defer
        data-label="Dúvidas sobre o CAUC? Fale com a Iara"></script>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Portal:
    origin: str           # where the portal pages are served (another origin than Iara)
    allowed_iara: str     # an Iara API that lists the portal in IARA_ALLOWED_ORIGINS
    default_iara: str     # the stack's API: default settings, only its own origin

    def url(self, page: str) -> str:
        return f"{self.origin}/{page}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def portal(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    root = tmp_path_factory.mktemp("portal")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # "localhost" vs Iara's 127.0.0.1: another site, not only another origin.
    origin = f"http://localhost:{server.server_address[1]}"
    # A second API process, configured through the environment as a deployment would be,
    # in front of the same engine and action server.
    port = free_port()
    env = {**os.environ, **settings_env(stack.settings), "IARA_API_PORT": str(port),
           "IARA_ALLOWED_ORIGINS": json.dumps([origin])}
    log = (root / "api.log").open("wb")
    api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    allowed = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: api.poll() is None and
                   httpx.get(allowed + "/health", timeout=5).status_code == 200, 120,
                   "the widget's API")
        for name, iara in (("portal.html", allowed),
                           ("other-portal.html", stack.settings.api_base_url)):
            (root / name).write_text(PORTAL_PAGE.format(iara=iara), encoding="utf-8")
        yield Portal(origin, allowed, stack.settings.api_base_url)
    finally:
        api.terminate()
        api.wait(timeout=20)
        log.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("value", [
    "prefeitura.sp.gov.br", "https://www.prefeitura.sp.gov.br/portal", "https://*.sp.gov.br",
    "*", "https://a.gov.br; script-src *", "ftp://a.gov.br", "https://a.gov.br:70000"])
def test_allowed_origins_refuses_what_is_not_an_origin(value: str) -> None:
    with pytest.raises(ValueError, match="allowed_origins"):
        Settings(allowed_origins=[value])


def test_allowed_origins_are_normalised() -> None:
    settings = Settings(allowed_origins=["HTTPS://Www.Prefeitura.SP.gov.br/",
                                         "https://www.prefeitura.sp.gov.br", "http://[::1]:8080"])
    assert settings.allowed_origins == ["https://www.prefeitura.sp.gov.br", "http://[::1]:8080"]


def test_widget_headers_follow_the_allowed_origins(portal: Portal) -> None:
    page = httpx.get(portal.allowed_iara + "/", timeout=10)
    assert f"frame-ancestors 'self' {portal.origin}" in page.headers["content-security-policy"]
    default = httpx.get(portal.default_iara + "/", timeout=10)
    assert default.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    preflight = {"Origin": portal.origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    allowed = httpx.options(portal.allowed_iara + "/api/chat", headers=preflight, timeout=10)
    assert allowed.headers.get("access-control-allow-origin") == portal.origin
    chat = httpx.post(portal.allowed_iara + "/api/chat", json={"sender": "cors", "message": "oi"},
                      headers={"Origin": portal.origin}, timeout=60)
    assert chat.status_code == 200
    assert chat.headers.get("access-control-allow-origin") == portal.origin
    refused = httpx.options(portal.default_iara + "/api/chat", headers=preflight, timeout=10)
    assert "access-control-allow-origin" not in refused.headers
    other = httpx.options(portal.allowed_iara + "/api/chat", timeout=10, headers={
        **preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def widget_parts(page: Page) -> tuple[Any, Any, FrameLocator]:
    bubble = page.locator("iara-widget .bubble")
    panel = page.locator("iara-widget .panel")
    return bubble, panel, page.frame_locator("iara-widget iframe")


def test_widget_opens_and_chats_on_a_portal_of_another_origin(
        watched: Watched, portal: Portal) -> None:
    page = watched.page
    page.goto(portal.url("portal.html"))
    bubble, panel, chat = widget_parts(page)
    expect(bubble).to_be_visible()
    expect(bubble).to_have_accessible_name("Dúvidas sobre o CAUC? Fale com a Iara")
    expect(bubble).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()
    # The portal's CSS does not reach into the widget.
    assert bubble.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 92, 126)"
    assert page.locator("iara-widget iframe").count() == 0  # nothing loaded before opening
    bubble.click()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("role", "dialog")
    expect(page.locator("iara-widget iframe")).to_have_attribute(
        "src", portal.allowed_iara + "/?embed=1")
    greeting = wait_idle(chat, 0)
    expect(greeting).to_contain_text("Iara")
    expect(chat.locator("#message")).to_be_focused()
    answer = ask(chat, RREO_QUESTION, press_enter=True)
    expect(answer).to_contain_text("30 dias")
    expect(answer.locator("a.explain")).to_have_attribute(
        "href", re.compile(r"/conteudos/item-3\.2\.2#"))
    shown = chat.locator("#log .msg").count()
    # Closing from inside the chat returns the focus to the bubble.
    chat.get_by_role("button", name="Fechar o chat").click()
    expect(panel).to_be_hidden()
    expect(bubble).to_be_focused()
    expect(bubble).to_have_attribute("aria-expanded", "false")
    # Reopened, the conversation is still there; Escape closes it too.
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(chat.locator("#log .msg")).to_have_count(shown)
    expect(chat.locator("#message")).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bubble).to_be_focused()


def test_widget_is_refused_on_a_portal_that_is_not_allowed(
        watched: Watched, portal: Portal) -> None:
    page = watched.page
    page.goto(portal.url("other-portal.html"))
    bubble, panel, chat = widget_parts(page)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        bubble.click()
    expect(panel).to_be_visible()
    assert chat.locator("#message").count() == 0


def test_widget_fills_a_phone_screen(browser: Browser, portal: Portal) -> None:
    w = open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    page = w.page
    try:
        page.goto(portal.url("portal.html"))
        bubble, panel, chat = widget_parts(page)
        bubble.tap()
        wait_idle(chat, 0)
        assert panel.bounding_box() == {"x": 0, "y": 0, **PHONE}
        expect(bubble).to_be_hidden()  # the chat's own "Fechar" closes it
        chat.get_by_role("button", name="Fechar o chat").tap()
        expect(panel).to_be_hidden()
        expect(bubble).to_be_visible()
        assert w.errors == []
    finally:
        page.context.close()


# --- README screenshots (opt-in) ----------------------------------------------------------
@pytest.mark.skipif(not UPDATE_SCREENSHOTS, reason="set IARA_UPDATE_SCREENSHOTS=1 to rewrite "
                    "docs/chat-desktop.png and docs/chat-phone.png")
def test_update_readme_screenshots(browser: Browser, stack: Stack) -> None:
    """Desktop: a cited answer with its sources and feedback buttons. Phone: the greeting's
    quick replies and HTML typed by the user, shown as text."""
    docs = PROJECT_ROOT / "docs"
    shots = (("chat-desktop.png", RREO_QUESTION, {"viewport": DESKTOP}),
             ("chat-phone.png", XSS, {"viewport": PHONE, "is_mobile": True, "has_touch": True,
                                      "device_scale_factor": 2}))
    for name, question, options in shots:
        w = open_page(browser, **options)
        page = w.page
        try:
            open_chat(page, stack)
            ask(page, question)
            page.locator("#message").blur()
            page.evaluate("const log = document.getElementById('log'); "
                          "log.scrollTop = log.scrollHeight;")
            page.screenshot(path=str(docs / name))
        finally:
            page.context.close()
