"""Answers from the knowledge: retrieval, the question back when the item is missing,
and the learning-path offer after each answer."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import (
    FEEDBACK_BUTTONS,
    HANDOFF_BUTTON,
    QUESTION_INTENT,
    UsesServices,
    asks_to_act,
    carries_credentials,
    entity,
    log_unanswered,
    short_title,
)
from iara.db import Database
from index.answer import EXPLANATION_TITLE, Answer, Answerer
from index.cauc import BY_CODE
from index.errors import IaraError
from index.knowledge import ASPECT_TYPES, Knowledge, find_mentions
from index.text import fold
from index.trilhas import next_step, trilha_of

logger = logging.getLogger(__name__)
ITEM_CODE = re.compile(r"(?<![\d.])[1-5]\.[1-8](?:\.[1-4])?(?![\d.]*\d)")

# The CAUC and its extrato named as such (folded text, whole words).
_CAUC_WORDS = re.compile(r"\b(?:cauc|extratos?)\b")
# Words of a pendência ("tenho pendência no FGTS", "ficou a comprovar"; folded text).
_STATES_PENDENCIA = re.compile(
    r"\b(?:pendencias?|pendentes?|inadimplentes?|irregular(?:es)?|a comprovar|restricao|"
    r"restricoes|bloquead[oa]s?|travad[oa]s?)\b")
# What a pendência without its item may ask and still need the item first.
_PENDING_ASPECTS = frozenset({"por_que_pendente", "como_regularizar"})
TOPIC_SLOT = "ultimo_topico"
CONTENT_SLOT = "ultimo_conteudo"
TRILHA_SLOT = "trilha_atual"
# Asked back when a gestor says "estou com pendência" without the item: the items most
# often "a comprovar" in the CAUC open data (21/08/2026, ../shared/data/cauc/README.md).
COMMON_PENDING_ITEMS = ("3.2.3", "1.5", "1.1", "3.2.4")
TRILHA_BUTTON_TITLE = "Seguir a trilha"


def answer_message(answer: Answer) -> dict[str, Any]:
    """The channel-neutral message the API renders: the short answer, its sources, the
    link to the full explanation and the feedback buttons."""
    message: dict[str, Any] = {
        "text": answer.text,
        "buttons": list(FEEDBACK_BUTTONS),
        "sources": [citation.to_json() for citation in answer.citations],
        "item": answer.item,
        "topic": answer.topic,
    }
    if answer.explanation is not None and answer.explanation.url:
        message["link"] = {"title": EXPLANATION_TITLE, "url": answer.explanation.url}
    return message


def _without_waiting(tracker: Tracker) -> Tracker:
    """The same tracker, no longer waiting for a município."""
    unwaited = copy.copy(tracker)
    unwaited.slots = {**tracker.slots, "aguardando_municipio": None}
    return unwaited


def item_buttons(codes: tuple[str, ...] | list[str],
                 aspect: str = "como_regularizar") -> list[dict[str, str]]:
    """Buttons that ask ``aspect`` (how to fix it, by default) of each item."""
    return [{"title": short_title(f"{code} {BY_CODE[code].title}", 20 if len(codes) <= 3
                                  else 24),
             "payload": f'/{QUESTION_INTENT}{{"item":"{code}","aspecto":"{aspect}"}}'}
            for code in codes]


def states_pendencia(message: str) -> bool:
    """Whether the message speaks of a pendência ("pendência", "a comprovar",
    "inadimplente", "irregular"...)."""
    return _STATES_PENDENCIA.search(fold(message)) is not None


class ActionAnswerFromKnowledge(UsesServices, Action):
    def __init__(self, answerer: Answerer | None = None, knowledge: Knowledge | None = None,
                 database: Database | None = None) -> None:
        self._answerer = answerer
        self._knowledge = knowledge
        self._database = database

    def name(self) -> str:
        return "action_responder_conhecimento"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name") or QUESTION_INTENT
        waiting = tracker.get_slot("aguardando_municipio")
        if waiting and intent in (QUESTION_INTENT, "nlu_fallback"):
            # Iara asked "which município?": the answer is a name, not a question.
            from bot.actions.situacao import WAITING_ACTIONS, looks_like_municipio

            text = str(latest.get("text") or "")
            if waiting in WAITING_ACTIONS and await asyncio.to_thread(
                    looks_like_municipio, self.database, text):
                situation_action = WAITING_ACTIONS[waiting](self._database, self._knowledge)
                return await situation_action.run(dispatcher, tracker, domain)
            events: list[dict[str, Any]] = [SlotSet("aguardando_municipio", None)]
            return events + await ActionAnswerFromKnowledge.run(
                self, dispatcher, _without_waiting(tracker), domain)
        question = str(latest.get("text") or "")
        if carries_credentials(question):
            dispatcher.utter_message(response="utter_sem_credenciais")
            return []
        if asks_to_act(question):
            dispatcher.utter_message(response="utter_fora_de_escopo")
            return []
        feeds = self._system_items(tracker)
        item = self._item(tracker, question, feeds)
        systems_items = () if item else feeds
        asked = self._aspects(tracker)
        # A statement of a pendência that asks nothing else: how to fix it.
        statement = states_pendencia(question) and "?" not in question
        aspects = asked or (["como_regularizar"] if statement else [])
        if question.startswith("/") or (statement and item and not asked):
            # A button, or a pendência stated with its item: the item's own card question
            # (how to fix it, for a statement).
            question = self._card_question(item, aspects) if item else ""
        context = tracker.get_slot(TOPIC_SLOT)
        if item is None and not systems_items and self._needs_item(question, asked, context):
            dispatcher.utter_message(response="utter_perguntar_item", buttons=[
                *item_buttons(COMMON_PENDING_ITEMS),
                {"title": "Outro item", "payload": "/listar_itens"},
                {"title": "Ver meu município", "payload": "/consultar_situacao"}])
            return []
        try:
            answer = await asyncio.to_thread(
                self.answerer.answer, question, item=item, context_topic=context,
                question_types=aspects, candidates=systems_items)
        except IaraError:
            logger.exception("Knowledge lookup failed")
            dispatcher.utter_message(response="utter_erro_conhecimento")
            return []
        if not answer.found:
            logger.info("No confident answer (best score %.3f)", answer.score)
            await asyncio.to_thread(log_unanswered, self.database, tracker, question,
                                    "not_found", answer.score)
            buttons = [{"title": short_title(title), "payload": title}
                       for title in answer.suggestions]
            dispatcher.utter_message(response="utter_nao_sei",
                                     buttons=[*buttons, HANDOFF_BUTTON])
            return []
        dispatcher.utter_message(json_message=answer_message(answer))
        events = [SlotSet(TOPIC_SLOT, answer.topic), SlotSet(CONTENT_SLOT, answer.doc_id)]
        return events + self._offer_trilha(dispatcher, tracker, answer.doc_id)

    def _item(self, tracker: Tracker, question: str,
              feeds: tuple[str, ...] | None = None) -> str | None:
        """The item the message names: the NLU's entity (a code typed in the text first,
        when it names several), else a system that feeds one item only, else the one
        item whose synonym or code the text contains. An 'item' span the synonym mapper
        resolved to a system ("antigo Siconv" -> Transferegov.br) counts as that system;
        ``feeds`` are that system's items when the caller already looked them up."""
        codes = [code for code in ITEM_CODE.findall(question) if code in BY_CODE]
        values = [str(v) for v in tracker.get_latest_entity_values("item")]
        items = [v for v in values if v in BY_CODE]
        if items:
            return next((code for code in codes if code in items), items[0])
        feeds = self._system_items(tracker) if feeds is None else feeds
        if len(feeds) == 1:
            return feeds[0]
        mentioned = self.knowledge.items_mentioned(question) if question else []
        mentioned += codes
        return mentioned[0] if len(set(mentioned)) == 1 else None

    def _card_question(self, item: str, aspects: list[str]) -> str:
        """What a button that names an item (and what to ask of it) asks: the question of
        the item's first card of that type (its main one), else the item's title."""
        cards = self.knowledge.cards_of(item)
        main = next((c for tipo in aspects for c in cards if c.tipo == tipo), None)
        return main.pergunta if main else BY_CODE[item].title

    def _needs_item(self, question: str, asked: list[str], context: str | None) -> bool:
        """Whether Iara must ask which item before answering: the menu's "Tenho uma
        pendência" (a payload without an item), or a pendência the message does not place
        in any item or topic, stated ("estou com pendência no cauc") or asked about only as
        why or how to fix ("por que ficou a comprovar?"). After an answer, a message that
        asks an aspect goes on with the conversation instead (the answerer follows the
        topic when it names none); any other question goes to retrieval."""
        if not question:
            return True
        if not states_pendencia(question) or self.answerer.names_item(question):
            return False
        if context and asked:
            return False
        return "?" not in question or (bool(asked) and set(asked) <= _PENDING_ASPECTS)

    def _system_items(self, tracker: Tracker) -> tuple[str, ...]:
        """The items fed by the source system the message names (the 'sistema' entity, or
        an 'item' span the synonym mapper resolved to a system's name)."""
        feeds_of = {s.nome: tuple(s.itens) for s in self.knowledge.systems}
        values = [str(v) for v in tracker.get_latest_entity_values("item")]
        system = entity(tracker, "sistema") or next((v for v in values if v in feeds_of), None)
        return feeds_of.get(system, ()) if system else ()

    def _aspects(self, tracker: Tracker) -> list[str]:
        """What the message asks (question types), from the NLU's 'aspecto' entities: a
        canonical type, or an expression of aspectos.yml the synonym mapper left as typed
        ("até quando" -> prazo)."""
        expressions = self.knowledge.aspect_expressions()
        aspects: list[str] = []
        for value in tracker.get_latest_entity_values("aspecto"):
            tipo = value if value in ASPECT_TYPES else expressions.get(fold(str(value)))
            if tipo and tipo not in aspects:
                aspects.append(tipo)
        return aspects

    def _offer_trilha(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      doc_id: str | None) -> list[dict[str, Any]]:
        """After an answer: the next content of its trilha, remembering the trilha."""
        if not doc_id:
            return []
        try:
            current = trilha_of(self.knowledge, doc_id, tracker.get_slot(TRILHA_SLOT))
            step = next_step(self.knowledge, doc_id, current.id if current else None)
        except (KeyError, ValueError):
            return []
        if current is None or step is None:
            return []
        dispatcher.utter_message(
            response="utter_oferecer_trilha", trilha=current.titulo,
            proximo=step.document.display_title,
            buttons=[{"title": TRILHA_BUTTON_TITLE,
                      "payload": f'/seguir_trilha{{"conteudo":"{step.document.id}"}}'}])
        return [SlotSet(TRILHA_SLOT, current.id)]


