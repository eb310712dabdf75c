"""The API contract and its error paths, with the engine really down (closed port)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.engine import normalize_messages
from iara.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # Port 9 (discard) is closed on these machines: the engine and actions are "down".
    settings = Settings(rasa_url="http://127.0.0.1:9", actions_url="http://127.0.0.1:9",
                        index_dir=tmp_path / "no-index", engine_timeout_s=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def post(client: TestClient, body: object) -> tuple[int, dict]:
    response = client.post("/api/chat", json=body)
    return response.status_code, response.json()


def test_engine_down_is_a_clear_503(client: TestClient) -> None:
    status, body = post(client, {"sender": "a", "message": "prazo do rreo"})
    assert status == 503
    assert body == {"error": "engine_unavailable", "details": [],
                    "message": "A Iara está temporariamente indisponível. "
                               "Tente novamente em alguns instantes."}


@pytest.mark.parametrize(("body", "expected"), [
    ({"sender": "a"}, "O campo 'message' é obrigatório."),
    ({"sender": "a", "message": ""}, "O campo 'message' não pode ficar vazio."),
    ({"sender": "a", "message": "   "}, "O campo 'message' não pode ficar vazio."),
    ({"sender": "a", "message": "x" * 2001}, "O campo 'message' aceita no máximo 2000 caracteres."),
    ({"sender": "s" * 129, "message": "oi"}, "O campo 'sender' aceita no máximo 128 caracteres."),
    ({"sender": "", "message": "oi"}, "O campo 'sender' não pode ficar vazio."),
    ({"sender": "a", "message": 5}, "O campo 'message' deve ser um texto."),
    (["oi"], "O corpo deve ser um objeto JSON com os campos 'sender' e 'message'."),
])
def test_invalid_input_is_a_422_in_portuguese(client: TestClient, body: object,
                                              expected: str) -> None:
    status, answer = post(client, body)
    assert status == 422
    assert answer["error"] == "invalid_request"
    assert expected in answer["message"]
    assert "Traceback" not in str(answer)


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post("/api/chat", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"] == "O corpo da requisição não é um JSON válido."


def test_health_reports_each_component_down(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert {k: v["ok"] for k, v in body["components"].items()} == {
        "engine": False, "actions": False, "index": False}
    assert "iara index build" in body["components"]["index"]["detail"]


def test_chat_page_docs_and_not_found(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'lang="pt-BR"' in page.text
    assert "/static/chat.js" in page.text
    assert client.get("/static/chat.js").status_code == 200
    assert client.get("/docs").status_code == 200
    assert "/api/chat" in client.get("/openapi.json").json()["paths"]
    missing = client.get("/nao-existe")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Página ou recurso não encontrado."


def test_content_page_renders_a_document_safely(client: TestClient) -> None:
    page = client.get("/conteudos/item-3.2.2")
    assert page.status_code == 200
    assert 'id="prazos-e-validade"' in page.text and "Fontes" in page.text
    assert "<script" not in page.text
    assert client.get("/conteudos/item-9.9").status_code == 404


def test_normalize_rasa_rest_output() -> None:
    raw = [
        {"recipient_id": "web:a", "text": "Olá!", "buttons": [
            {"title": "O que é o CAUC?", "payload": "o que é o CAUC?"}]},
        {"recipient_id": "web:a", "custom": {
            "text": "Resposta", "buttons": [],
            "sources": [{"title": "Item 3.2.2", "url": None, "item": "3.2.2",
                         "trilha": "T", "format": "texto"}]}},
        {"recipient_id": "web:a", "image": "http://x/y.png"},
        {"recipient_id": "web:a", "custom": {"text": "Registrei.", "handoff": True}},
    ]
    assert normalize_messages(raw) == [
        {"text": "Olá!", "buttons": [{"title": "O que é o CAUC?", "payload": "o que é o CAUC?"}],
         "sources": [], "link": None, "handoff": False},
        {"text": "Resposta", "buttons": [],
         "sources": [{"title": "Item 3.2.2", "url": None, "item": "3.2.2", "trilha": "T",
                      "format": "texto"}], "link": None, "handoff": False},
        {"text": "Registrei.", "buttons": [], "sources": [], "link": None, "handoff": True},
    ]


class _BusyEngine(BaseHTTPRequestHandler):
    """An engine's REST channel that answers after a pause, as Rasa does while it loads a
    swapped-in model (PUT /model)."""

    pause_s = 1.5

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.pause_s)
        body = json.dumps([{"recipient_id": "x", "text": "Olá!"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy_engine() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BusyEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(("chat_timeout", "status"), [(10.0, 200), (0.5, 503)])
def test_a_chat_message_waits_out_a_busy_engine(tmp_path: Path, busy_engine: str,
                                                chat_timeout: float, status: int) -> None:
    settings = Settings(rasa_url=busy_engine, actions_url="http://127.0.0.1:9",
                        index_dir=tmp_path / "no-index", engine_timeout_s=0.5,
                        engine_chat_timeout_s=chat_timeout)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        code, body = post(client, {"sender": "web:swap", "message": "oi"})
    assert code == status, body
    if status == 200:
        assert body["messages"][0]["text"] == "Olá!"
