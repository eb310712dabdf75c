"""Answer evaluation: dev and blind sets, through the running API (or offline, from the
answerer alone).

For each question of a YAML list of ``{q, item, topic, must_mention[, style]}``: ask (a
fresh conversation each), read which item(s) the answer is about from its sources, which
must-mention terms its text contains (case and accents ignored), how many words it has,
and whether Iara declined (no message carries sources: a refusal, a greeting, a question
back or "não sei").

A question is **answered fully** when Iara answered it (sources), from the expected item
when there is one, with every must-mention term. The blind set is reported only as totals:
its questions are never printed, so nothing is tuned on them.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

from index.knowledge import OUT_OF_SCOPE
from index.text import fold

# An answering function: question -> the channel-neutral messages Iara sends back.
Ask = Callable[[str, str], list[dict[str, Any]]]
METRICS = ("answered_fully", "item_accuracy", "must_mention_coverage", "oos_decline_rate",
           "in_scope_answered_rate", "words_median", "words_p90", "p50_ms", "p95_ms")
LABELS = {
    "answered_fully": "answered fully",
    "item_accuracy": "item accuracy",
    "must_mention_coverage": "must-mention coverage",
    "oos_decline_rate": "out of scope declined",
    "in_scope_answered_rate": "in scope answered",
    "words_median": "answer words, median",
    "words_p90": "answer words, p90",
    "p50_ms": "latency p50 ms",
    "p95_ms": "latency p95 ms",
}


def load_questions(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("q") for d in data):
        raise ValueError(f"{path}: expected a YAML list of {{q, item, topic, must_mention}}")
    return data


def reply_prefixes(domain_file: Path) -> dict[str, str]:
    """The opening words of each of the domain's responses (up to the first slot), folded,
    to name what Iara replied when she did not answer."""
    responses = (yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}).get(
        "responses") or {}
    prefixes = {}
    for name, variants in responses.items():
        text = fold(str((variants or [{}])[0].get("text") or "")).split("{")[0]
        if len(text) >= 12:
            prefixes[" ".join(text.split()[:8])] = name
    return prefixes


def miss_kind(result: dict[str, Any], messages: list[dict[str, Any]],
              prefixes: dict[str, str]) -> str | None:
    """Why an in-scope question was not answered fully: ``wrong_item``, ``missing_facts``,
    or, when Iara did not answer, the response she gave instead (``utter_nao_sei``,
    ``utter_perguntar_item``…; ``other`` for an action's own text, e.g. a situation)."""
    if result["topic"] == OUT_OF_SCOPE or result["answered_fully"]:
        return None
    if not result["declined"]:
        return "wrong_item" if result["item_correct"] is False else "missing_facts"
    first = " ".join(fold(str(messages[0].get("text", ""))).split()) if messages else ""
    if not first:
        return "not_found"  # the offline answerer found no card
    return next((name for prefix, name in prefixes.items() if first.startswith(prefix)),
                "other")


def judge(question: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    answers = [m for m in messages if m.get("sources")]
    sources = [s for m in answers for s in m["sources"]]
    items = sorted({s["item"] for s in sources if s.get("item")})
    text = fold(" ".join(m.get("text", "") for m in messages))
    must = [str(m) for m in question.get("must_mention") or []]
    found = [m for m in must if fold(m) in text]
    expected_item = question.get("item")
    declined = not sources
    item_correct = expected_item in items if expected_item else None
    in_scope = question.get("topic") != OUT_OF_SCOPE
    return {
        "q": question["q"],
        "topic": question.get("topic"),
        "style": question.get("style"),
        "expected_item": expected_item,
        "items": items,
        "item_correct": item_correct,
        "must_mention": must,
        "found": found,
        "declined": declined,
        "answered_fully": (in_scope and not declined and item_correct is not False
                           and len(found) == len(must)),
        "words": sum(len(str(m.get("text", "")).split()) for m in answers),
    }


def api_asker(api_url: str, client: httpx.Client) -> Ask:
    def ask(sender: str, question: str) -> list[dict[str, Any]]:
        response = client.post(f"{api_url.rstrip('/')}/api/chat",
                               json={"sender": sender, "message": question})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages
    return ask


def evaluate(ask: Ask, questions: list[dict[str, Any]],
             prefixes: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask every question (a new conversation each) and judge the answers; ``prefixes``
    (see :func:`reply_prefixes`) name the replies of the in-scope misses."""
    results = []
    run = uuid.uuid4().hex[:8]
    for i, question in enumerate(questions):
        started = time.perf_counter()
        messages = ask(f"eval-{run}-{i}", question["q"])
        elapsed = (time.perf_counter() - started) * 1000
        result = judge(question, messages)
        result["ms"] = round(elapsed, 1)
        result["miss"] = miss_kind(result, messages, prefixes or {})
        results.append(result)
    misses = Counter(r["miss"] for r in results if r["miss"])
    return {"totals": totals(results), "by_style": by_style(results),
            "misses": dict(misses.most_common()), "questions": results}


def evaluate_answers(api_url: str, questions: list[dict[str, Any]],
                     prefixes: dict[str, str] | None = None,
                     timeout: float = 60.0) -> dict[str, Any]:
    """Every question through ``POST /api/chat`` of the API at ``api_url``."""
    with httpx.Client(timeout=timeout) as client:
        return evaluate(api_asker(api_url, client), questions, prefixes)


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    with_item = [r for r in results if r["expected_item"]]
    in_scope = [r for r in results if r["topic"] != OUT_OF_SCOPE]
    must_total = sum(len(r["must_mention"]) for r in in_scope)
    must_found = sum(len(r["found"]) for r in in_scope)
    oos = [r for r in results if r["topic"] == OUT_OF_SCOPE]
    times = [r["ms"] for r in results] or [0.0]
    words = [r.get("words", 0) for r in in_scope if not r["declined"]] or [0]
    return {
        "questions": len(results),
        "answered_fully": _rate([bool(r.get("answered_fully")) for r in in_scope]),
        "item_accuracy": _rate([bool(r["item_correct"]) for r in with_item]),
        "must_mention_coverage": round(must_found / must_total, 4) if must_total else None,
        "oos_decline_rate": _rate([r["declined"] for r in oos]),
        "in_scope_answered_rate": _rate([not r["declined"] for r in in_scope]),
        "words_median": round(float(np.percentile(words, 50)), 1),
        "words_p90": round(float(np.percentile(words, 90)), 1),
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
    }


def by_style(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Answered fully (in scope) or declined (out of scope), per writing style."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[result.get("style") or "-"].append(result)
    return {style: {"questions": len(rows),
                    "correct": _rate([r["declined"] if r["topic"] == OUT_OF_SCOPE
                                      else bool(r.get("answered_fully")) for r in rows])}
            for style, rows in sorted(groups.items())}


def aggregate_only(report: dict[str, Any]) -> dict[str, Any]:
    """A report without its questions (what is shown of the blind set)."""
    return {key: value for key, value in report.items() if key != "questions"}


def render_sets(reports: dict[str, dict[str, Any]], worst: int = 15) -> str:
    """The sets side by side; misses are listed for the dev set only."""
    names = list(reports)
    lines = ["Answers (" + ", ".join(f"{n}: {reports[n]['totals']['questions']} questions"
                                     for n in names) + ")",
             f"  {'':<24}" + "".join(f"{n:>10}" for n in names)]
    for metric in METRICS:
        values = [reports[n]["totals"].get(metric) for n in names]
        lines.append(f"  {LABELS[metric]:<24}" + "".join(
            f"{'-' if v is None else v:>10}" for v in values))
    for name in names:
        styles = reports[name].get("by_style") or {}
        if len(styles) > 1:
            lines.append(f"  {name} by style: " + ", ".join(
                f"{s} {v['correct']} ({v['questions']})" for s, v in styles.items()))
        if reports[name].get("misses"):
            lines.append(f"  {name} in-scope misses: " + ", ".join(
                f"{kind} {n}" for kind, n in reports[name]["misses"].items()))
    dev = reports.get("dev")
    if dev and dev.get("questions"):
        misses = [r for r in dev["questions"]
                  if (r["topic"] == OUT_OF_SCOPE) != r["declined"]
                  or (r["topic"] != OUT_OF_SCOPE and not r["answered_fully"])]
        lines += ["", f"Dev misses ({len(misses)}):"]
        for r in misses[:worst]:
            missing = ", ".join(sorted(set(r["must_mention"]) - set(r["found"]))) or "-"
            lines.append(f"  [{r['topic']} → {','.join(r['items']) or 'declined'}] {r['q']} "
                         f"(missing: {missing}; {r['words']} words)")
    return "\n".join(lines)


LOSS_ALLOWED = 0.01  # share of right answers the calibrated threshold may turn away

# --- Offline: the answerer alone -----------------------------------------------------

def offline_asker(answerer: Any, item_of: Callable[[str], str | None] | None = None) -> Ask:
    """Answers straight from an :class:`index.answer.Answerer` (no NLU, no dialogue): what
    the cards and the thresholds do on their own; ``item_of`` finds the item a question
    names, as the NLU's entities would."""
    def ask(sender: str, question: str) -> list[dict[str, Any]]:
        answer = answerer.answer(question, item=item_of(question) if item_of else None)
        if not answer.found:
            return [{"text": "", "sources": []}]
        return [{"text": answer.text, "sources": [c.to_json() for c in answer.citations]}]
    return ask


def calibrate(answerer: Any, dev: list[dict[str, Any]], out_of_scope: list[str],
              k: int = 1) -> dict[str, Any]:
    """Sweep the card threshold on the dev set's questions and on out-of-scope messages:
    per value, the share of in-scope questions whose best card is of the right target and
    passes it, and the share of out-of-scope messages that pass it. Never the blind set."""
    cards = answerer.cards

    def best(question: str) -> tuple[float, str | None]:
        hits = cards.search(question, k)
        return (hits[0].score, hits[0].card.topic) if hits else (0.0, None)

    inside = [(*best(d["q"]), d["topic"]) for d in dev if d["topic"] != OUT_OF_SCOPE]
    outside = [best(q)[0] for q in [d["q"] for d in dev if d["topic"] == OUT_OF_SCOPE]
               + out_of_scope]
    rows = []
    for threshold in np.round(np.arange(0.80, 1.3001, 0.005), 3):
        right = _rate([score >= threshold and topic == want for score, topic, want in inside])
        answered_oos = _rate([score >= threshold for score in outside])
        rows.append({"min_card_score": float(threshold), "in_scope_right": right,
                     "out_of_scope_answered": answered_oos})
    top1 = _rate([topic == want for _, topic, want in inside]) or 0.0
    # The highest threshold that costs at most one point of right answers: the NLU turns
    # most out-of-scope messages away first; this is the second line.
    kept = [r for r in rows if (r["in_scope_right"] or 0.0) >= top1 - LOSS_ALLOWED]
    return {"in_scope": len(inside), "out_of_scope": len(outside), "top1_right": top1,
            "recommended": max(float(r["min_card_score"] or 0.0) for r in kept) if kept
            else None,
            "rows": rows}


def render_calibration(report: dict[str, Any]) -> str:
    lines = [f"Card threshold on {report['in_scope']} in-scope dev questions and "
             f"{report['out_of_scope']} out-of-scope messages (best card of the right target: "
             f"{report['top1_right']}); recommended IARA_MIN_CARD_SCORE="
             f"{report['recommended']}",
             f"  {'min_card_score':>15}{'in-scope right':>16}{'oos answered':>14}"]
    for row in report["rows"]:
        lines.append(f"  {row['min_card_score']:>15}{row['in_scope_right']:>16}"
                     f"{row['out_of_scope_answered']:>14}")
    return "\n".join(lines)
