"""Every action area called as a plain async call, with a real Tracker, a real
CollectingDispatcher, the real knowledge and a real (SQLite) app database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions.common import channel_of, last_question, render
from bot.actions.feedback import ActionRecordFeedback
from bot.actions.handoff import ActionHandoff
from bot.actions.knowledge import ActionAnswerFromKnowledge, ActionOutOfScope
from bot.actions.menu import ActionListItems
from bot.actions.trilha import ActionFollowTrilha
from iara.db import Database, Feedback, UnansweredQuestion
from iara.settings import PROJECT_ROOT
from index.answer import Answerer
from index.card_index import CardIndex
from index.errors import IndexNotBuiltError
from index.knowledge import Knowledge
from index.retriever import Retriever
from index.text import slugify

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))


def ASPECT(question_type: str) -> dict[str, str]:
    return {"entity": "aspecto", "value": question_type}


def tracker_for(text: str, slots: dict[str, Any] | None = None, *,
                intent: str = "perguntar",
                entities: list[dict[str, Any]] | None = None,
                events: list[dict[str, Any]] | None = None,
                sender: str = "web:gestor-1") -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "entities": entities or []}
    return Tracker(sender, slots or {}, latest, events or [], False, None, None,
                   "action_listen")


async def run(action: Any, text: str, slots: dict[str, Any] | None = None,
              **kwargs: Any) -> tuple[list[Any], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker_for(text, slots, **kwargs), DOMAIN)
    return events, dispatcher.messages


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'iara.db'}")


def card_answerer(retriever: Retriever, cards: CardIndex, threshold: float = 0.0) -> Answerer:
    """The answer cards with the hash encoder; a threshold of 2 is never reached. The hash
    encoder's score gaps mean nothing, so the type asked always wins (no aspect margin)."""
    return Answerer(retriever, cards, min_card_score=threshold, public_url="http://iara.test",
                    aspect_margin=float("inf"))


@pytest.fixture
def answer_action(hash_retriever: Retriever, hash_cards: CardIndex, knowledge: Knowledge,
                  db: Database) -> ActionAnswerFromKnowledge:
    return ActionAnswerFromKnowledge(card_answerer(hash_retriever, hash_cards), knowledge, db)


@pytest.fixture
def strict_action(hash_retriever: Retriever, hash_cards: CardIndex, knowledge: Knowledge,
                  db: Database) -> ActionAnswerFromKnowledge:
    """Never confident: only a named item, a follow-up or a system's items answer."""
    return ActionAnswerFromKnowledge(card_answerer(hash_retriever, hash_cards, 2.0),
                                     knowledge, db)


def card_of(knowledge: Knowledge, payload: dict[str, Any]) -> Any:
    """The card whose answer opens the message."""
    return next(c for c in knowledge.cards if payload["text"].startswith(c.resposta))


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


# --- Answers ------------------------------------------------------------------------------

async def test_answers_with_a_card_its_sources_the_explanation_and_feedback(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge) -> None:
    assert answer_action.name() == "action_responder_conhecimento"
    events, messages = await run(answer_action, "qual o prazo para enviar o RREO ao Siconfi?",
                                 entities=[ASPECT("prazo")])
    assert slots_of(events) == {"ultimo_topico": "3.2.2", "ultimo_conteudo": "item-3.2.2",
                                "trilha_atual": "transparencia-fiscal"}
    payload = messages[0]["custom"]
    card = card_of(knowledge, payload)
    # The card's direct answer, short, with the deadline; nothing of the whole section.
    assert (card.topic, card.tipo) == ("3.2.2", "prazo") and payload["item"] == "3.2.2"
    assert "30 dias" in payload["text"] and len(payload["text"].split()) <= 60
    assert payload["link"] == {
        "title": "Ver explicação completa",
        "url": f"http://iara.test/conteudos/item-3.2.2#{slugify(card.secao)}"}
    # The card's own sources (official ones first), not the document's generic list.
    assert [s["url"] for s in payload["sources"]] == [
        u for u in sorted(card.fontes, key=lambda u: not knowledge.sources[u].oficial)][:3]
    assert all(s["item"] == "3.2.2" for s in payload["sources"])
    assert [b["payload"] for b in payload["buttons"]] == [
        '/avaliar{"avaliacao":"util"}', '/avaliar{"avaliacao":"nao_util"}']
    offer = messages[1]
    assert offer["response"] == "utter_oferecer_trilha"
    assert offer["trilha"] == "Obrigações de transparência (grupo III)"
    assert offer["proximo"].startswith("Item 3.2.3")
    assert offer["buttons"][0]["payload"] == '/seguir_trilha{"conteudo":"item-3.2.3"}'


