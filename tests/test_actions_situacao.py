"""The CAUC situation actions as plain async calls, on a real app database loaded from
the fixture files (invented statuses) with the real loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.knowledge import ActionAnswerFromKnowledge
from bot.actions.situacao import (
    ActionChanges,
    ActionExpiring,
    ActionSituation,
    ActionSubscribe,
    ActionUnsubscribe,
    fix_lines,
)
from cauc import load_file, subscriptions_of
from iara.db import Database
from index.answer import Answerer
from index.card_index import CardIndex
from index.knowledge import Knowledge
from index.retriever import Retriever
from tests.test_actions import DOMAIN, slots_of, tracker_for

FIXTURES = Path(__file__).parent / "fixtures" / "cauc"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'iara.db'}")
    load_file(database, FIXTURES / "municipios-2026-09-15-latin1.csv")
    load_file(database, FIXTURES / "municipios-2026-09-16-utf8.csv")
    return database


async def call(action: Any, text: str, *, intent: str, entities: list[dict] | None = None,
               slots: dict | None = None, sender: str = "web:g1") -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(text, slots, intent=intent, entities=entities, sender=sender)
    events = await action.run(dispatcher, tracker, DOMAIN)
    return events, dispatcher.messages


def municipio(value: str, uf: str | None = None) -> list[dict[str, str]]:
    found = [{"entity": "municipio", "value": value}]
    return found + ([{"entity": "uf", "value": uf}] if uf else [])


async def test_situation_lists_pendencias_with_fixes_buttons_and_sources(
        db: Database, knowledge: Knowledge) -> None:
    action = ActionSituation(db, knowledge, expiry_days=30)
    events, messages = await call(action, "qual a situação de Acrelândia no CAUC?",
                                  intent="consultar_situacao", entities=municipio("Acrelândia"))
    payload = messages[0]["custom"]
    text = payload["text"]
    assert text.startswith("Acrelândia/AC no CAUC, posição de 16/09/2026:")
    assert "1.5 " in text and "Como resolver: Pagando, parcelando ou contestando" in text
    assert "o documento legal é o extrato emitido no próprio CAUC" in text
    assert "desabilitado" in text.lower()
    assert payload["sources"] and payload["sources"][0]["url"].startswith("https://")
    assert '/perguntar{"item":"1.5","aspecto":"como_regularizar"}' in [
        b["payload"] for b in payload["buttons"]]
    assert slots_of(events)["municipio_atual"] == "1200013"


async def test_ambiguous_names_ask_for_the_uf(db: Database, knowledge: Knowledge) -> None:
    events, messages = await call(ActionSituation(db, knowledge, 30), "bom jesus tem pendência?",
                                  intent="consultar_situacao", entities=municipio("Bom Jesus"))
    assert messages[0]["response"] == "utter_municipio_ambiguo"
    titles = sorted(b["title"] for b in messages[0]["buttons"])
    assert titles == ["Bom Jesus/PI", "Bom Jesus/RS"]
    assert slots_of(events) == {"aguardando_municipio": "consultar_situacao"}
    # The button names the IBGE code: the answer follows.
    button = messages[0]["buttons"][0]
    code = button["payload"].split('"municipio":"')[1].rstrip('"}')
    _, messages = await call(ActionSituation(db, knowledge, 30), button["payload"],
                             intent="consultar_situacao", entities=municipio(code))
    assert messages[0]["custom"]["text"].startswith("Bom Jesus/")


async def test_name_with_uf_and_ibge_code_resolve(db: Database, knowledge: Knowledge) -> None:
    action = ActionSituation(db, knowledge, 30)
    _, by_uf = await call(action, "xique xique ba", intent="consultar_situacao",
                          entities=municipio("xique xique", "ba"))
    _, by_code = await call(action, "meu município 2933604", intent="consultar_situacao",
                            entities=municipio("2933604"))
    assert by_uf[0]["custom"]["text"].split("\n")[0] == by_code[0]["custom"]["text"].split(
        "\n")[0] == "Xique-Xique/BA no CAUC, posição de 16/09/2026:"


async def test_without_municipio_iara_asks_and_takes_the_next_message(
        db: Database, knowledge: Knowledge, hash_retriever: Retriever,
        hash_cards: CardIndex) -> None:
    events, messages = await call(ActionSituation(db, knowledge, 30), "como está meu município?",
                                  intent="consultar_situacao")
    assert messages[0]["response"] == "utter_perguntar_municipio"
    assert slots_of(events) == {"aguardando_municipio": "consultar_situacao"}
    # The name alone is no question: the knowledge action hands it to the waiting action.
    answer = ActionAnswerFromKnowledge(Answerer(hash_retriever, hash_cards), knowledge, db)
    events, messages = await call(answer, "Sobral", intent="nlu_fallback",
                                  slots={"aguardando_municipio": "consultar_situacao"})
    assert messages[0]["custom"]["text"].startswith("Sobral/CE no CAUC")
    assert slots_of(events)["aguardando_municipio"] is None
    # A question typed instead of the name is answered as a question.
    events, messages = await call(answer, "qual o prazo para enviar o RREO ao Siconfi?",
                                  intent="perguntar",
                                  slots={"aguardando_municipio": "consultar_situacao"})
    assert slots_of(events)["aguardando_municipio"] is None
    assert messages[0]["custom"]["item"] == "3.2.2"


async def test_unknown_names_get_suggestions_or_a_clear_message(
        db: Database, knowledge: Knowledge) -> None:
    action = ActionSituation(db, knowledge, 30)
    _, messages = await call(action, "situação de Sobrau", intent="consultar_situacao",
                             entities=municipio("Sobrau"))
    assert messages[0]["response"] == "utter_municipio_sugestoes"
    assert messages[0]["buttons"][0]["title"] == "Sobral/CE"
    _, messages = await call(action, "situação de Zzzzzz", intent="consultar_situacao",
                             entities=municipio("Zzzzzz"))
    assert messages[0]["response"] == "utter_municipio_nao_encontrado"


async def test_no_snapshot_loaded_is_said_plainly(tmp_path: Path, knowledge: Knowledge) -> None:
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    _, messages = await call(ActionSituation(empty, knowledge, 30), "Sobral",
                             intent="consultar_situacao", entities=municipio("Sobral"))
    assert messages[0]["response"] in ("utter_sem_dados_cauc", "utter_municipio_nao_encontrado")


async def test_changes_since_the_previous_snapshot(db: Database, knowledge: Knowledge) -> None:
    _, messages = await call(ActionChanges(db, knowledge, 30), "o que mudou em Acrelândia?",
                             intent="consultar_mudancas", entities=municipio("Acrelândia"))
    text = messages[0]["custom"]["text"]
    assert "de 15/09/2026 para 16/09/2026" in text
    assert "Novas pendências:" in text and "1.5" in text
    assert "Pendências resolvidas:" in text and "1.1" in text


async def test_expiring_items_within_the_window(db: Database, knowledge: Knowledge) -> None:
    _, messages = await call(ActionExpiring(db, knowledge, 30), "o que vence em Xique-Xique?",
                             intent="consultar_vencimentos",
                             entities=municipio("Xique-Xique", "BA"))
    text = messages[0]["custom"]["text"]
    assert "nos próximos 30 dias" in text and "4.2" in text


async def test_subscriptions_by_channel(db: Database, knowledge: Knowledge,
                                       hash_retriever: Retriever, hash_cards: CardIndex,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.actions.knowledge as knowledge_actions

    monkeypatch.setattr(knowledge_actions.ActionAnswerFromKnowledge, "answerer",
                        property(lambda self: Answerer(hash_retriever, hash_cards)))
    subscribe_action = ActionSubscribe(db, knowledge, 30)
    # The web chat sends no alerts: no município is asked; the Tesouro's own alerts
    # (área do assinante) come from the knowledge, with their source.
    for entities in (municipio("Sobral"), []):
        events, web = await call(subscribe_action, "me avise quando mudar",
                                 intent="assinar_alertas", entities=entities)
        assert web[0]["response"] == "utter_alertas_so_mensageiros"
        assert web[1]["custom"]["topic"] == "alertas-e-dados-abertos"
        assert web[1]["custom"]["sources"]
        assert slots_of(events)["ultimo_topico"] == "alertas-e-dados-abertos"
    _, first = await call(subscribe_action, "me avise", intent="assinar_alertas",
                          entities=municipio("Sobral"), sender="telegram:77")
    _, again = await call(subscribe_action, "me avise", intent="assinar_alertas",
                          entities=municipio("Sobral"), sender="telegram:77")
    assert [first[0]["response"], again[0]["response"]] == [
        "utter_alerta_assinado", "utter_alerta_ja_assinado"]
    assert [e.label for e in subscriptions_of(db, "telegram", "77")] == ["Sobral/CE"]
    _, cancelled = await call(ActionUnsubscribe(db, knowledge, 30), "cancelar alertas",
                              intent="cancelar_alertas", sender="telegram:77")
    assert cancelled[0]["response"] == "utter_alerta_cancelado"
    assert cancelled[0]["municipio"] == "Sobral/CE"
    assert subscriptions_of(db, "telegram", "77") == []


def test_every_municipal_item_has_a_fix_line(knowledge: Knowledge) -> None:
    fixes = fix_lines(knowledge)
    assert fixes["3.2.3"] == "Transmitindo os bimestres pendentes, em ordem, no SIOPE."
    assert {c for c in fixes} >= {"1.1", "1.5", "3.2.2", "4.2", "5.1"}


async def test_a_long_question_naming_no_municipio_goes_to_the_knowledge(
        db: Database, knowledge: Knowledge, hash_retriever: Retriever, hash_cards: CardIndex,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.actions.knowledge as knowledge_actions

    monkeypatch.setattr(knowledge_actions.ActionAnswerFromKnowledge, "answerer",
                        property(lambda self: Answerer(hash_retriever, hash_cards)))
    question = ("O débito que está travando nossa CND federal é só da Câmara de Vereadores, "
                "existe alguma decisão que ajude o município?")
    _, messages = await call(ActionSituation(db, knowledge, 30), question,
                             intent="consultar_situacao")
    assert "custom" in messages[0] and messages[0]["custom"]["sources"]


async def test_a_long_question_whose_municipio_is_no_municipio_goes_to_the_knowledge(
        db: Database, knowledge: Knowledge, hash_retriever: Retriever, hash_cards: CardIndex,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # DIET took "Afinal" for a município: no ente is like it, so it is a CAUC question.
    import bot.actions.knowledge as knowledge_actions

    monkeypatch.setattr(knowledge_actions.ActionAnswerFromKnowledge, "answerer",
                        property(lambda self: Answerer(hash_retriever, hash_cards)))
    question = ("Sou secretário de finanças recém-nomeado. Afinal, o que é esse CAUC de que "
                "todo mundo fala?")
    for action in (ActionSituation(db, knowledge, 30), ActionExpiring(db, knowledge, 30)):
        _, messages = await call(action, question, intent="consultar_vencimentos",
                                 entities=municipio("Afinal"))
        assert messages[0]["custom"]["sources"], type(action).__name__
    # A name close to a município's still gets the suggestions, however long the message.
    long_request = ("qual a situação de Sobrall no CAUC hoje, a prefeitura tem alguma "
                    "pendência que impeça o convênio?")
    _, messages = await call(ActionSituation(db, knowledge, 30), long_request,
                             intent="consultar_situacao", entities=municipio("Sobrall"))
    assert messages[0]["response"] == "utter_municipio_sugestoes"
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    _, messages = await call(ActionSituation(empty, knowledge, 30), question,
                             intent="consultar_situacao", entities=municipio("Afinal"))
    assert messages[0]["custom"]["sources"]
    # Before any CAUC file is loaded, the NLU's list of names tells: "Sobral" is a place.
    _, messages = await call(ActionSituation(empty, knowledge, 30), long_request.replace(
        "Sobrall", "Sobral"), intent="consultar_situacao", entities=municipio("Sobral"))
    assert messages[0]["response"] in ("utter_sem_dados_cauc", "utter_municipio_nao_encontrado")
