"""Short, cited answers composed from answer cards.

Iara never writes a fact of its own: the answer text is the best card's direct answer
(written from the reference), with the card's sources and a link to the section that
explains it in full. When no card is close enough, the answer says so (``found`` is
False) and suggests the closest cards' questions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from index.analyzer import PROTECTED, PortugueseAnalyzer
from index.card_index import CardHit, CardIndex, IndexedCard
from index.retriever import Retriever
from index.text import fold

# Words every CAUC conversation uses: they name no item.
GENERAL_CAUC_WORDS = ("cauc", "extrato", "pendência", "pendente", "comprovar", "município",
                      "prefeitura", "item", "mostrar", "regularidade", "requisito", "convênio",
                      "restrição", "assinar", "inadimplente", "transferência")

# What the question asks about -> the item section that answers it (folded text cues).
ASPECTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), heading) for pattern, heading in (
        (r"\b(prazos?|quando|ate quando|vence|vencimento|validade|vale por|data limite|"
         r"atrasad|calendario|dias)\b", "Prazos e validade"),
        (r"\b(como (regulariz|resolv|corrig|tir|sai|faco|faz|envi|homolog|assin)\w*|"
         r"regulariz\w*|resolv\w*|corrig\w*|sanar|solucion\w*|passo a passo)", "Como regularizar"),
        (r"\b(por que|porque|pq|por qual motivo|motivo|causas?)\b",
         'Por que aparece "a comprovar"'),
        (r"\b(base legal|lei|legislacao|fundamento|norma|artigo|art)\b", "Base legal"),
        (r"\b(qual sistema|que sistema|onde (envi|fac|faz)\w*|quem (assina|homologa|envia|"
         r"e responsavel|cuida)|responsavel|orgao)\b", "Sistema de origem e responsável"),
        (r"\b(se aplica|aplica|obrigad\w*|vale pra|vale para)\b", "A quem se aplica"),
        (r"\b(enquanto|comprovar por documento|comprovacao por documento|documento|"
         r"desabilitado|nao (consig|conseg|der|da tempo)\w*)\b",
         "Enquanto isso: comprovação por documento"),
        (r"\b(o que (e|eh|significa|verifica|exige)|significa|pra que serve|para que serve)\b",
         "O que verifica"),
    )
)


# The NLU's question types (knowledge/qa keys) -> the item section that answers them.
TYPE_SECTIONS: dict[str, str] = {
    "o_que_e": "O que verifica",
    "por_que_pendente": 'Por que aparece "a comprovar"',
    "como_regularizar": "Como regularizar",
    "prazo": "Prazos e validade",
    "base_legal": "Base legal",
    "sistema_responsavel": "Sistema de origem e responsável",
}

SECTION_TYPES = {section: tipo for tipo, section in TYPE_SECTIONS.items()}
HOW_TO = "como_regularizar"
# A second card (another thing the question asks about the same topic) joins the answer.
MAX_CARDS = 2
# Within the chosen topic, a card of the type the question asks (deadline, how to fix…)
# is preferred among this many of the topic's best cards.
ASPECT_WINDOW = 8
# ... when it scores within this of the topic's best card: the cues are words like
# "quando" and "quem", which also appear in questions that ask something else. Past the
# margin the best card answers first and the asked type's card follows it (dev set:
# answered fully 0.82 without a margin, 0.85-0.86 with 0.02-0.08).
ASPECT_MARGIN = 0.06
# Within one topic the cards share their vocabulary but not their details ("opção",
# "percentual"): the words a question shares with a card weigh more there than across
# topics (dev set: 0.80 answered fully with 0.2, 0.79 with 0.05 and with 0.4).
WITHIN_TOPIC_SPARSE_WEIGHT = 0.2
# When the topic's second card scores within this of its first, both answer; not when
# the question asks a type the second card is not (same answered fully, shorter). Dev set
# of 231: answered fully 0.871 with 0.03, 0.881 with 0.05, 0.886 with 0.08 and 0.900
# with 0.12, but the wider margins answer with two cards far more often (median 92-98
# words at 0.08-0.12): more words buy the facts. Kept at 0.03.
TIE_MARGIN = 0.03
# The questions of a message: sentences that end in "?" (a new sentence starts after
# ".", "!" or "?" and a capital, so "art. 52" and "3.2.2" stay whole), each split again
# at ", e quem…" / " e qual…" (a second question word after "e").
_SENTENCES = re.compile(r"(?<=\?)\s+|(?<=[.!])\s+(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ])")
_SECOND_QUESTION = re.compile(
    r"\s*[,;]?\s+e\s+(?=(?:qual|quais|quando|como|onde|quem|quanto|quantos|quantas|"
    r"o que|por que|porque|pq|qdo|qto|at[eé] quando|em quanto tempo|de onde)\b)",
    re.IGNORECASE)
MAX_CARD_SOURCES = 3
EXPLANATION_TITLE = "Ver explicação completa"


def question_aspects(question: str, question_types: Sequence[str] = ()) -> list[str]:
    """Item sections the question asks for: the NLU's question types (its 'aspecto'
    entities) first, then the text cues, in the order of the ASPECTS table."""
    folded = fold(question)
    aspects = list(dict.fromkeys(TYPE_SECTIONS[t] for t in question_types
                                 if t in TYPE_SECTIONS))
    aspects += [h for pattern, h in ASPECTS if pattern.search(folded) and h not in aspects]
    return aspects


def question_parts(message: str) -> list[str]:
    """The questions a message asks, in order ("Sou secretária… Qual o prazo do RGF e
    quem assina?" -> ["Qual o prazo do RGF", "quem assina?"]); a message with no "?" is
    one question."""
    sentences = [s.strip() for s in _SENTENCES.split(message.strip()) if s.strip()]
    questions = [s for s in sentences if s.endswith("?")] or [message.strip()]
    return [part.strip() for question in questions
            for part in _SECOND_QUESTION.split(question) if part.strip()]


def asked_types(question: str, question_types: Sequence[str] = ()) -> list[str]:
    """The question types (card ``tipo``) the question asks, in the order of
    :func:`question_aspects`."""
    return [SECTION_TYPES[s] for s in question_aspects(question, question_types)
            if s in SECTION_TYPES]


@dataclass(frozen=True)
class Citation:
    title: str
    url: str | None = None
    item: str | None = None
    trilha: str | None = None
    format: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    found: bool
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    item: str | None = None
    topic: str | None = None
    doc_id: str | None = None
    cards: list[str] = field(default_factory=list)  # keys of the cards that answered
    card_hits: list[CardHit] = field(default_factory=list)
    explanation: Citation | None = None  # the full explanation, one tap away

    @property
    def score(self) -> float:
        """Score of the best card (0 when there was none)."""
        return self.card_hits[0].score if self.card_hits else 0.0

    @property
    def words(self) -> int:
        return len(self.text.split())


def card_answer_text(cards: Sequence[IndexedCard], steps: bool) -> str:
    """The cards' direct answers, each how-to card followed by its numbered steps when the
    question asks how."""
    parts = []
    for card in cards:
        parts.append(card.resposta)
        if steps and card.passos and (card.tipo == HOW_TO or len(cards) == 1):
            parts.append("\n".join(f"{n}. {step}" for n, step in enumerate(card.passos, 1)))
    return "\n\n".join(parts)


def card_citations(cards: Sequence[IndexedCard]) -> list[Citation]:
    """The cards' own sources, official ones first, each once."""
    seen: set[str] = set()
    ranked = sorted(((s, card) for card in cards for s in card.sources),
                    key=lambda pair: not pair[0].get("oficial"))
    citations = []
    for source, card in ranked:
        if source["url"] in seen:
            continue
        seen.add(source["url"])
        citations.append(Citation(title=str(source["titulo"]), url=source["url"],
                                  item=card.item, trilha=card.trilha_titulo, format=None))
    return citations[:MAX_CARD_SOURCES]


def explanation_link(card: IndexedCard, public_url: str) -> Citation:
    """The card's section in its document's page (/conteudos/<id>#<section>)."""
    url = f"{public_url}/conteudos/{card.doc_id}#{card.anchor}" if public_url else \
        f"/conteudos/{card.doc_id}#{card.anchor}"
    return Citation(title=f"{card.title} › {card.secao}", url=url, item=card.item,
                    trilha=card.trilha_titulo, format=card.format)


class Answerer:
    """Answers questions from the answer cards with a fixed threshold (what an action
    holds). The passage ``retriever`` tells which words name a topic or an item.

    With ``context_topic`` (the item or topic of the previous answer), a follow-up that
    names no topic of its own ("e o prazo?", "e se eu não conseguir?") is answered from
    that topic.
    """

    def __init__(
        self,
        retriever: Retriever,
        cards: CardIndex,
        *,
        k: int = 5,
        min_card_score: float = 0.0,
        public_url: str = "",
        aspect_margin: float = ASPECT_MARGIN,
    ) -> None:
        self.retriever = retriever
        self.cards = cards
        self.k = k
        self.aspect_margin = aspect_margin
        self.min_card_score = min_card_score
        self.public_url = public_url
        self._topic_terms: set[str] | None = None
        self._item_terms: set[str] | None = None
        self._item_acronyms: set[str] | None = None
        sparse = retriever.sparse
        self._analyzer_instance = sparse.analyzer if sparse is not None else None

    @property
    def topic_terms(self) -> set[str]:
        """Tokens that name a topic: acronyms, item codes, and title/keyword words
        specific to at most two documents."""
        if self._topic_terms is None:
            analyzer = self._analyzer()
            docs: dict[str, set[str]] = {}
            for chunk in self.retriever.chunks:
                if chunk.doc_id not in docs:
                    docs[chunk.doc_id] = set(analyzer.tokens(
                        f"{chunk.title} {' '.join(chunk.keywords)}"))
            frequency = Counter(t for terms in docs.values() for t in terms)
            self._topic_terms = (PROTECTED | {t for t, n in frequency.items() if n <= 2}
                                 | {c.item for c in self.retriever.chunks if c.item})
        return self._topic_terms

    def _analyzer(self) -> PortugueseAnalyzer:
        if self._analyzer_instance is None:
            self._analyzer_instance = PortugueseAnalyzer()
        return self._analyzer_instance

    def names_topic(self, question: str) -> bool:
        """Whether the question names an item, a system or a topic of its own."""
        return bool(set(self._analyzer().tokens(question)) & self.topic_terms)

    def names_item(self, question: str) -> bool:
        """Whether the question names a CAUC item (its code, or a term specific to one
        item's title or keywords), as opposed to the CAUC in general ("estou com
        pendência no cauc")."""
        if self._item_terms is None:
            analyzer = self._analyzer()
            docs: dict[str, tuple[bool, set[str]]] = {}
            for chunk in self.retriever.chunks:
                if chunk.doc_id not in docs:
                    docs[chunk.doc_id] = (bool(chunk.item), set(analyzer.tokens(
                        f"{chunk.title} {' '.join(chunk.keywords)}")))
            frequency = Counter(t for _, terms in docs.values() for t in terms)
            self._item_terms = {t for is_item, terms in docs.values() if is_item
                                for t in terms if frequency[t] <= 2} - set(
                analyzer.tokens(" ".join(GENERAL_CAUC_WORDS)))
            self._item_terms |= {c.item for c in self.retriever.chunks if c.item}
        return bool(set(self._analyzer().tokens(question)) & self._item_terms)

    def names_item_acronym(self, question: str) -> bool:
        """Whether the question names an acronym of an item's title or keywords ("RGF",
        "SIOPS", "CRP"), also one several items share and so names no single item."""
        if self._item_acronyms is None:
            analyzer = self._analyzer()
            self._item_acronyms = {
                term for chunk in self.retriever.chunks if chunk.item
                for term in analyzer.tokens(f"{chunk.title} {' '.join(chunk.keywords)}")
                if term in PROTECTED}
        return bool(set(self._analyzer().tokens(question)) & self._item_acronyms)

    def is_follow_up(self, question: str, question_types: Sequence[str] = ()) -> bool:
        """A question that names no topic but asks about an aspect of one."""
        return not self.names_topic(question) and bool(question_aspects(question,
                                                                        question_types))

    def answer(self, question: str, *, item: str | None = None,
               context_topic: str | None = None,
               question_types: Sequence[str] = (),
               candidates: Sequence[str] = ()) -> Answer:
        """Answer ``question`` from the best card: ``item`` (an item the NLU recognised)
        restricts the cards to that item's, whatever their scores; ``question_types`` (the
        NLU's aspects) pick the card of the type asked; ``context_topic`` answers
        follow-ups from the previous topic. ``candidates`` are the items the question
        narrowed itself to without naming one (those a named source system feeds): when
        the best card over everything is not close enough, the best of theirs answers.
        Otherwise the best card must reach ``min_card_score``, else Iara does not know."""

        def attempt(topics: Sequence[str] | None, confident: bool) -> Answer:
            hits = self.cards.search(question, self.k, topics=topics)
            if not hits or (confident and hits[0].score < self.min_card_score):
                return Answer(found=False, card_hits=hits,
                              suggestions=list(dict.fromkeys(h.card.pergunta for h in hits))[:3])
            return self._compose_cards(question, hits, question_types)

        if context_topic and item is None and self.is_follow_up(question, question_types):
            followed = attempt([context_topic], confident=False)
            if followed.found:
                return followed
        if item is not None:
            named = attempt([item], confident=False)
            if named.found:
                return named
        answer = attempt(None, confident=True)
        if answer.found or not candidates:
            return answer
        narrowed = attempt(list(candidates), confident=False)
        return narrowed if narrowed.found else answer

    def _ranked_in(self, part: str, topic: str) -> list[CardHit]:
        """The topic's cards for ``part``, best first (its words weigh more here)."""
        return self.cards.search(part, ASPECT_WINDOW, topics=[topic],
                                 sparse_weight=WITHIN_TOPIC_SPARSE_WEIGHT)

    @staticmethod
    def _preferred(ranked: list[CardHit], asked: Sequence[str],
                   margin: float) -> IndexedCard | None:
        """The best-ranked card, or, when the part asks a type (deadline, how to fix…)
        that card is not, the best-ranked card of that type if it scores within
        ``margin`` of the best (the cues are words like "quando" and "quem", which also
        appear in questions that ask something else)."""
        if not ranked:
            return None
        if asked and ranked[0].card.tipo not in asked:
            floor = ranked[0].score - margin
            return next((h.card for h in ranked if h.card.tipo in asked and h.score >= floor),
                        ranked[0].card)
        return ranked[0].card

    def _compose_cards(self, question: str, hits: list[CardHit],
                       question_types: Sequence[str]) -> Answer:
        """The whole message picks the topic (its best card's); each question it asks
        picks a card of that topic (at most :data:`MAX_CARDS`, in the order asked); a
        single question that asks two things gets a card for each."""
        topic = hits[0].card.topic
        parts = question_parts(question)
        # A message that names no topic ("e a validade?" after an answer, or with the
        # item from a button) asks nothing but the type, and a type given without any cue
        # in the text (a button's, or the NLU's alone) is explicit: that type's card
        # answers. The margin is for cue words in a question about a topic.
        cued = bool(asked_types(question)) and self.names_topic(question)
        margin = self.aspect_margin if cued else float("inf")
        chosen: list[IndexedCard] = []
        for part in parts:
            asked = asked_types(part, question_types if len(parts) == 1 else ())
            ranked = self._ranked_in(part, topic)
            card = self._preferred(ranked, asked, margin)
            if card is not None and card.key not in {c.key for c in chosen}:
                chosen.append(card)
        asked = asked_types(question, question_types)
        if len(parts) == 1:
            # Each other type asked gets the whole message's best card of that type.
            whole = ranked if parts[0] == question.strip() else self._ranked_in(question, topic)
            for tipo in asked:
                if len(chosen) >= MAX_CARDS or any(c.tipo == tipo for c in chosen):
                    continue
                extra = next((h.card for h in whole if h.card.tipo == tipo), None)
                if extra is not None and extra.key not in {c.key for c in chosen}:
                    chosen.append(extra)
            chosen.sort(key=lambda c: asked.index(c.tipo) if c.tipo in asked else -1)
            if len(chosen) == 1 and len(ranked) > 1 and ranked[0].card.key == chosen[0].key \
                    and ranked[0].score - ranked[1].score <= TIE_MARGIN \
                    and (not asked or ranked[1].card.tipo in asked):
                # Two cards of the topic fit about as well: both short answers, rather
                # than a guess between them.
                chosen.append(ranked[1].card)
        chosen = chosen[:MAX_CARDS] or [hits[0].card]
        best = chosen[0]
        steps = any(c.tipo == HOW_TO for c in chosen) or HOW_TO in asked
        return Answer(
            found=True,
            text=card_answer_text(chosen, steps),
            citations=card_citations(chosen),
            item=best.item,
            topic=best.topic,
            doc_id=best.doc_id,
            cards=[card.key for card in chosen],
            card_hits=hits,
            explanation=explanation_link(best, self.public_url),
        )