async def test_the_aspect_picks_the_card(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge) -> None:
    _, messages = await run(answer_action, "crp", entities=[
        {"entity": "item", "value": "4.2"}, ASPECT("base_legal")])
    payload = messages[0]["custom"]
    assert payload["item"] == "4.2"
    assert card_of(knowledge, payload).tipo == "base_legal"


async def test_two_aspects_answer_with_a_card_for_each(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge) -> None:
    # What Rasa leaves of an expression its synonym table lacks ("Até quando", accented)
    # is mapped through aspectos.yml.
    _, messages = await run(answer_action, "por que o crp ficou a comprovar e até quando "
                            "tenho?", entities=[{"entity": "item", "value": "4.2"},
                                                ASPECT("por_que_pendente"),
                                                {"entity": "aspecto", "value": "Até quando"}])
    text = messages[0]["custom"]["text"]
    first, second = text.split("\n\n")[:2]
    cards = {c.resposta: c for c in knowledge.cards_of("4.2")}
    assert (cards[first].tipo, cards[second].tipo) == ("por_que_pendente", "prazo")
    assert len(text.split()) <= 2 * 60


async def test_an_item_button_payload_answers_that_item(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge) -> None:
    _, messages = await run(answer_action,
                            '/perguntar{"item":"3.2.3","aspecto":"como_regularizar"}',
                            entities=[{"entity": "item", "value": "3.2.3"},
                                      ASPECT("como_regularizar")])
    payload = messages[0]["custom"]
    card = card_of(knowledge, payload)
    assert payload["item"] == "3.2.3" and card.tipo == "como_regularizar"
    assert "\n1. " in payload["text"]  # a how-to question gets the steps


async def test_a_pendencia_without_item_asks_which_one(
        answer_action: ActionAnswerFromKnowledge) -> None:
    for text in ("estou com pendência no cauc", "/perguntar",
                 "a prefeitura está inadimplente no CAUC, o que eu faço?"):
        events, messages = await run(answer_action, text, entities=(
            [ASPECT("como_regularizar")] if "faço" in text else []))
        assert events == []
        assert messages[0]["response"] == "utter_perguntar_item", text
        payloads = [b["payload"] for b in messages[0]["buttons"]]
        assert payloads[0] == '/perguntar{"item":"3.2.3","aspecto":"como_regularizar"}'
        assert payloads[-2:] == ["/listar_itens", "/consultar_situacao"]
        assert all(len(b["title"]) <= 24 for b in messages[0]["buttons"])


async def test_a_question_about_pendencias_in_general_is_answered(
        answer_action: ActionAnswerFromKnowledge) -> None:
    # It asks something else than why or how to fix (here, who), or nothing a pendência
    # needs an item for: retrieval answers it.
    for text, aspects in (("quem dá baixa na pendência depois que a gente regulariza?",
                           ["sistema_responsavel"]),
                          ("pendência no CAUC impede transferência para a saúde?", [])):
        _, messages = await run(answer_action, text,
                                entities=[ASPECT(a) for a in aspects])
        assert messages[0].get("response") != "utter_perguntar_item", text


async def test_a_pendencia_asked_about_after_an_answer_is_not_asked_back(
        answer_action: ActionAnswerFromKnowledge) -> None:
    # Without a topic Iara asks which item; after an answer, the conversation goes on.
    question = "por que continua a comprovar?"
    _, messages = await run(answer_action, question, entities=[ASPECT("por_que_pendente")])
    assert messages[0]["response"] == "utter_perguntar_item"
    _, messages = await run(answer_action, question, slots={"ultimo_topico": "3.2.2"},
                            entities=[ASPECT("por_que_pendente")])
    assert "custom" in messages[0]


