"""The CAUC snapshot library: load the Tesouro's CAUC files into the app database, find
municípios from what gestores type, answer situation/diff/expiry questions, and alert
subscribers once per snapshot. Imports neither FastAPI nor rasa-sdk."""

from __future__ import annotations

from cauc.alerts import (
    Alert,
    AlertSender,
    DeliveryReport,
    alerts_for_snapshot,
    deliver_alerts,
    deliver_pending,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from cauc.errors import (
    CaucError,
    CaucFormatError,
    EnteNotFoundError,
    InvalidCnpjError,
    SnapshotConflictError,
    SnapshotNotFoundError,
)
from cauc.load import LoadReport, load_file, set_cnpj
from cauc.messages import alert_text, diff_text, situation_text
from cauc.queries import (
    EnteDiff,
    ItemChange,
    ItemEvent,
    ItemState,
    Situation,
    SnapshotDiff,
    SnapshotInfo,
    SnapshotStats,
    ente_diff,
    expiring_items,
    list_snapshots,
    situation,
    snapshot_diff,
    snapshot_stats,
)
from cauc.resolve import EnteRef, Resolution, get_ente, resolve_ente
from cauc.status import Change, Status

__all__ = [
    "Alert", "AlertSender", "CaucError", "CaucFormatError", "Change", "DeliveryReport",
    "EnteDiff", "EnteNotFoundError", "EnteRef", "InvalidCnpjError", "ItemChange", "ItemEvent",
    "ItemState", "LoadReport", "Resolution", "Situation", "SnapshotConflictError",
    "SnapshotDiff", "SnapshotInfo", "SnapshotNotFoundError", "SnapshotStats", "Status",
    "alert_text", "alerts_for_snapshot", "deliver_alerts", "deliver_pending", "diff_text",
    "ente_diff", "expiring_items", "get_ente", "list_snapshots", "load_file", "resolve_ente",
    "set_cnpj", "situation", "situation_text", "snapshot_diff", "snapshot_stats", "subscribe",
    "subscriptions_of", "unsubscribe",
]
