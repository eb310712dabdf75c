"""End-to-end answer evaluation through the running API.

For each question of a YAML file of ``{q, item, topic, must_mention}``: ask the API (a
fresh conversation each), read which item(s) the answer is about from its sources, which
must-mention terms it contains (lower-cased, accent-folded), and whether Iara declined
(no message carries sources: a refusal, a greeting or a question back).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

from index.knowledge import OUT_OF_SCOPE
from index.text import fold


def load_questions(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("q") for d in data):
        raise ValueError(f"{path}: expected a YAML list of {{q, item, topic, must_mention}}")
    return data


def judge(question: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    sources = [s for m in messages for s in m.get("sources", [])]
    items = sorted({s["item"] for s in sources if s.get("item")})
    text = fold(" ".join(m.get("text", "") for m in messages))
    must = [str(m) for m in question.get("must_mention") or []]
    found = [m for m in must if fold(m) in text]
    expected_item = question.get("item")
    return {
        "q": question["q"],
        "topic": question.get("topic"),
        "expected_item": expected_item,
        "items": items,
        "item_correct": expected_item in items if expected_item else None,
        "must_mention": must,
        "found": found,
        "declined": not sources,
    }


def evaluate_answers(api_url: str, questions: list[dict[str, Any]],
                     timeout: float = 60.0) -> dict[str, Any]:
    results = []
    run = uuid.uuid4().hex[:8]
    with httpx.Client(timeout=timeout) as client:
        for i, question in enumerate(questions):
            started = time.perf_counter()
            response = client.post(f"{api_url.rstrip('/')}/api/chat",
                                   json={"sender": f"eval-{run}-{i}", "message": question["q"]})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            result = judge(question, response.json()["messages"])
            result["ms"] = round(elapsed, 1)
            results.append(result)
    return {"totals": totals(results), "questions": results}


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    with_item = [r for r in results if r["expected_item"]]
    in_scope = [r for r in results if r["topic"] != OUT_OF_SCOPE]
    must_total = sum(len(r["must_mention"]) for r in in_scope)
    must_found = sum(len(r["found"]) for r in in_scope)
    oos = [r for r in results if r["topic"] == OUT_OF_SCOPE]
    times = [r["ms"] for r in results] or [0.0]
    return {
        "questions": len(results),
        "item_accuracy": round(sum(r["item_correct"] for r in with_item) / len(with_item), 4)
        if with_item else None,
        "must_mention_coverage": round(must_found / must_total, 4) if must_total else None,
        "oos_decline_rate": round(sum(r["declined"] for r in oos) / len(oos), 4) if oos else None,
        "in_scope_answered_rate": round(sum(not r["declined"] for r in in_scope)
                                        / len(in_scope), 4) if in_scope else None,
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
    }


def render_answers(report: dict[str, Any], worst: int = 15) -> str:
    t = report["totals"]
    lines = [f"Answers to {t['questions']} questions through the API",
             f"  item accuracy          {t['item_accuracy']}",
             f"  must-mention coverage  {t['must_mention_coverage']}",
             f"  out-of-scope declined  {t['oos_decline_rate']}",
             f"  in-scope answered      {t['in_scope_answered_rate']}",
             f"  latency p50/p95 ms     {t['p50_ms']} / {t['p95_ms']}", "", "Misses:"]
    misses = [r for r in report["questions"]
              if r["item_correct"] is False or (r["topic"] == OUT_OF_SCOPE and not r["declined"])
              or len(r["found"]) < len(r["must_mention"])]
    for r in misses[:worst]:
        lines.append(f"  [{r['topic']} → {','.join(r['items']) or 'declined'}] {r['q']} "
                     f"(missing: {', '.join(set(r['must_mention']) - set(r['found'])) or '-'})")
    return "\n".join(lines)