async def test_a_pendencia_stated_with_its_item_is_answered_how_to_fix(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge) -> None:
    # A statement asking nothing else is answered with how to fix the item (named by an
    # item's synonym, or by the one system that feeds it); a question keeps what it asks.
    for text, code in (("estou com pendência no SIOPE", "3.2.3"),
                       ("tenho pendência na certidão do FGTS", "1.3")):
        _, messages = await run(answer_action, text,
                                entities=[{"entity": "item", "value": code}])
        assert messages[0]["custom"]["item"] == code
        assert card_of(knowledge, messages[0]["custom"]).tipo == "como_regularizar"
    # Without the entity, the system's name alone is enough not to ask back.
    _, messages = await run(answer_action, "estou com pendência no SIOPE")
    assert "custom" in messages[0]
    _, messages = await run(answer_action, "o que é o item do FGTS?",
                            entities=[{"entity": "item", "value": "1.3"}, ASPECT("o_que_e")])
    assert card_of(knowledge, messages[0]["custom"]).tipo != "como_regularizar"


async def test_an_item_span_that_names_a_system_counts_as_the_system(
        strict_action: ActionAnswerFromKnowledge) -> None:
    # The synonym mapper resolves a system's synonym to the system's name even when the
    # extractor tagged it 'item'; a system that feeds one item then names that item
    # (answered from it without a confidence floor: this answerer has none reachable).
    strict = strict_action
    # (No synonym of an item in the text: only the entity can name it.)
    question = "quem resolve a pendência no gescon?"
    _, messages = await run(strict, question, entities=[{"entity": "item", "value": "Gescon"}])
    assert messages[0]["custom"]["item"] == "4.2"
    _, messages = await run(strict, question, entities=[{"entity": "item", "value": "gescon"}])
    assert [m.get("response") for m in messages] == ["utter_nao_sei"]  # not a system's name


async def test_a_system_that_feeds_several_items_narrows_the_answer_to_them(
        strict_action: ActionAnswerFromKnowledge) -> None:
    # Transferegov.br feeds 1.2 and 2.1.2: naming it narrows the cards to theirs when
    # retrieval over everything is not confident (here it never is): the best one answers.
    strict = strict_action
    question = "quem dá baixa na inadimplência do contrato de repasse depois que regulariza?"
    _, messages = await run(strict, question,
                            entities=[{"entity": "sistema", "value": "Transferegov.br"}])
    assert messages[0]["custom"]["item"] in {"1.2", "2.1.2"}  # the system's items only
    _, messages = await run(strict, question)
    assert [m.get("response") for m in messages] == ["utter_nao_sei"]


async def test_weak_match_says_it_does_not_know_and_queues_the_question(
        strict_action: ActionAnswerFromKnowledge, knowledge: Knowledge, db: Database) -> None:
    action = strict_action
    _, messages = await run(action, "receita de bolo de fubá, meu cpf é 123.456.789-09")
    assert [m["response"] for m in messages] == ["utter_nao_sei"]
    assert messages[0]["buttons"][-1]["payload"] == "/pedir_humano"
    # The closest cards are offered by their questions (a tap asks it).
    questions = {c.pergunta for c in knowledge.cards}
    assert all(b["payload"] in questions for b in messages[0]["buttons"][:-1])
    with db.session() as session:
        queued = session.scalars(select(UnansweredQuestion)).one()
    assert queued.reason == "not_found" and queued.channel == "web"
    assert queued.question == "receita de bolo de fubá, meu cpf é [CPF]"


async def test_index_failure_utters_the_error_response(knowledge: Knowledge,
                                                       db: Database) -> None:
    class BrokenAnswerer:
        def answer(self, question: str, **_: object) -> None:
            raise IndexNotBuiltError("no index")

    action = ActionAnswerFromKnowledge(BrokenAnswerer(), knowledge, db)  # type: ignore[arg-type]
    _, messages = await run(action, "prazo do rreo")
    assert [m["response"] for m in messages] == ["utter_erro_conhecimento"]


async def test_follow_up_stays_on_the_previous_topic(
        strict_action: ActionAnswerFromKnowledge) -> None:
    events, messages = await run(strict_action, "e se eu não conseguir?",
                                 {"ultimo_topico": "4.2"})
    payload = messages[0]["custom"]
    assert payload["item"] == "4.2"
    assert slots_of(events)["ultimo_topico"] == "4.2"


