"""Feedback on answers ("útil / não útil"), stored with the conversation id."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import (
    HANDOFF_BUTTON,
    UsesServices,
    channel_of,
    entity,
    last_question,
    log_unanswered,
)
from iara.db import Database, Feedback
from index.cauc import BY_CODE
from index.text import fold, mask_personal_data

logger = logging.getLogger(__name__)

VALUES = ("util", "nao_util")


class ActionRecordFeedback(UsesServices, Action):
    def __init__(self, database: Database | None = None) -> None:
        self._database = database

    def name(self) -> str:
        return "action_registrar_avaliacao"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        value = fold(entity(tracker, "avaliacao") or "").replace(" ", "_")
        if value not in VALUES:
            dispatcher.utter_message(response="utter_avaliacao_invalida")
            return []
        topic = tracker.get_slot("ultimo_topico")
        question = last_question(tracker)
        db = self.database
        try:
            await asyncio.to_thread(self._store, db, tracker, value, question, topic)
        except Exception:
            logger.exception("Could not store feedback")
        if value == "util":
            dispatcher.utter_message(response="utter_avaliacao_positiva")
            return []
        await asyncio.to_thread(log_unanswered, db, tracker, question, "nao_util")
        dispatcher.utter_message(response="utter_avaliacao_negativa", buttons=[HANDOFF_BUTTON])
        return []

    @staticmethod
    def _store(db: Database, tracker: Tracker, value: str, question: str,
               topic: str | None) -> None:
        with db.session() as session:
            session.add(Feedback(
                sender=tracker.sender_id, channel=channel_of(tracker.sender_id), value=value,
                question=mask_personal_data(question)[:2000],
                item=topic if topic in BY_CODE else None, topic=topic))
