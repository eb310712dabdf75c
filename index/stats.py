"""Coverage statistics of the knowledge: what is written, and where the holes are."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from index.cauc import ITEMS
from index.knowledge import ITEM_SECTIONS, QUESTION_TYPES, Knowledge

MIN_QUESTIONS = 10
MIN_SYNONYMS = 3

# Short column labels for the coverage table, in section order.
SECTION_LABELS = ("verifica", "base", "sistema", "aplica", "causas", "regulariza", "prazos",
                  "enquanto", "relac.")


@dataclass
class KnowledgeStats:
    documents: Counter[str] = field(default_factory=Counter)
    sections: int = 0
    questions: int = 0
    cards: int = 0
    cards_per_target: dict[str, int] = field(default_factory=dict)
    answer_words: dict[str, float] = field(default_factory=dict)  # median, p90, max
    dev: int = 0
    blind: int = 0
    coverage: dict[str, list[bool]] = field(default_factory=dict)  # item -> sections present
    questions_per_target: dict[str, int] = field(default_factory=dict)
    questions_per_type: dict[str, int] = field(default_factory=dict)  # in QUESTION_TYPES order
    synonyms_per_item: dict[str, int] = field(default_factory=dict)
    systems: int = 0
    trilhas: dict[str, Counter[str]] = field(default_factory=dict)  # trilha -> per format
    holes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": dict(self.documents), "sections": self.sections,
            "questions": self.questions, "cards": self.cards,
            "cards_per_target": self.cards_per_target, "answer_words": self.answer_words,
            "dev_questions": self.dev, "blind_questions": self.blind,
            "coverage": {k: dict(zip(ITEM_SECTIONS, v, strict=True))
                         for k, v in self.coverage.items()},
            "questions_per_target": self.questions_per_target,
            "questions_per_type": self.questions_per_type,
            "synonyms_per_item": self.synonyms_per_item, "systems": self.systems,
            "trilhas": {k: dict(v) for k, v in self.trilhas.items()},
            "holes": self.holes,
        }


def knowledge_stats(knowledge: Knowledge) -> KnowledgeStats:
    stats = KnowledgeStats()
    stats.documents = Counter(d.tipo for d in knowledge.documents)
    stats.sections = sum(len(d.sections) for d in knowledge.documents)
    stats.questions = len(knowledge.questions)
    stats.cards = len(knowledge.cards)
    stats.cards_per_target = dict(Counter(c.topic for c in knowledge.cards))
    lengths = sorted(c.answer_words for c in knowledge.cards) or [0]
    stats.answer_words = {"median": float(median(lengths)),
                          "p90": float(lengths[int(0.9 * (len(lengths) - 1))]),
                          "max": float(lengths[-1])}
    stats.dev = len(knowledge.dev)
    stats.blind = len(knowledge.blind)
    per_target = Counter(q.topic for q in knowledge.questions)
    per_type = Counter(q.tipo for q in knowledge.questions)
    stats.questions_per_type = {tipo: per_type[tipo] for tipo in QUESTION_TYPES}
    stats.systems = len(knowledge.systems)
    for item in ITEMS:
        doc = knowledge.by_topic(item.code)
        headings = {s.heading for s in doc.sections} if doc else set()
        stats.coverage[item.code] = [h in headings for h in ITEM_SECTIONS]
        if doc is None:
            stats.holes.append(f"item {item.code}: no document")
        elif not all(stats.coverage[item.code]):
            stats.holes.append(f"item {item.code}: missing sections")
        if doc is not None:
            stats.synonyms_per_item[item.code] = len(doc.sinonimos)
            if len(doc.sinonimos) < MIN_SYNONYMS:
                stats.holes.append(f"item {item.code}: {len(doc.sinonimos)} synonyms "
                                   f"(< {MIN_SYNONYMS})")
    for doc in knowledge.documents:
        if doc.tipo in ("item", "tema"):
            count = per_target.get(doc.topic, 0)
            stats.questions_per_target[doc.topic] = count
            if count < MIN_QUESTIONS:
                stats.holes.append(f"{doc.topic}: {count} card questions (< {MIN_QUESTIONS})")
    for trilha in knowledge.trilhas:
        stats.trilhas[trilha.id] = Counter(knowledge.document(d).formato for d in trilha.conteudos
                                           if d in {x.id for x in knowledge.documents})
    return stats


def render_stats(stats: KnowledgeStats) -> str:
    lines = [
        f"Documents: {dict(stats.documents)}; sections (passages): {stats.sections}; "
        f"answer cards: {stats.cards} with {stats.questions} questions; dev questions: "
        f"{stats.dev}; blind questions: {stats.blind}; source systems: {stats.systems}",
        "Card answers, words: " + ", ".join(f"{k} {v:g}" for k, v in stats.answer_words.items()),
        "Questions per type: "
        + ", ".join(f"{tipo} {n}" for tipo, n in stats.questions_per_type.items()),
        "",
        "Coverage (item × section):",
        "  item   " + " ".join(f"{label:>10}" for label in SECTION_LABELS)
        + "  cards  quest.  sin.",
    ]
    for code, present in stats.coverage.items():
        marks = " ".join(f"{'✓' if p else '·':>10}" for p in present)
        lines.append(f"  {code:<6} {marks} {stats.cards_per_target.get(code, 0):>6} "
                     f"{stats.questions_per_target.get(code, 0):>6}"
                     f" {stats.synonyms_per_item.get(code, 0):>5}")
    lines += ["", "Topics: cards, questions"]
    lines += [f"  {topic:<45} {stats.cards_per_target.get(topic, 0):>4} {count:>5}"
              for topic, count in stats.questions_per_target.items()
              if topic not in stats.coverage]
    lines += ["", "Trilhas (contents per format):"]
    for trilha, formats in stats.trilhas.items():
        detail = ", ".join(f"{fmt} {n}" for fmt, n in sorted(formats.items()))
        lines.append(f"  {trilha:<40} {sum(formats.values()):>3}  ({detail})")
    lines += ["", "Holes: none" if not stats.holes else "Holes:"]
    lines += [f"  - {hole}" for hole in stats.holes]
    return "\n".join(lines)