async def test_a_new_topic_is_not_forced_into_the_old_one(
        answer_action: ActionAnswerFromKnowledge) -> None:
    _, messages = await run(answer_action, "qual o prazo do CRP?", {"ultimo_topico": "3.2.2"},
                            entities=[ASPECT("prazo")])
    payload = messages[0]["custom"]
    assert payload["topic"] != "3.2.2" and "CRP" in payload["text"]


async def test_the_last_content_of_a_trilha_offers_nothing_more(
        answer_action: ActionAnswerFromKnowledge) -> None:
    events, messages = await run(answer_action, "o que verifica?", entities=[
        {"entity": "item", "value": "5.8"}, ASPECT("o_que_e")])
    assert slots_of(events)["trilha_atual"] == "limites-e-aplicacoes-minimas"
    assert messages[1]["proximo"] == "Requisitos para transferências que o CAUC não mostra"
    events, messages = await run(answer_action, "o que é?", entities=[
        {"entity": "item", "value": "4.3"}, ASPECT("o_que_e")])
    assert len(messages) == 1 and "trilha_atual" not in slots_of(events)


def test_button_titles_are_cut_at_word_boundaries() -> None:
    from bot.actions.common import short_title

    assert short_title("Item 3.2.2 — RREO") == "Item 3.2.2 — RREO"
    label = short_title("Item 3.1.2 — Encaminhamento do Relatório de Gestão Fiscal (RGF)")
    assert label == "Item 3.1.2 — Encaminhamento do…" and len(label) <= 41


# --- Feedback -----------------------------------------------------------------------------

ANSWERED = [
    {"event": "user", "text": "como regularizo o CRP? meu email é ana@pref.gov.br",
     "parse_data": {"intent": {"name": "perguntar"}}},
    {"event": "bot", "text": "Para resolver o item 4.2 (CRP):"},
    {"event": "user", "text": '/avaliar{"avaliacao":"nao_util"}',
     "parse_data": {"intent": {"name": "avaliar"}}},
]


@pytest.mark.parametrize("value", ["util", "nao_util"])
async def test_feedback_is_stored_with_the_conversation(db: Database, value: str) -> None:
    action = ActionRecordFeedback(db)
    _, messages = await run(action, f'/avaliar{{"avaliacao":"{value}"}}', {"ultimo_topico": "4.2"},
                            intent="avaliar", entities=[{"entity": "avaliacao", "value": value}],
                            events=ANSWERED, sender="telegram:42")
    with db.session() as session:
        stored = session.scalars(select(Feedback)).one()
        queued = session.scalars(select(UnansweredQuestion)).all()
    assert (stored.sender, stored.channel, stored.value, stored.item) == (
        "telegram:42", "telegram", value, "4.2")
    assert stored.question == "como regularizo o CRP? meu email é [e-mail]"
    if value == "util":
        assert messages[0]["response"] == "utter_avaliacao_positiva" and queued == []
    else:
        assert messages[0]["response"] == "utter_avaliacao_negativa"
        assert messages[0]["buttons"][0]["payload"] == "/pedir_humano"
        assert [(q.reason, q.channel) for q in queued] == [("nao_util", "telegram")]
        assert [c["who"] for c in queued[0].context] == ["gestor", "iara", "gestor"]


async def test_feedback_without_a_value_asks_for_the_buttons(db: Database) -> None:
    _, messages = await run(ActionRecordFeedback(db), "avaliar", intent="avaliar")
    assert messages[0]["response"] == "utter_avaliacao_invalida"
    with db.session() as session:
        assert session.scalars(select(Feedback)).all() == []


# --- Handoff ------------------------------------------------------------------------------

async def test_handoff_queues_the_conversation_and_flags_the_message(db: Database) -> None:
    action = ActionHandoff(db, contact="Central de apoio da associação: (61) 0000-0000")
    _, messages = await run(action, "quero falar com uma pessoa", intent="pedir_humano",
                            events=ANSWERED[:2])
    payload = messages[0]["custom"]
    assert payload["handoff"] is True and payload["sources"] == []
    assert payload["text"].startswith(render(DOMAIN, "utter_transferir_humano"))
    assert payload["text"].endswith("Central de apoio da associação: (61) 0000-0000")
    with db.session() as session:
        queued = session.scalars(select(UnansweredQuestion)).one()
    assert queued.reason == "handoff"
    assert queued.question == "como regularizo o CRP? meu email é [e-mail]"


