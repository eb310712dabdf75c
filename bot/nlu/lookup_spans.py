"""Align entity spans the NLU predicts with the expressions of their lookup table.

Some entities are a closed list of expressions: the question types of
``knowledge/aspectos.yml`` ("o que é", "como faço", "até quando") are annotated by
``iara nlu export`` wherever one of them occurs, as whole words, accent- and
case-insensitively, and nowhere else. DIET decides *that* a message asks for a deadline,
but it tags word by word, so it often returns a piece of a multi-word expression ("como"
of "como faço", "o" and "é" of "o que é") or several pieces of one.

This component runs after DIET and, for the configured entities, moves each predicted
span onto the lookup-table expression it overlaps (the longest one), merges the pieces
that land on the same expression, and drops a span that overlaps none: a span that is no
expression of the list cannot be what the entity means. It adds no entity DIET did not
predict, so DIET still decides whether a message asks something. The expressions come
from the training data's lookup tables (the export writes them from the knowledge), so a
new expression needs a retraining, as any data change does.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.folding import fold_keep_length

logger = logging.getLogger(__name__)

_FILE = "lookup_spans.json"


def expression_spans(text: str, expressions: list[str]) -> list[tuple[int, int]]:
    """Where the (folded) expressions occur in ``text`` as whole words."""
    folded = fold_keep_length(text)
    return [(m.start(), m.end()) for expression in expressions
            for m in re.finditer(rf"(?<!\w){re.escape(expression)}(?!\w)", folded)]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LookupSpanAligner(GraphComponent, EntityExtractorMixin):
    """Snaps predicted spans of closed-list entities to their lookup expressions."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # The entities whose values are exactly the expressions of their lookup table.
        return {"entities": ["aspecto"]}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, expressions: dict[str, list[str]] | None = None
                 ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.expressions = expressions or {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext
               ) -> LookupSpanAligner:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        wanted = set(self._config["entities"])
        expressions: dict[str, set[str]] = {}
        for table in training_data.lookup_tables:
            if table.get("name") in wanted:
                expressions.setdefault(table["name"], set()).update(
                    fold_keep_length(str(e)).strip() for e in table.get("elements", []))
        for entity in sorted(wanted - set(expressions)):
            logger.warning("LookupSpanAligner: no lookup table for entity '%s'; its "
                           "predictions pass unchanged", entity)
        self.expressions = {entity: sorted(e for e in found if e)
                            for entity, found in expressions.items()}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(self.expressions, ensure_ascii=False),
                                           encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LookupSpanAligner:
        try:
            with model_storage.read_from(resource) as directory:
                expressions = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("LookupSpanAligner: no trained expressions in the model; "
                           "predictions pass unchanged")
            expressions = {}
        return cls(config, model_storage, resource, expressions)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES, [])
            if any(e.get(ENTITY_ATTRIBUTE_TYPE) in self.expressions for e in entities):
                message.set(ENTITIES, self.align(message.get(TEXT, ""), entities),
                            add_to_output=True)
        return messages

    def align(self, text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``entities`` with each closed-list span moved onto its expression (or
        dropped), pieces of one expression merged, the other entities untouched."""
        kept = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) not in self.expressions]
        occupied = [(e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END]) for e in kept]
        spans_of = {entity: expression_spans(text, expressions)
                    for entity, expressions in self.expressions.items()}
        aligned: dict[tuple[str, int, int], dict[str, Any]] = {}
        for entity in entities:
            kind = entity.get(ENTITY_ATTRIBUTE_TYPE)
            if kind not in self.expressions:
                continue
            start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
            overlapping = [(s, e) for s, e in spans_of[kind] if s < end and e > start
                           and all(e <= a or s >= b for a, b in occupied)]
            if not overlapping:
                continue  # no expression of the list: not this entity
            s, e = max(overlapping, key=lambda span: (span[1] - span[0], -span[0]))
            key = (kind, s, e)
            if key in aligned:  # another piece of the same expression
                continue
            snapped = {**entity, ENTITY_ATTRIBUTE_START: s, ENTITY_ATTRIBUTE_END: e,
                       ENTITY_ATTRIBUTE_VALUE: text[s:e]}
            if (s, e) != (start, end):
                self.add_processor_name(snapped)
            aligned[key] = snapped
        return sorted([*kept, *aligned.values()], key=lambda e: e[ENTITY_ATTRIBUTE_START])
