"""Usage numbers for analysts: from Rasa's tracker store (read-only SQL on its ``events``
table) and from the app database (feedback, unanswered questions).

Message texts are never returned; only counts, intents, item codes and channels.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from iara.db import Database, Feedback, UnansweredQuestion
from iara.settings import Settings
from index.knowledge import ASPECT_TYPES

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
MAX_EVENTS = 200_000


def channel_of(sender: str) -> str:
    return sender.split(":", 1)[0] if ":" in sender else "outro"


def _read_only_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return url


def tracker_events(url: str, since: float) -> list[tuple[str, float, str | None, str | None]]:
    """(sender, timestamp, intent, data) of the user messages since ``since``."""
    engine = create_engine(_read_only_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT sender_id, timestamp, intent_name, data FROM events "
                "WHERE type_name = 'user' AND timestamp >= :since ORDER BY timestamp "
                "LIMIT :limit"), {"since": since, "limit": MAX_EVENTS}).all()
    except SQLAlchemyError:
        return []  # no tracker store yet (nobody has talked to Iara)
    finally:
        engine.dispose()
    return [(str(r[0]), float(r[1] or 0), r[2], r[3]) for r in rows]


def _entities(data: str | None, name: str) -> list[str]:
    """The values of the ``name`` entities of one user event."""
    try:
        parsed = json.loads(data or "{}").get("parse_data") or {}
    except (ValueError, AttributeError):
        return []
    return [str(e.get("value")) for e in parsed.get("entities") or []
            if e.get("entity") == name and e.get("value")]


def summary(settings: Settings, db: Database, days: int = 30) -> dict[str, Any]:
    since = time.time() - days * 86400
    events = tracker_events(settings.tracker_store_url, since)
    per_day: dict[str, dict[str, Any]] = defaultdict(lambda: {"mensagens": 0,
                                                             "conversas": set()})
    channels: dict[str, dict[str, Any]] = defaultdict(lambda: {"mensagens": 0,
                                                              "conversas": set(),
                                                              "fallback": 0})
    intents: Counter[str] = Counter()
    items: Counter[str] = Counter()
    aspects: Counter[str] = Counter()
    for sender, stamp, intent, data in events:
        day = datetime.fromtimestamp(stamp, UTC).date().isoformat()
        per_day[day]["mensagens"] += 1
        per_day[day]["conversas"].add(sender)
        channel = channels[channel_of(sender)]
        channel["mensagens"] += 1
        channel["conversas"].add(sender)
        if intent:
            intents[intent] += 1
        if intent in FALLBACK_INTENTS:
            channel["fallback"] += 1
        items.update(_entities(data, "item"))
        # What was asked of them (deadline, how to fix...): canonical values only, once
        # per message.
        aspects.update({a for a in _entities(data, "aspecto") if a in ASPECT_TYPES})

    start = datetime.now(UTC) - timedelta(days=days)
    with db.session() as session:
        feedback = session.execute(
            select(Feedback.channel, Feedback.value, func.count())
            .where(Feedback.created_at >= start)
            .group_by(Feedback.channel, Feedback.value)).all()
        unanswered = session.execute(
            select(UnansweredQuestion.channel, UnansweredQuestion.reason, func.count())
            .where(UnansweredQuestion.created_at >= start)
            .group_by(UnansweredQuestion.channel, UnansweredQuestion.reason)).all()
        feedback_topics = session.execute(
            select(Feedback.item, Feedback.topic, func.count())
            .where(Feedback.created_at >= start)
            .group_by(Feedback.item, Feedback.topic)).all()

    not_found: Counter[str] = Counter()
    for channel_name, reason, count in unanswered:
        if reason == "not_found":
            not_found[channel_name] += count
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for channel_name, value, count in feedback:
        votes[channel_name][value] += count
    topics: Counter[str] = Counter()
    for item, topic, count in feedback_topics:
        topics[item or topic or "?"] += count

    total_messages = sum(c["mensagens"] for c in channels.values())
    total_fallback = sum(c["fallback"] for c in channels.values()) + sum(not_found.values())
    all_votes: Counter[str] = sum(votes.values(), Counter())

    def ratio(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    names = sorted(set(channels) | set(votes) | set(not_found))
    return {
        "dias": days,
        "totais": {
            "conversas": len({s for s, *_ in events}),
            "mensagens": total_messages,
            "taxa_fallback": ratio(total_fallback, total_messages),
            "avaliacoes_uteis": all_votes["util"],
            "avaliacoes_nao_uteis": all_votes["nao_util"],
            "taxa_util": ratio(all_votes["util"], sum(all_votes.values())),
            "sem_resposta": sum(c for _, _, c in unanswered),
        },
        "por_dia": [{"dia": day, "mensagens": v["mensagens"], "conversas": len(v["conversas"])}
                    for day, v in sorted(per_day.items())],
        "por_canal": [{
            "canal": name,
            "conversas": len(channels[name]["conversas"]) if name in channels else 0,
            "mensagens": channels[name]["mensagens"] if name in channels else 0,
            "taxa_fallback": ratio((channels[name]["fallback"] if name in channels else 0)
                                   + not_found[name],
                                   channels[name]["mensagens"] if name in channels else 0),
            "taxa_util": ratio(votes[name]["util"], sum(votes[name].values())),
        } for name in names],
        "itens_mais_perguntados": [{"item": k, "mensagens": v}
                                   for k, v in items.most_common(10)],
        "aspectos_mais_perguntados": [{"aspecto": k, "mensagens": v}
                                      for k, v in aspects.most_common()],
        "intencoes": [{"intencao": k, "mensagens": v} for k, v in intents.most_common(15)],
        "temas_avaliados": [{"topico": k, "avaliacoes": v} for k, v in topics.most_common(10)],
    }