# --- Learning path ------------------------------------------------------------------------

async def test_trilha_button_shows_the_content_and_offers_the_next(
        knowledge: Knowledge) -> None:
    action = ActionFollowTrilha(knowledge, public_url="http://iara.test")
    events, messages = await run(action, '/seguir_trilha{"conteudo":"item-3.2.3"}',
                                 intent="seguir_trilha",
                                 entities=[{"entity": "conteudo", "value": "item-3.2.3"}])
    payload = messages[0]["custom"]
    assert payload["text"].startswith(
        'Trilha "Obrigações de transparência (grupo III)", conteúdo 5 de 12: Item 3.2.3')
    assert knowledge.document("item-3.2.3").resumo in payload["text"]
    assert payload["sources"][0]["url"] == "http://iara.test/conteudos/item-3.2.3"
    assert len(payload["sources"]) > 1
    assert slots_of(events) == {"trilha_atual": "transparencia-fiscal",
                                "ultimo_conteudo": "item-3.2.3", "ultimo_topico": "3.2.3"}
    assert messages[1]["buttons"][0]["payload"] == '/seguir_trilha{"conteudo":"item-3.2.4"}'


async def test_next_content_follows_the_last_one_seen(knowledge: Knowledge) -> None:
    action = ActionFollowTrilha(knowledge, public_url="")
    _, messages = await run(action, "próximo conteúdo",
                            {"ultimo_conteudo": "item-4.2",
                             "trilha_atual": "obrigacoes-constitucionais-e-legais"},
                            intent="seguir_trilha")
    assert "conteúdo 3 de 3: Item 4.3" in messages[0]["custom"]["text"]
    assert messages[1]["response"] == "utter_fim_da_trilha"


async def test_without_context_the_trilhas_are_listed(knowledge: Knowledge) -> None:
    _, messages = await run(ActionFollowTrilha(knowledge, public_url=""), "trilhas",
                            intent="seguir_trilha")
    assert messages[0]["response"] == "utter_escolher_trilha"
    assert len(messages[0]["buttons"]) == len(knowledge.trilhas)
    assert messages[0]["buttons"][0]["payload"] == '/seguir_trilha{"trilha":"financas-e-o-cauc"}'


# --- Menus and helpers --------------------------------------------------------------------

async def test_items_menu_lists_groups_then_items() -> None:
    _, groups = await run(ActionListItems(), "/listar_itens", intent="listar_itens")
    assert groups[0]["response"] == "utter_escolher_grupo" and len(groups[0]["buttons"]) == 5
    _, items = await run(ActionListItems(), '/listar_itens{"grupo":"4"}', intent="listar_itens",
                         entities=[{"entity": "grupo", "value": "4"}])
    assert [b["payload"] for b in items[0]["buttons"]] == [
        '/perguntar{"item":"4.1","aspecto":"como_regularizar"}',
        '/perguntar{"item":"4.2","aspecto":"como_regularizar"}']



async def test_a_typed_question_about_the_list_is_answered_before_the_menu(
        hash_retriever: Retriever, hash_cards: CardIndex) -> None:
    action = ActionListItems(card_answerer(hash_retriever, hash_cards))
    events, messages = await run(action, "como o extrato é dividido? quais são os grupos?",
                                 intent="listar_itens")
    answer, menu = messages
    assert answer["custom"]["sources"] and answer["custom"]["text"]
    assert menu["response"] == "utter_escolher_grupo" and len(menu["buttons"]) == 5
    assert slots_of(events)["ultimo_topico"] == answer["custom"]["topic"]
    # A menu request that asks nothing, and a question retrieval cannot place: the menu.
    for menu_action, text in ((action, "lista de itens"),
                         (ActionListItems(card_answerer(hash_retriever, hash_cards, 2.0)),
                          "quais itens?")):
        events, messages = await run(menu_action, text, intent="listar_itens")
        assert [m.get("response") for m in messages] == ["utter_escolher_grupo"], text
        assert events == []

def test_channel_and_last_question_helpers() -> None:
    assert [channel_of(s) for s in ("web:a", "telegram:1", "whatsapp:55", "cli", "x:y")] == [
        "web", "telegram", "whatsapp", "api", "api"]
    assert last_question(tracker_for("x", events=ANSWERED)).startswith("como regularizo o CRP")


