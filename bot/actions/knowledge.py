"""Answers from the knowledge: retrieval, extractive composition, citations."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from index.answer import Answer, Answerer
from index.errors import IaraError

logger = logging.getLogger(__name__)

TOPIC_SLOT = "ultimo_topico"


def answer_message(answer: Answer) -> dict[str, Any]:
    """The channel-neutral message the API renders: text, buttons and sources."""
    return {
        "text": answer.text,
        "buttons": [],
        "sources": [citation.to_json() for citation in answer.citations],
        "item": answer.item,
        "topic": answer.topic,
    }


def short_title(title: str, limit: int = 40) -> str:
    """A button label: cut at a word boundary, never mid-word."""
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" —-,(")
    return cut + "…"


class ActionAnswerFromKnowledge(Action):
    def __init__(self, answerer: Answerer | None = None) -> None:
        self._answerer = answerer

    def name(self) -> str:
        return "action_responder_conhecimento"

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            from iara.services import get_answerer

            self._answerer = get_answerer()
        return self._answerer

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = (tracker.latest_message or {}).get("text") or ""
        context = tracker.get_slot(TOPIC_SLOT)
        try:
            answer = await asyncio.to_thread(self.answerer.answer, question,
                                             context_topic=context)
        except IaraError:
            logger.exception("Knowledge lookup failed")
            dispatcher.utter_message(response="utter_erro_conhecimento")
            return []
        if not answer.found:
            logger.info("No confident answer (best score %.3f)", answer.score)
            buttons = [{"title": short_title(title), "payload": title}
                       for title in answer.suggestions]
            dispatcher.utter_message(response="utter_nao_sei", buttons=buttons)
            return []
        dispatcher.utter_message(json_message=answer_message(answer))
        return [SlotSet(TOPIC_SLOT, answer.topic)]
