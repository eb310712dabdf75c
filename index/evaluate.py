"""Retrieval evaluation on the held-out dev set.

A chunk is relevant to a dev question when it belongs to the question's item or topic.
Metrics per method: Recall@1/3/5 (a relevant chunk in the top k), MRR@10 and nDCG@5
(binary relevance), plus a per-topic breakdown and the worst questions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from index.knowledge import OUT_OF_SCOPE, DevQuestion
from index.retriever import Hit

Search = Callable[[str, int], list[Hit]]
DEPTH = 10


@dataclass(frozen=True)
class QuestionResult:
    q: str
    topic: str
    rank: int | None  # 1-based rank of the first relevant chunk in the top DEPTH
    ndcg5: float
    top: str  # topic of the first hit


def _ndcg(relevant: list[bool], total_relevant: int, k: int = 5) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(relevant[:k]) if rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, total_relevant)))
    return dcg / ideal if ideal else 0.0


def evaluate_method(search: Search, questions: list[DevQuestion],
                    relevant_counts: dict[str, int]) -> list[QuestionResult]:
    results = []
    for question in questions:
        hits = search(question.q, DEPTH)
        flags = [h.chunk.topic == question.topic for h in hits]
        rank = next((i + 1 for i, flag in enumerate(flags) if flag), None)
        results.append(QuestionResult(
            question.q, question.topic, rank,
            _ndcg(flags, relevant_counts.get(question.topic, 0)),
            (hits[0].chunk.topic or "") if hits else ""))
    return results


def summarize(results: list[QuestionResult]) -> dict[str, float]:
    n = len(results) or 1

    def recall(k: int) -> float:
        return round(sum(r.rank is not None and r.rank <= k for r in results) / n, 4)

    return {
        "recall@1": recall(1),
        "recall@3": recall(3),
        "recall@5": recall(5),
        "mrr@10": round(sum(1.0 / r.rank for r in results if r.rank) / n, 4),
        "ndcg@5": round(sum(r.ndcg5 for r in results) / n, 4),
        "questions": len(results),
    }


def evaluate(methods: dict[str, Search], dev: list[DevQuestion],
             relevant_counts: dict[str, int], *, worst: int = 10) -> dict[str, Any]:
    """Every method on the in-scope dev questions; the last method gets the breakdown."""
    questions = [d for d in dev if d.topic != OUT_OF_SCOPE]
    report: dict[str, Any] = {"dev_questions": len(questions), "methods": {}}
    last: list[QuestionResult] = []
    for name, search in methods.items():
        last = evaluate_method(search, questions, relevant_counts)
        report["methods"][name] = summarize(last)
    by_topic: dict[str, list[QuestionResult]] = defaultdict(list)
    for result in last:
        by_topic[result.topic].append(result)
    name = list(methods)[-1] if methods else ""
    report["breakdown_method"] = name
    report["per_topic"] = {topic: summarize(rs) for topic, rs in sorted(by_topic.items())}
    ranked = sorted(last, key=lambda r: (-(r.rank or DEPTH + 1), r.ndcg5))
    report["worst"] = [{"q": r.q, "topic": r.topic, "rank": r.rank, "top": r.top}
                       for r in ranked[:worst]]
    return report


def render_report(report: dict[str, Any]) -> str:
    metrics = ("recall@1", "recall@3", "recall@5", "mrr@10", "ndcg@5")
    lines = [f"Retrieval on {report['dev_questions']} in-scope dev questions",
             f"  {'method':<17}" + "".join(f"{m:>10}" for m in metrics)]
    for name, values in report["methods"].items():
        lines.append(f"  {name:<17}" + "".join(f"{values[m]:>10.3f}" for m in metrics))
    lines += ["", f"Per topic ({report['breakdown_method']}): recall@3, mrr@10, questions"]
    for topic, values in report["per_topic"].items():
        lines.append(f"  {topic:<45} {values['recall@3']:>6.2f} {values['mrr@10']:>6.2f} "
                     f"{values['questions']:>4}")
    lines += ["", "Worst questions:"]
    for row in report["worst"]:
        rank = row["rank"] or f">{DEPTH}"
        lines.append(f"  rank {rank!s:<4} [{row['topic']} → {row['top']}] {row['q']}")
    return "\n".join(lines)
