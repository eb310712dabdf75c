"""The CAUC situation of a município from the loaded open data: what is pending (with a
line on how to fix each item, from the knowledge), what changed, what expires, and alert
subscriptions. The município comes from the NLU's entities, a button, or the last one
asked about."""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import UsesServices, channel_of, entity, render
from bot.actions.knowledge import (
    CONTENT_SLOT,
    TOPIC_SLOT,
    ActionAnswerFromKnowledge,
    answer_message,
    item_buttons,
)
from cauc import (
    EnteRef,
    SnapshotNotFoundError,
    diff_text,
    ente_diff,
    expiring_items,
    resolve_ente,
    situation,
    situation_text,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from cauc.errors import CaucError, EnteNotFoundError
from cauc.resolve import get_ente, names_no_ente
from cauc.text import fold
from iara.db import Database
from index.cauc import BY_CODE
from index.knowledge import Knowledge

logger = logging.getLogger(__name__)

MUNICIPIO_SLOT = "municipio_atual"
WAITING_SLOT = "aguardando_municipio"
ALERT_CHANNELS = ("telegram", "whatsapp")
# Past this many words, a situation request naming no município is a CAUC question.
KNOWLEDGE_QUESTION_WORDS = 12
MUNICIPIO_LOOKUP = Path(__file__).resolve().parents[1] / "data" / "nlu" / "municipios.yml"
# The knowledge topic on the Tesouro's own alerts (área do assinante), and the question
# that finds its passage: what a gestor on the web chat gets instead of Iara's alerts.
OFFICIAL_ALERTS_TOPIC = "alertas-e-dados-abertos"
OFFICIAL_ALERTS_QUESTION = "como receber alertas de mudança no CAUC pela área do assinante"
OFFICIAL_SOURCES = [
    {"title": "Tesouro Nacional – CAUC (extrato oficial)",
     "url": "https://gov.br/tesouronacional/pt-br/estados-e-municipios/informacoes-de-"
            "transparencia/copy_of_cauc"},
    {"title": "Tesouro Nacional – Perguntas frequentes sobre o CAUC",
     "url": "https://gov.br/tesouronacional/pt-br/perguntas-frequentes/estados-e-municipios/"
            "cauc"},
]
_FIX = re.compile(r"resolve-se (.+)$")


def fix_lines(knowledge: Knowledge) -> dict[str, str]:
    """Item code -> the knowledge's one line on how to fix it (the summary's 'resolve-se
    ...' clause, else the whole summary)."""
    lines: dict[str, str] = {}
    for doc in knowledge.documents:
        if doc.tipo == "item" and doc.item and doc.resumo:
            match = _FIX.search(doc.resumo)
            text = match.group(1) if match else doc.resumo
            lines[doc.item] = text[0].upper() + text[1:]
    return lines


@lru_cache(maxsize=1)
def municipio_names() -> frozenset[str]:
    """Every município name of the NLU's lookup table (``bot/data/nlu/municipios.yml``,
    written by ``iara nlu lexicon`` from a real CAUC file), folded."""
    data = yaml.safe_load(MUNICIPIO_LOOKUP.read_text(encoding="utf-8"))
    lookup = next(entry for entry in data["nlu"] if entry.get("lookup") == "municipio")
    return frozenset(fold(line[2:]) for line in lookup["examples"].splitlines()
                     if line.startswith("- "))


class _SituationAction(UsesServices, Action, ABC):
    """What the situation actions share: the database, the knowledge, the município."""

    intent = "consultar_situacao"

    def __init__(self, database: Database | None = None, knowledge: Knowledge | None = None,
                 expiry_days: int | None = None) -> None:
        self._database = database
        self._knowledge = knowledge
        self._expiry_days = expiry_days

    @property
    def expiry_days(self) -> int:
        if self._expiry_days is None:
            self._expiry_days = self.settings.cauc_expiry_days
        return self._expiry_days

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if await asyncio.to_thread(self._is_knowledge_question, tracker):
            return await self._knowledge_action().run(dispatcher, tracker, domain)
        try:
            ente = await asyncio.to_thread(self._ente, dispatcher, tracker)
            if ente is None:
                # Iara asked back: the next message may be just the name.
                return [SlotSet(WAITING_SLOT, self.intent)]
            events = await asyncio.to_thread(self.respond, dispatcher, tracker, domain, ente)
        except SnapshotNotFoundError:
            dispatcher.utter_message(response="utter_sem_dados_cauc")
            return []
        except CaucError:
            logger.exception("CAUC lookup failed")
            dispatcher.utter_message(response="utter_erro_conhecimento")
            return []
        return [SlotSet(MUNICIPIO_SLOT, ente.ibge), SlotSet(WAITING_SLOT, None), *events]

    def _knowledge_action(self) -> ActionAnswerFromKnowledge:
        """The knowledge action with this action's knowledge and database."""
        return ActionAnswerFromKnowledge(None, self._knowledge, self._database)

    def _is_knowledge_question(self, tracker: Tracker) -> bool:
        """A long question the NLU took for a situation request is a question about the
        CAUC itself when it names no município (nor a remembered one), or when its
        'municipio' span is like no município at all (DIET took a capitalised word for one:
        "Afinal, o que é esse CAUC…?"). A span close to a name still gets the suggestions;
        before any CAUC file is loaded, the NLU's lookup of município names decides."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if (entity(tracker, "cnpj") or tracker.get_slot(WAITING_SLOT) or text.startswith("/")
                or len(text.split()) <= KNOWLEDGE_QUESTION_WORDS):
            return False
        name = entity(tracker, "municipio")
        if not name:
            return not tracker.get_slot(MUNICIPIO_SLOT)
        try:
            unknown = names_no_ente(self.database, name)
        except CaucError:
            return False
        return unknown if unknown is not None else fold(name) not in municipio_names()

    @abstractmethod
    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        """Answer about ``ente`` (resolved); return extra events."""

    def _ente(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> EnteRef | None:
        """The município asked about; when unclear, asks back (buttons) and returns None."""
        typed = entity(tracker, "cnpj") or entity(tracker, "municipio")
        uf = entity(tracker, "uf")
        if typed and uf and not typed.isdigit():
            typed = f"{typed}/{uf}"
        if not typed and tracker.get_slot(WAITING_SLOT):
            typed = str((tracker.latest_message or {}).get("text") or "").strip()
        if not typed:
            remembered = tracker.get_slot(MUNICIPIO_SLOT)
            ente = get_ente(self.database, remembered) if remembered else None
            if ente is None:
                dispatcher.utter_message(response="utter_perguntar_municipio")
            return ente
        resolution = resolve_ente(self.database, typed)
        if resolution.ente is not None:
            return resolution.ente
        buttons = [{"title": c.label[:24], "payload": f'/{self.intent}{{"municipio":"{c.ibge}"}}'}
                   for c in resolution.candidates[:10]]
        if resolution.status == "ambiguous":
            dispatcher.utter_message(response="utter_municipio_ambiguo", municipio=typed,
                                     buttons=buttons)
        elif resolution.status == "suggestions" and buttons:
            dispatcher.utter_message(response="utter_municipio_sugestoes", municipio=typed,
                                     buttons=buttons)
        elif resolution.status == "invalid_cnpj":
            dispatcher.utter_message(response="utter_cnpj_invalido")
        else:
            dispatcher.utter_message(response="utter_municipio_nao_encontrado", municipio=typed)
        return None

    @staticmethod
    def _message(text: str, buttons: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return {"text": text, "buttons": buttons or [], "sources": list(OFFICIAL_SOURCES)}


class ActionSituation(_SituationAction):
    intent = "consultar_situacao"

    def name(self) -> str:
        return "action_consultar_situacao"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        current = situation(self.database, ente.ibge)
        text = situation_text(current, self.expiry_days, fixes=fix_lines(self.knowledge))
        text += "\n\n" + render(domain, "utter_lembrete_extrato")
        pending = [s.code for s in current.pendencias if s.code in BY_CODE][:10]
        buttons = item_buttons(pending)
        if channel_of(tracker.sender_id) in ALERT_CHANNELS and len(buttons) < 10:
            buttons.append({"title": "Avisar mudanças",
                            "payload": f'/assinar_alertas{{"municipio":"{ente.ibge}"}}'})
        dispatcher.utter_message(json_message=self._message(text, buttons))
        return []


class ActionChanges(_SituationAction):
    intent = "consultar_mudancas"

    def name(self) -> str:
        return "action_consultar_mudancas"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        diff = ente_diff(self.database, ente.ibge)
        buttons = item_buttons([c.code for c in diff.novas_pendencias if c.code in BY_CODE][:10])
        dispatcher.utter_message(json_message=self._message(diff_text(diff), buttons))
        return []


class ActionExpiring(_SituationAction):
    intent = "consultar_vencimentos"

    def name(self) -> str:
        return "action_consultar_vencimentos"

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        items = expiring_items(self.database, ente.ibge, days=self.expiry_days)
        if not items:
            text = render(domain, "utter_nada_vencendo", municipio=ente.label,
                          dias=str(self.expiry_days))
        else:
            text = render(domain, "utter_vencendo", municipio=ente.label,
                          dias=str(self.expiry_days)) + "\n" + "\n".join(
                f"- {i.code} {i.title}: válido até {i.valid_until:%d/%m/%Y}"
                for i in items if i.valid_until)
        dispatcher.utter_message(json_message=self._message(text))
        return []


class ActionSubscribe(_SituationAction):
    intent = "assinar_alertas"

    def name(self) -> str:
        return "action_assinar_alertas"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if channel_of(tracker.sender_id) in ALERT_CHANNELS:
            return await super().run(dispatcher, tracker, domain)
        # The web chat sends no alerts, so no município is needed: say where Iara's
        # alerts come from, and (from the knowledge, cited) how the Tesouro's own work.
        dispatcher.utter_message(response="utter_alertas_so_mensageiros")
        answer = await asyncio.to_thread(self._knowledge_action().answerer.answer,
                                         OFFICIAL_ALERTS_QUESTION, item=OFFICIAL_ALERTS_TOPIC)
        if not answer.found:
            return []
        dispatcher.utter_message(json_message=answer_message(answer))
        return [SlotSet(TOPIC_SLOT, answer.topic), SlotSet(CONTENT_SLOT, answer.doc_id)]

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        channel = channel_of(tracker.sender_id)
        if channel not in ALERT_CHANNELS:
            dispatcher.utter_message(response="utter_alertas_so_mensageiros")
            return []
        user = tracker.sender_id.split(":", 1)[1]
        created = subscribe(self.database, ente.ibge, channel, user)
        dispatcher.utter_message(response="utter_alerta_assinado" if created
                                 else "utter_alerta_ja_assinado", municipio=ente.label)
        return []


class ActionUnsubscribe(_SituationAction):
    intent = "cancelar_alertas"

    def name(self) -> str:
        return "action_cancelar_alertas"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if entity(tracker, "municipio") or entity(tracker, "cnpj"):
            return await super().run(dispatcher, tracker, domain)
        # "cancelar alertas" without a município: every subscription of this person.
        channel = channel_of(tracker.sender_id)
        user = tracker.sender_id.split(":", 1)[-1]
        followed = await asyncio.to_thread(subscriptions_of, self.database, channel, user)
        for ente in followed:
            await asyncio.to_thread(unsubscribe, self.database, ente.ibge, channel, user)
        if followed:
            dispatcher.utter_message(response="utter_alerta_cancelado",
                                     municipio=", ".join(e.label for e in followed))
        else:
            dispatcher.utter_message(response="utter_alerta_nenhum")
        return []

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: dict[str, Any], ente: EnteRef) -> list[dict[str, Any]]:
        channel = channel_of(tracker.sender_id)
        user = tracker.sender_id.split(":", 1)[-1]
        try:
            removed = unsubscribe(self.database, ente.ibge, channel, user)
        except EnteNotFoundError:
            removed = False
        dispatcher.utter_message(response="utter_alerta_cancelado" if removed
                                 else "utter_alerta_inexistente", municipio=ente.label)
        return []


def looks_like_municipio(database: Database, text: str) -> bool:
    """Whether a message could be the município Iara asked for (so that a new question
    typed instead is answered as a question)."""
    return resolve_ente(database, text).status != "not_found"


# The actions that ask for a município, by the intent that asked (slot aguardando_municipio).
WAITING_ACTIONS: dict[str, type[_SituationAction]] = {
    cls.intent: cls for cls in (ActionSituation, ActionChanges, ActionExpiring,
                                ActionSubscribe, ActionUnsubscribe)}