class ActionOutOfScope(ActionAnswerFromKnowledge):
    """A message the NLU took for out of scope: refused, unless it is a question (a "?"
    or an aspect expression) about the CAUC without asking Iara to act: it names an item
    (a code, a synonym, also one several items share: "RGF"), a system of the knowledge,
    or the CAUC or its extrato themselves.
    Such a question is Iara's whatever the classifier says: answered from the knowledge,
    or, when retrieval is weak, the honest "não sei" with the closest topics and a person.
    A remark that merely mentions the CAUC asks nothing and is refused."""

    def name(self) -> str:
        return "action_fora_de_escopo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = str((tracker.latest_message or {}).get("text") or "")
        if carries_credentials(question):
            dispatcher.utter_message(response="utter_sem_credenciais")
            return []
        asks = "?" in question or bool(self.knowledge.aspects_mentioned(question))
        if asks and not question.startswith("/") and not asks_to_act(question) \
                and self._names_the_cauc(tracker, question):
            logger.info("Out-of-scope intent for a question about the CAUC: answering it")
            return await super().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_fora_de_escopo")
        return []

    def _names_the_cauc(self, tracker: Tracker, question: str) -> bool:
        return (self._item(tracker, question) is not None
                or self.answerer.names_item_acronym(question)  # "RGF": 3.1.1 and 3.1.2
                or entity(tracker, "sistema") is not None
                or bool(find_mentions(question, self.knowledge.system_synonyms()))
                or _CAUC_WORDS.search(fold(question)) is not None)
