"""Handoff to people: the gestor asks for a human (or Iara could not help)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import UsesServices, last_question, log_unanswered, render
from iara.db import Database


class ActionHandoff(UsesServices, Action):
    """Queues the conversation for analysts and tells the gestor where to get official
    help. The message carries ``handoff: true`` so a channel can route it to a person."""

    def __init__(self, database: Database | None = None, contact: str | None = None) -> None:
        self._database = database
        self._contact = contact

    def name(self) -> str:
        return "action_transferir_humano"

    @property
    def contact(self) -> str:
        if self._contact is None:
            self._contact = self.settings.handoff_contact
        return self._contact

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        await asyncio.to_thread(log_unanswered, self.database, tracker,
                                last_question(tracker), "handoff")
        text = render(domain, "utter_transferir_humano")
        if self.contact:
            text += "\n\n" + render(domain, "utter_contato_humano", contato=self.contact)
        dispatcher.utter_message(json_message={"text": text, "buttons": [], "sources": [],
                                               "handoff": True})
        return []
