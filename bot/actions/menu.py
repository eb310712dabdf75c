"""Menus: the CAUC items by group, so a gestor can pick the item of a pendência."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import UsesServices, entity
from bot.actions.knowledge import CONTENT_SLOT, TOPIC_SLOT, answer_message, item_buttons
from index.answer import Answerer
from index.cauc import GROUPS, ITEMS
from index.errors import IaraError

logger = logging.getLogger(__name__)

# Button labels of the groups (WhatsApp list rows take 24 characters).
GROUP_LABELS = {"1": "I · Adimplência", "2": "II · Prestação de contas",
                "3": "III · Transparência", "4": "IV · Obrigações legais", "5": "V · Limites"}


class ActionListItems(UsesServices, Action):
    """Without a group: the five groups of the extrato. With one: its items (municipal
    items only; state-only items are named by the knowledge when asked).

    A typed question about the list ("como o extrato é dividido?", "quais itens entraram
    em 2025?") is first answered from the knowledge when retrieval is confident, with its
    sources, and the groups follow; a menu request or a button gets the menu alone."""

    def __init__(self, answerer: Answerer | None = None) -> None:
        self._answerer = answerer

    def name(self) -> str:
        return "action_listar_itens"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        group = entity(tracker, "grupo")
        if group not in GROUPS:
            events = await self._answer_question(dispatcher, tracker)
            dispatcher.utter_message(response="utter_escolher_grupo", buttons=[
                {"title": GROUP_LABELS[code], "payload": f'/listar_itens{{"grupo":"{code}"}}'}
                for code in GROUPS])
            return events
        codes = [i.code for i in ITEMS if i.code.split(".")[0] == group and not i.states_only]
        dispatcher.utter_message(response="utter_escolher_item_do_grupo", grupo=GROUPS[group],
                                 buttons=item_buttons(codes))
        return []

    async def _answer_question(self, dispatcher: CollectingDispatcher,
                               tracker: Tracker) -> list[dict[str, Any]]:
        """The knowledge's answer to a typed question, when there is a confident one."""
        text = str((tracker.latest_message or {}).get("text") or "").strip()
        if not text or text.startswith("/") or "?" not in text:
            return []
        try:
            answer = await asyncio.to_thread(self.answerer.answer, text)
        except IaraError:
            logger.exception("Knowledge lookup failed; the menu goes alone")
            return []
        if not answer.found:
            return []
        dispatcher.utter_message(json_message=answer_message(answer))
        return [SlotSet(TOPIC_SLOT, answer.topic), SlotSet(CONTENT_SLOT, answer.doc_id)]
