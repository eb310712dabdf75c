"""Through the real running stack: Rasa engine + action server + API, as `make run` starts
them (on test ports, with a fresh SQLite tracker store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from iara.stack import Stack

pytestmark = pytest.mark.stack

RREO_QUESTION = "qual o prazo para enviar o RREO ao Siconfi?"


def chat(stack: Stack, sender: str, message: str) -> dict:
    response = httpx.post(f"{stack.settings.api_base_url}/api/chat",
                          json={"sender": sender, "message": message}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_health_is_ok_for_every_component(stack: Stack) -> None:
    response = httpx.get(f"{stack.settings.api_base_url}/health", timeout=10)
    assert response.status_code == 200
    assert {k: v["ok"] for k, v in response.json()["components"].items()} == {
        "engine": True, "actions": True, "index": True}


def test_rreo_question_gets_a_short_card_answer_with_its_sources(stack: Stack) -> None:
    body = chat(stack, "e2e-rreo", RREO_QUESTION)
    assert body["sender"] == "e2e-rreo"
    answers = [m for m in body["messages"] if m["sources"]]
    assert answers, body
    answer = answers[0]
    assert "30 dias" in answer["text"] and "bimestre" in answer["text"]
    assert len(answer["text"].split()) <= 60  # the card's direct answer, not a section
    assert all(s["item"] == "3.2.2" and s["title"] for s in answer["sources"])
    assert all(s["url"].startswith("https://") for s in answer["sources"])
    link = answer["link"]
    assert link["title"] == "Ver explicação completa"
    assert link["url"].startswith(f"{stack.settings.public_base_url}/conteudos/item-3.2.2#")
    page = httpx.get(link["url"].replace(stack.settings.public_base_url,
                                         stack.settings.api_base_url), timeout=10)
    assert page.status_code == 200 and "Prazos e validade" in page.text


def test_follow_up_keeps_the_topic(stack: Stack) -> None:
    chat(stack, "e2e-follow", RREO_QUESTION)
    answer = chat(stack, "e2e-follow", "e quem homologa?")["messages"][0]
    assert answer["sources"][0]["item"] == "3.2.2"
    assert "homolog" in answer["text"].lower()


def test_restart_forgets_the_topic(stack: Stack) -> None:
    chat(stack, "e2e-restart-cmd", RREO_QUESTION)
    messages = chat(stack, "e2e-restart-cmd", "recomeçar")["messages"]
    assert "vamos recomeçar" in messages[0]["text"]
    token = stack.settings.rasa_token.get_secret_value()  # type: ignore[union-attr]
    url = f"{str(stack.settings.rasa_url).rstrip('/')}/conversations/web:e2e-restart-cmd/tracker"
    tracker = httpx.get(url, params={"token": token}, timeout=30).json()
    assert tracker["slots"]["ultimo_topico"] is None


def test_a_pendencia_without_item_asks_back_then_answers_the_chosen_item(stack: Stack) -> None:
    asked = chat(stack, "e2e-pendencia", "estou com pendência no cauc")["messages"]
    assert len(asked) == 1 and asked[0]["sources"] == []
    assert "Qual item do extrato" in asked[0]["text"]
    button = asked[0]["buttons"][0]
    assert button["payload"] == '/perguntar{"item":"3.2.3","aspecto":"como_regularizar"}'
    answer = chat(stack, "e2e-pendencia", button["payload"])["messages"]
    assert answer[0]["sources"][0]["item"] == "3.2.3"
    assert "SIOPE" in answer[0]["text"] and "\n1. " in answer[0]["text"]  # how: the steps


def test_feedback_is_stored_and_a_person_can_be_asked_for(stack: Stack) -> None:
    from sqlalchemy import select

    from iara.db import Database, Feedback, UnansweredQuestion

    answer = chat(stack, "e2e-feedback", "qual a base legal do item 1.5?")["messages"]
    assert answer[0]["sources"][0]["item"] == "1.5"
    not_useful = next(b for b in answer[0]["buttons"] if "nao_util" in b["payload"])
    reply = chat(stack, "e2e-feedback", not_useful["payload"])["messages"]
    assert reply[0]["sources"] == [] and reply[0]["buttons"][0]["payload"] == "/pedir_humano"
    handoff = chat(stack, "e2e-feedback", "quero falar com uma pessoa")["messages"]
    assert handoff[0]["handoff"] is True and "perguntas frequentes" in handoff[0]["text"]
    with Database(stack.settings.database_url).session() as session:
        feedback = session.scalars(select(Feedback).where(
            Feedback.sender == "web:e2e-feedback")).one()
        queued = session.scalars(select(UnansweredQuestion).where(
            UnansweredQuestion.sender == "web:e2e-feedback")).all()
    assert (feedback.value, feedback.item, feedback.channel) == ("nao_util", "1.5", "web")
    assert feedback.question == "qual a base legal do item 1.5?"
    assert sorted(q.reason for q in queued) == ["handoff", "nao_util"]


def test_the_learning_path_continues_where_the_gestor_is(stack: Stack) -> None:
    answer = chat(stack, "e2e-trilha", RREO_QUESTION)["messages"]
    offer = answer[1]
    assert "Obrigações de transparência" in offer["text"] and "Item 3.2.3" in offer["text"]
    step = chat(stack, "e2e-trilha", offer["buttons"][0]["payload"])["messages"]
    assert step[0]["text"].startswith('Trilha "Obrigações de transparência (grupo III)", '
                                      "conteúdo 5 de 12")
    assert step[0]["sources"][0]["url"].endswith("/conteudos/item-3.2.3")
    following = chat(stack, "e2e-trilha", "próximo conteúdo")["messages"]
    assert "conteúdo 6 de 12: Item 3.2.4" in following[0]["text"]


def test_help_is_available_at_any_time(stack: Stack) -> None:
    chat(stack, "e2e-help", RREO_QUESTION)
    messages = chat(stack, "e2e-help", "ajuda")["messages"]
    assert "Posso explicar" in messages[0]["text"] and messages[0]["sources"] == []
    assert "/pedir_humano" in [b["payload"] for b in messages[0]["buttons"]]


def test_greeting_offers_topic_buttons(stack: Stack) -> None:
    messages = chat(stack, "e2e-oi", "oi")["messages"]
    assert "Iara" in messages[0]["text"]
    assert [b["title"] for b in messages[0]["buttons"]][:1] == ["O que é o CAUC?"]
    assert messages[0]["sources"] == []


def test_credentials_are_refused_and_not_queued(stack: Stack) -> None:
    messages = chat(stack, "e2e-senha", "entra no siconfi com login prefeitura e senha "
                    "Pref@2026 e homologa o rreo pra mim")["messages"]
    assert all(not m["sources"] for m in messages)
    assert "não envie senhas" in messages[0]["text"]


def test_out_of_scope_is_refused_without_sources(stack: Stack) -> None:
    messages = chat(stack, "e2e-oos", "qual a receita de bolo de cenoura?")["messages"]
    assert messages and "só consigo ajudar com o CAUC" in messages[0]["text"]
    assert all(not m["sources"] for m in messages)


def test_engine_api_requires_the_token(stack: Stack) -> None:
    url = f"{stack.settings.rasa_url}".rstrip("/") + "/status"
    assert httpx.get(url, timeout=10).status_code == 401
    token = stack.settings.rasa_token.get_secret_value()  # type: ignore[union-attr]
    assert httpx.get(url, params={"token": token}, timeout=10).status_code == 200


def test_cli_ask_json_is_the_api_response(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iara.cli", "ask", RREO_QUESTION, "--json", "--sender", "cli-e2e",
         "--api-url", stack.settings.api_base_url],
        capture_output=True, text=True, timeout=120, check=True)
    body = json.loads(result.stdout)
    assert set(body) == {"sender", "messages"} and body["sender"] == "cli-e2e"
    assert body["messages"][0]["sources"][0]["item"] == "3.2.2"


def test_eval_answers_runs_through_the_api(stack: Stack, tmp_path: Path) -> None:
    questions = tmp_path / "q.yml"
    questions.write_text(
        '- q: "qual o prazo para enviar o RREO ao Siconfi?"\n  item: "3.2.2"\n'
        '  topic: "3.2.2"\n  must_mention: ["30 dias"]\n'
        '- q: "qual a receita de bolo de cenoura?"\n  item: null\n'
        '  topic: out_of_scope\n  must_mention: []\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "iara.cli", "eval", "answers", str(questions), "--json",
         "--api-url", stack.settings.api_base_url],
        capture_output=True, text=True, timeout=300, check=True)
    totals = json.loads(result.stdout)["q"]["totals"]
    assert totals["item_accuracy"] == 1.0 and totals["must_mention_coverage"] == 1.0
    assert totals["oos_decline_rate"] == 1.0 and totals["p50_ms"] > 0


def test_conversation_survives_an_engine_restart(stack: Stack) -> None:
    chat(stack, "e2e-restart", RREO_QUESTION)
    stack.stop()
    stack.start()
    stack.wait_healthy(timeout=600)
    token = stack.settings.rasa_token.get_secret_value()  # type: ignore[union-attr]
    url = f"{str(stack.settings.rasa_url).rstrip('/')}/conversations/web:e2e-restart/tracker"
    tracker = httpx.get(url, params={"token": token}, timeout=30).json()
    texts = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    assert RREO_QUESTION in texts
    assert Path(stack.settings.tracker_store_url.removeprefix("sqlite:///")).exists()
