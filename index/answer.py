"""Extractive, cited answers composed from retrieved passages.

Iara never writes a fact of its own: the answer text is made of knowledge passages, and
every answer from the knowledge lists where it came from. When retrieval is not
confident, the answer says so (``found`` is False) and suggests the closest topics.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from index.analyzer import PROTECTED, PortugueseAnalyzer
from index.card_index import CardHit, CardIndex, IndexedCard
from index.retriever import Hit, Retriever
from index.text import fold, plain_text

# A second passage from the same document joins the answer when it scores this close.
SECOND_PASSAGE_MARGIN = 1.0  # in fused (reciprocal rank) units
MAX_OFFICIAL_SOURCES = 3
MAX_PASSAGES = 3
# Below both thresholds, retrieval still counts as confident when this many top hits all
# come from one document and the best of them reaches AGREEMENT_FLOOR of min_score: the
# ranking agrees on the topic even though the wording is far from the text.
AGREEING_HITS = 3
AGREEMENT_FLOOR = 0.75
ASPECT_PASSAGES = 2
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
    hits: list[Hit] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    item: str | None = None
    topic: str | None = None
    doc_id: str | None = None
    cards: list[str] = field(default_factory=list)  # keys of the cards that answered
    card_hits: list[CardHit] = field(default_factory=list)
    explanation: Citation | None = None  # the full explanation, one tap away

    @property
    def score(self) -> float:
        """Cosine similarity of the best hit (0 when nothing was found)."""
        if self.card_hits:
            return self.card_hits[0].dense
        return self.hits[0].dense if self.hits else 0.0

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


def compose_answer(
    question: str,
    retriever: Retriever,
    *,
    k: int = 5,
    min_score: float = 0.28,
    min_sparse: float = 1.2,
    public_url: str = "",
    item: str | None = None,
    topic: str | None = None,
    question_types: Sequence[str] = (),
) -> Answer:
    """Answer from the best passage when the match is good enough.

    Confidence comes from the raw scores of the best hit, not from its fused rank:
    a cosine similarity of at least ``min_score`` or a BM25 score of at least
    ``min_sparse`` (one-word questions like "siope?" score low on the dense side), or
    from top hits that agree on one document (:func:`_confident`).
    """
    hits = retriever.search(question, k, item=item, topic=topic)
    if not hits or not _confident(hits, min_score, min_sparse):
        # Suggest the closest topics only when there was some signal at all.
        near = bool(hits) and (hits[0].dense >= 0.6 * min_score
                               or hits[0].sparse >= 0.5 * min_sparse)
        return Answer(found=False, hits=hits, suggestions=_suggestions(hits) if near else [])
    best = hits[0]
    passages = _passages(question, retriever, hits, question_types)
    return Answer(
        found=True,
        text=answer_text(passages),
        citations=_citations(passages, public_url),
        hits=hits,
        item=best.chunk.item,
        topic=best.chunk.topic,
        doc_id=best.chunk.doc_id,
    )


def _confident(hits: list[Hit], min_score: float, min_sparse: float) -> bool:
    """The best hit is close enough (cosine or BM25), or the top hits agree on one
    document and come near enough (see AGREEING_HITS)."""
    best = hits[0]
    if best.dense >= min_score or best.sparse >= min_sparse:
        return True
    top = hits[:AGREEING_HITS]
    return (len(top) == AGREEING_HITS and len({h.chunk.doc_id for h in top}) == 1
            and max(h.dense for h in top) >= AGREEMENT_FLOOR * min_score)


def answer_text(passages: list[Hit]) -> str:
    """The passages as one plain text that opens with the direct answer.

    Knowledge sections open with a sentence that answers their question on its own
    ("O item 3.2.2 ... segue o prazo do relatório: 30 dias após o fim de cada
    bimestre"), so the first passage goes first without a heading (its title travels in
    the citation); a second passage gets its heading as a separator.
    """
    parts = [plain_text(passages[0].chunk.text)]
    parts += [f"{p.chunk.title} — {p.chunk.heading}\n{plain_text(p.chunk.text)}"
              for p in passages[1:]]
    return "\n\n".join(parts)


def _passages(question: str, retriever: Retriever, hits: list[Hit],
              question_types: Sequence[str] = ()) -> list[Hit]:
    """The best document's sections that answer the question.

    Retrieval picks the document; the question's aspect (deadline, how to fix, legal
    basis...) picks its sections. Without an aspect cue, the best-ranked passage (and a
    near-tied one of the same document) answers.
    """
    best = hits[0]
    aspects = question_aspects(question, question_types)
    if aspects and best.chunk.item:
        in_doc = retriever.search(question, len(retriever.chunks), topic=best.chunk.topic)
        by_heading = {h.chunk.heading: h for h in in_doc}
        chosen = [by_heading[a] for a in aspects if a in by_heading][:ASPECT_PASSAGES]
        if chosen:
            # The question's own best passage joins when it is another section.
            if in_doc and in_doc[0].chunk.id not in {c.chunk.id for c in chosen}:
                chosen.append(in_doc[0])
            return chosen[:MAX_PASSAGES]
    passages = [best]
    for hit in hits[1:]:
        same_doc = hit.chunk.doc_id == best.chunk.doc_id
        if same_doc and hit.score >= best.score - SECOND_PASSAGE_MARGIN:
            passages.append(hit)
            break
    return passages


def _citations(passages: list[Hit], public_url: str) -> list[Citation]:
    citations: list[Citation] = []
    seen: set[str] = set()
    for passage in passages:
        chunk = passage.chunk
        key = f"{chunk.doc_id}#{chunk.anchor}"
        if key not in seen:
            seen.add(key)
            page = f"{public_url}/conteudos/{chunk.doc_id}#{chunk.anchor}" if public_url else None
            citations.append(Citation(
                title=f"{chunk.title} › {chunk.heading}",
                url=chunk.source_url or page,
                item=chunk.item,
                trilha=chunk.trilha_titulo,
                format=chunk.format,
            ))
    first = passages[0].chunk
    if first.url:  # an ingested content cites itself, located above
        return citations
    for source in first.sources[:MAX_OFFICIAL_SOURCES]:
        citations.append(Citation(
            title=str(source["titulo"]), url=source.get("url"), item=first.item,
            trilha=first.trilha_titulo, format=None))
    return citations


def _suggestions(hits: list[Hit]) -> list[str]:
    titles: list[str] = []
    for hit in hits:
        if hit.chunk.title not in titles:
            titles.append(hit.chunk.title)
    return titles[:3]


class Answerer:
    """Answers questions from one retriever with fixed thresholds (what an action holds).

    With ``context_topic`` (the item or topic of the previous answer), a follow-up that
    names no topic of its own ("e o prazo?", "e se eu não conseguir?") is answered from
    that topic.
    """

    def __init__(
        self,
        retriever: Retriever,
        *,
        k: int = 5,
        min_score: float = 0.28,
        min_sparse: float = 1.2,
        public_url: str = "",
        cards: CardIndex | None = None,
        min_card_score: float = 0.0,
    ) -> None:
        self.retriever = retriever
        self.k = k
        self.min_score = min_score
        self.min_sparse = min_sparse
        self.public_url = public_url
        self.cards = cards if cards is not None and len(cards) else None
        self.min_card_score = min_card_score
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
        """Answer ``question``; ``item`` (an item the NLU recognised) restricts retrieval
        to that item's passages, ``question_types`` (the NLU's aspects) pick the sections,
        ``context_topic`` answers follow-ups from the previous topic. ``candidates`` are
        the items the question narrowed itself to without naming one (those a named
        source system feeds): when retrieval over everything is not confident, the one of
        them whose passage ranks first answers from its own passages."""
        if self.cards is not None:
            return self._answer_from_cards(question, item=item, context_topic=context_topic,
                                           question_types=question_types,
                                           candidates=candidates)

        def compose(topic: str | None = None, confident: bool = True) -> Answer:
            return compose_answer(
                question, self.retriever, k=self.k, public_url=self.public_url,
                min_score=self.min_score if confident else 0.0,
                min_sparse=self.min_sparse if confident else 0.0,
                topic=topic, question_types=question_types)

        if context_topic and item is None and self.is_follow_up(question, question_types):
            followed = compose(context_topic, confident=False)
            if followed.found:
                return followed
        if item is not None:
            # The item was named: its own passages answer, whatever their raw scores.
            named = compose(item, confident=False)
            if named.found:
                return named
        answer = compose()
        if answer.found or not candidates:
            return answer
        # The candidate whose passage ranks first over everything (dense and BM25 fused).
        wanted = set(candidates)
        ranked = self.retriever.search(question, len(self.retriever.chunks))
        best = next((h.chunk.item for h in ranked if h.chunk.item in wanted), None)
        narrowed = compose(best, confident=False) if best else answer
        return narrowed if narrowed.found else answer

    def _answer_from_cards(self, question: str, *, item: str | None,
                           context_topic: str | None, question_types: Sequence[str],
                           candidates: Sequence[str]) -> Answer:
        """The best card's direct answer (see :meth:`answer` for the arguments). A named
        item, or the previous topic for a follow-up, restricts the cards and is answered
        whatever the scores; otherwise the best card must reach ``min_card_score``, else
        the items of a named system are tried, else Iara does not know."""
        assert self.cards is not None

        def attempt(topics: Sequence[str] | None, confident: bool) -> Answer:
            hits = self.cards.search(question, self.k, topics=topics)  # type: ignore[union-attr]
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

    def _card_for(self, part: str, topic: str, asked: Sequence[str]) -> IndexedCard | None:
        """The topic's card that answers ``part``: the best-ranked one, or, when the part
        asks a type (deadline, how to fix…) that card is not, the best-ranked card of that
        type among the topic's first :data:`ASPECT_WINDOW`."""
        assert self.cards is not None
        ranked = self.cards.search(part, ASPECT_WINDOW, topics=[topic])
        if not ranked:
            return None
        if asked and ranked[0].card.tipo not in asked:
            return next((h.card for h in ranked if h.card.tipo in asked), ranked[0].card)
        return ranked[0].card

    def _compose_cards(self, question: str, hits: list[CardHit],
                       question_types: Sequence[str]) -> Answer:
        """The whole message picks the topic (its best card's); each question it asks
        picks a card of that topic (at most :data:`MAX_CARDS`, in the order asked); a
        single question that asks two things gets a card for each."""
        topic = hits[0].card.topic
        parts = question_parts(question)
        chosen: list[IndexedCard] = []
        for part in parts:
            asked = asked_types(part, question_types if len(parts) == 1 else ())
            card = self._card_for(part, topic, asked)
            if card is not None and card.key not in {c.key for c in chosen}:
                chosen.append(card)
        asked = asked_types(question, question_types)
        if len(parts) == 1:
            for tipo in asked:
                if len(chosen) >= MAX_CARDS or any(c.tipo == tipo for c in chosen):
                    continue
                extra = self._card_for(question, topic, [tipo])
                if extra is not None and extra.tipo == tipo and extra.key not in {
                        c.key for c in chosen}:
                    chosen.append(extra)
            chosen.sort(key=lambda c: asked.index(c.tipo) if c.tipo in asked else -1)
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
