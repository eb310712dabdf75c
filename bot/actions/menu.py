"""Menus: the CAUC items by group, so a gestor can pick the item of a pendência."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import entity
from bot.actions.knowledge import item_buttons
from index.cauc import GROUPS, ITEMS

# Button labels of the groups (WhatsApp list rows take 24 characters).
GROUP_LABELS = {"1": "I · Adimplência", "2": "II · Prestação de contas",
                "3": "III · Transparência", "4": "IV · Obrigações legais", "5": "V · Limites"}


class ActionListItems(Action):
    """Without a group: the five groups of the extrato. With one: its items (municipal
    items only; state-only items are named by the knowledge when asked)."""

    def name(self) -> str:
        return "action_listar_itens"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        group = entity(tracker, "grupo")
        if group not in GROUPS:
            dispatcher.utter_message(response="utter_escolher_grupo", buttons=[
                {"title": GROUP_LABELS[code], "payload": f'/listar_itens{{"grupo":"{code}"}}'}
                for code in GROUPS])
            return []
        codes = [i.code for i in ITEMS if i.code.split(".")[0] == group and not i.states_only]
        dispatcher.utter_message(response="utter_escolher_item_do_grupo", grupo=GROUPS[group],
                                 buttons=item_buttons(codes))
        return []
