"""Learning paths: follow a trilha content by content, remembering where the gestor is."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FEEDBACK_BUTTONS, UsesServices, entity, render, short_title
from bot.actions.knowledge import CONTENT_SLOT, TOPIC_SLOT, TRILHA_BUTTON_TITLE, TRILHA_SLOT
from index.knowledge import Knowledge
from index.trilhas import Step, first_step, next_step, step_at, trilha_of

MAX_OFFICIAL_SOURCES = 3


class ActionFollowTrilha(UsesServices, Action):
    def __init__(self, knowledge: Knowledge | None = None, public_url: str | None = None
                 ) -> None:
        self._knowledge = knowledge
        self._public_url = public_url

    def name(self) -> str:
        return "action_seguir_trilha"

    @property
    def public_url(self) -> str:
        if self._public_url is None:
            self._public_url = self.settings.public_base_url
        return self._public_url

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        step = self._requested_step(tracker)
        if step is None:
            dispatcher.utter_message(response="utter_escolher_trilha", buttons=[
                {"title": short_title(t.titulo, 24),
                 "payload": f'/seguir_trilha{{"trilha":"{t.id}"}}'}
                for t in self.knowledge.trilhas])
            return []
        dispatcher.utter_message(json_message=self._message(domain, step))
        events = [SlotSet(TRILHA_SLOT, step.trilha.id), SlotSet(CONTENT_SLOT, step.document.id),
                  SlotSet(TOPIC_SLOT, step.document.topic)]
        following = next_step(self.knowledge, step.document.id, step.trilha.id)
        if following is None:
            dispatcher.utter_message(response="utter_fim_da_trilha", trilha=step.trilha.titulo,
                                     buttons=[{"title": "Ver outras trilhas",
                                               "payload": "/seguir_trilha"}])
        else:
            dispatcher.utter_message(
                response="utter_oferecer_trilha", trilha=step.trilha.titulo,
                proximo=following.document.display_title,
                buttons=[{"title": TRILHA_BUTTON_TITLE,
                          "payload": f'/seguir_trilha{{"conteudo":"{following.document.id}"}}'}])
        return events

    def _requested_step(self, tracker: Tracker) -> Step | None:
        """The content asked for (button), the start of a named trilha, or the next
        content after the last one seen."""
        current = tracker.get_slot(TRILHA_SLOT)
        doc_id = entity(tracker, "conteudo")
        if doc_id and doc_id in {d.id for d in self.knowledge.documents}:
            trilha = trilha_of(self.knowledge, doc_id, current)
            return step_at(self.knowledge, trilha, doc_id) if trilha else None
        trilha_id = entity(tracker, "trilha")
        if trilha_id:
            return first_step(self.knowledge, trilha_id)
        seen = tracker.get_slot(CONTENT_SLOT)
        if seen and seen in {d.id for d in self.knowledge.documents}:
            return next_step(self.knowledge, seen, current)
        if current:
            return first_step(self.knowledge, current)
        return None

    def _message(self, domain: dict[str, Any], step: Step) -> dict[str, Any]:
        doc = step.document
        text = render(domain, "utter_passo_trilha", trilha=step.trilha.titulo,
                      posicao=str(step.position), total=str(step.total),
                      titulo=doc.display_title, resumo=doc.resumo or "")
        page = f"{self.public_url}/conteudos/{doc.id}"
        sources = [{"title": doc.display_title, "url": doc.url or page, "item": doc.item,
                    "trilha": step.trilha.titulo, "format": doc.formato}]
        sources += [{"title": s.titulo, "url": s.url, "item": doc.item,
                     "trilha": step.trilha.titulo, "format": None}
                    for s in doc.fontes[:MAX_OFFICIAL_SOURCES]]
        return {"text": text, "buttons": list(FEEDBACK_BUTTONS), "sources": sources,
                "item": doc.item, "topic": doc.topic}