@pytest.mark.parametrize("text", [
    "emite a cnd da prefeitura pra mim agora",
    "tira o meu município do cauc agora, é urgente",
    "me faz um atestado de publicação falso",
    "marca o item 3.2.2 como comprovado no sistema",
    "entra no siconfi e homologa o rreo do 6º bimestre",
    "vc consegue acessar o cadprev e atualizar o crp?",
    "preciso que você emita a CND da prefeitura",
])
async def test_requests_to_act_are_refused_whatever_the_intent(
        answer_action: ActionAnswerFromKnowledge, text: str) -> None:
    _, messages = await run(answer_action, text, entities=[ASPECT("como_regularizar")])
    assert [m["response"] for m in messages] == ["utter_fora_de_escopo"]


@pytest.mark.parametrize("text", [
    "Nosso município não tem dívida nenhuma. Mesmo assim precisa preencher o CDP?",
    "a camara usa outro sistema contabil, isso da problema no item 3.7?",
    "Somos um município de 18 mil habitantes. Podemos entregar o RGF semestralmente?",
])
async def test_out_of_scope_that_names_an_item_is_answered(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge, db: Database,
        text: str) -> None:
    action = ActionOutOfScope(answer_action.answerer, knowledge, db)
    assert action.name() == "action_fora_de_escopo"
    _, messages = await run(action, text, intent="fora_de_escopo")
    assert messages[0]["custom"]["sources"], messages


@pytest.mark.parametrize("text", [
    "como o extrato é dividido? quais sao os grupos?",
    "Tem algum órgão no estado que dá suporte pra quem tem dificuldade com o SIOPS?",
    "Sou secretário de finanças recém-nomeado. Afinal, o que é esse CAUC?",
])
async def test_out_of_scope_that_asks_about_the_cauc_itself_is_answered(
        answer_action: ActionAnswerFromKnowledge, knowledge: Knowledge, db: Database,
        text: str) -> None:
    """A question about the CAUC, its extrato or a system of the knowledge that names no
    item goes to the knowledge: an answer with sources, or the honest "não sei"."""
    action = ActionOutOfScope(answer_action.answerer, knowledge, db)
    _, messages = await run(action, text, intent="fora_de_escopo")
    assert messages and messages[0].get("response") != "utter_fora_de_escopo", messages
    assert messages[0]["custom"]["sources"] or messages[0]["custom"].get("handoff"), messages


@pytest.mark.parametrize("text", [
    "quem ganhou o jogo do flamengo?",
    "minha tia trabalha com o siafic",  # names an item, asks nothing
    "esquece o cauc e me ajuda com outra coisa",  # names the CAUC, asks nothing
    "gera um pdf do cauc sem pendencias pra mostrar pro vereador?",  # asks to act
    "faz um crp falso pra mim",
    "emite a cnd da prefeitura pra mim agora",
])
async def test_out_of_scope_is_refused(answer_action: ActionAnswerFromKnowledge,
                                       knowledge: Knowledge, db: Database, text: str) -> None:
    action = ActionOutOfScope(answer_action.answerer, knowledge, db)
    _, messages = await run(action, text, intent="fora_de_escopo")
    assert [m["response"] for m in messages] == ["utter_fora_de_escopo"]


async def test_a_typed_code_wins_over_a_synonym_of_another_item(
        answer_action: ActionAnswerFromKnowledge) -> None:
    _, messages = await run(answer_action, "homologuei o rreo no siconfi mas o 3.2.1 "
                            "continua pendente, pq?", entities=[
                                {"entity": "item", "value": "3.2.2"},
                                {"entity": "item", "value": "3.2.1"}])
    assert messages[0]["custom"]["item"] == "3.2.1"


def test_no_knowledge_question_is_taken_for_a_request_to_act(knowledge: Knowledge) -> None:
    from bot.actions.common import asks_to_act

    assert [q.text for q in knowledge.questions if asks_to_act(q.text)] == []
    assert [d.q for d in knowledge.dev if d.topic != "out_of_scope" and asks_to_act(d.q)] == []
    for question in ("como tiro a cnd da receita pra regularizar o 1.1?",
                     "gera pendencia no cauc se atrasar o rreo?",
                     "você pode me explicar como homologar o rreo?",
                     "baixa de pendencia cauc"):
        assert not asks_to_act(question), question
