"""The knowledge action called as a plain async call, with a real Tracker and dispatcher."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.knowledge import ActionAnswerFromKnowledge
from index.answer import Answerer
from index.errors import IndexNotBuiltError
from index.retriever import Retriever


def tracker_for(text: str, slots: dict[str, Any] | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": "perguntar_conhecimento", "confidence": 0.9},
              "entities": []}
    return Tracker("gestor-1", slots or {}, latest, [], False, None, None, "action_listen")


async def run(action: ActionAnswerFromKnowledge, text: str,
              slots: dict[str, Any] | None = None) -> tuple[list[Any], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker_for(text, slots), {})
    return events, dispatcher.messages


async def test_answers_with_text_and_sources(hash_retriever: Retriever) -> None:
    action = ActionAnswerFromKnowledge(Answerer(hash_retriever, min_score=0.0,
                                                public_url="http://iara.test"))
    assert action.name() == "action_responder_conhecimento"
    events, messages = await run(action, "qual o prazo para enviar o RREO ao Siconfi?")
    assert events == [{"event": "slot", "timestamp": None, "name": "ultimo_topico",
                       "value": "3.2.2"}]
    assert len(messages) == 1
    payload = messages[0]["custom"]
    assert payload["item"] == "3.2.2"
    assert "30 dias" in payload["text"] and "**" not in payload["text"]
    first = payload["sources"][0]
    assert first["title"].startswith("Item 3.2.2") and "Prazos e validade" in first["title"]
    assert first["url"] == "http://iara.test/conteudos/item-3.2.2#prazos-e-validade"
    assert first["trilha"] == "Obrigações de transparência (grupo III)"
    assert first["format"] == "texto"
    assert any(s["url"] and s["url"].startswith("https://") for s in payload["sources"][1:])


async def test_weak_match_says_it_does_not_know(hash_retriever: Retriever) -> None:
    action = ActionAnswerFromKnowledge(Answerer(hash_retriever, min_score=1.01,
                                                min_sparse=1e9))
    _, messages = await run(action, "receita de bolo de fubá")
    assert [m["response"] for m in messages] == ["utter_nao_sei"]
    assert "custom" not in messages[0] or not messages[0]["custom"]


async def test_index_failure_utters_the_error_response() -> None:
    class BrokenAnswerer:
        def answer(self, question: str, **_: object) -> None:
            raise IndexNotBuiltError("no index")

    action = ActionAnswerFromKnowledge(BrokenAnswerer())  # type: ignore[arg-type]
    _, messages = await run(action, "prazo do rreo")
    assert [m["response"] for m in messages] == ["utter_erro_conhecimento"]


async def test_follow_up_stays_on_the_previous_topic(hash_retriever: Retriever) -> None:
    action = ActionAnswerFromKnowledge(Answerer(hash_retriever))
    events, messages = await run(action, "e se eu não conseguir?", {"ultimo_topico": "4.2"})
    payload = messages[0]["custom"]
    assert payload["item"] == "4.2"
    assert payload["sources"][0]["title"].endswith("› Enquanto isso: comprovação por documento")
    assert events[0]["value"] == "4.2"


async def test_a_new_topic_is_not_forced_into_the_old_one(hash_retriever: Retriever) -> None:
    action = ActionAnswerFromKnowledge(Answerer(hash_retriever, min_score=0.0))
    _, messages = await run(action, "qual o prazo do CRP?", {"ultimo_topico": "3.2.2"})
    payload = messages[0]["custom"]
    assert payload["topic"] != "3.2.2" and "CRP" in payload["text"]


def test_button_titles_are_cut_at_word_boundaries() -> None:
    from bot.actions.knowledge import short_title

    assert short_title("Item 3.2.2 — RREO") == "Item 3.2.2 — RREO"
    label = short_title("Item 3.1.2 — Encaminhamento do Relatório de Gestão Fiscal (RGF)")
    assert label == "Item 3.1.2 — Encaminhamento do…" and len(label) <= 41
