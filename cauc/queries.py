"""Questions asked of the loaded snapshots: one ente's situation and changes, items about
to expire, and whole-snapshot statistics and diffs (with item-wide events reported once)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.orm import Session, aliased

from cauc.errors import EnteNotFoundError, SnapshotNotFoundError
from cauc.models import Ente, ItemStatusRow, Snapshot
from cauc.parse import MUNICIPIOS
from cauc.resolve import EnteRef, ente_ref
from cauc.status import PENDING, Change, Status, classify
from cauc.text import item_sort_key, item_title
from iara.db import Database

DEFAULT_EXPIRY_DAYS = 30
DEFAULT_EVENT_SHARE = 0.9  # an item changed the same way for >= 90% of entes: one event
MIN_EVENT_ENTES = 10  # below this many entes, nothing is "item-wide"


# --- Results ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    date: date
    kind: str
    scope: str
    source_name: str
    entes: int
    item_codes: list[str]
    loaded_at: datetime

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class ItemState:
    code: str
    title: str
    status: str  # cauc.status.Status
    valid_until: date | None


@dataclass(frozen=True)
class Situation:
    """One ente in one snapshot."""

    ente: EnteRef
    snapshot_date: date
    kind: str
    items: list[ItemState]

    def with_status(self, *statuses: str) -> list[ItemState]:
        return [i for i in self.items if i.status in statuses]

    @property
    def a_comprovar(self) -> list[ItemState]:
        return self.with_status(Status.A_COMPROVAR)

    @property
    def vencidos(self) -> list[ItemState]:
        return self.with_status(Status.VENCIDO)

    @property
    def desabilitados(self) -> list[ItemState]:
        return self.with_status(Status.DESABILITADO)

    @property
    def sem_informacao(self) -> list[ItemState]:
        return self.with_status(Status.SEM_INFORMACAO)

    @property
    def pendencias(self) -> list[ItemState]:
        """A comprovar and vencidos: what keeps the ente from being regular."""
        return [i for i in self.items if i.status in PENDING]

    @property
    def regular(self) -> bool:
        return not self.pendencias

    def expiring(self, days: int = DEFAULT_EXPIRY_DAYS) -> list[ItemState]:
        """Proven items whose validity ends within ``days`` after the snapshot date. Items
        valid only on the snapshot date itself (re-checked daily) are not "expiring"."""
        limit = self.snapshot_date + timedelta(days=days)
        return sorted((i for i in self.items if i.status == Status.COMPROVADO
                       and i.valid_until and self.snapshot_date < i.valid_until <= limit),
                      key=lambda i: (i.valid_until, item_sort_key(i.code)))

    def to_json(self, expiry_days: int = DEFAULT_EXPIRY_DAYS) -> dict[str, Any]:
        return _jsonable({
            "ente": {**asdict(self.ente), "label": self.ente.label},
            "snapshot_date": self.snapshot_date, "kind": self.kind,
            "regular": self.regular,
            "pendencias": [i.code for i in self.pendencias],
            "expiring": [i.code for i in self.expiring(expiry_days)],
            "items": [asdict(i) for i in self.items]})


@dataclass(frozen=True)
class ItemChange:
    code: str
    title: str
    before: str
    after: str
    change: Change
    valid_until: date | None  # after the change


@dataclass(frozen=True)
class EnteDiff:
    """What changed for one ente between its two latest snapshots (by status only)."""

    ente: EnteRef
    snapshot_date: date
    previous_date: date | None  # None: only one snapshot holds this ente
    changes: list[ItemChange]  # this ente's own changes
    events: list[ItemEvent] = field(default_factory=list)  # item-wide, left out of changes

    def of(self, change: Change) -> list[ItemChange]:
        return [c for c in self.changes if c.change == change]

    @property
    def novas_pendencias(self) -> list[ItemChange]:
        return self.of(Change.NOVA_PENDENCIA)

    @property
    def resolvidas(self) -> list[ItemChange]:
        return self.of(Change.RESOLVIDA)

    def to_json(self) -> dict[str, Any]:
        return _jsonable({**asdict(self), "ente": {**asdict(self.ente),
                                                   "label": self.ente.label}})


@dataclass(frozen=True)
class ItemEvent:
    """An item that changed the same way for (nearly) every ente: ``direction`` is
    ``passou_a`` (became ``status``) or ``deixou_de`` (left ``status``)."""

    item: str
    title: str
    direction: str
    status: str
    entes: int
    of: int


@dataclass(frozen=True)
class ItemWide:
    """An item in the same non-proven status for (nearly) every ente of a snapshot."""

    item: str
    title: str
    status: str
    entes: int
    of: int


@dataclass(frozen=True)
class SnapshotDiff:
    kind: str
    old_date: date
    new_date: date
    changes: int  # (ente, item) pairs whose status changed
    entes_changed: int
    by_item: dict[str, dict[str, int]]  # item -> "before->after" -> count
    by_change: dict[str, int]  # cauc.status.Change -> count
    events: list[ItemEvent]
    added_items: list[str] = field(default_factory=list)
    removed_items: list[str] = field(default_factory=list)
    added_entes: int = 0
    removed_entes: int = 0

    def item_changes(self, item: str, before: str, after: str) -> int:
        return self.by_item.get(item, {}).get(f"{before}->{after}", 0)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class SnapshotStats:
    kind: str
    date: date
    entes: int
    entes_a_comprovar: int  # entes with at least one "!"
    entes_pendentes: int  # entes with at least one a comprovar or vencido
    by_item: dict[str, dict[str, int]]  # item -> status -> entes
    item_wide: list[ItemWide]

    def top(self, status: str = Status.A_COMPROVAR, n: int = 10) -> list[tuple[str, int]]:
        counts = [(item, c.get(status, 0)) for item, c in self.by_item.items()]
        return sorted((p for p in counts if p[1]), key=lambda p: (-p[1], item_sort_key(p[0])))[:n]

    def to_json(self) -> dict[str, Any]:
        return _jsonable({**asdict(self), "top_a_comprovar": self.top()})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Snapshots ----------------------------------------------------------------------------
def _info(s: Snapshot) -> SnapshotInfo:
    return SnapshotInfo(s.id, s.snapshot_date, s.kind, s.scope, s.source_name, s.ente_count,
                        list(s.item_codes), s.loaded_at)


def list_snapshots(db: Database, kind: str | None = None) -> list[SnapshotInfo]:
    """Loaded snapshots, newest first."""
    with db.session() as session:
        statement = select(Snapshot).order_by(Snapshot.snapshot_date.desc(), Snapshot.id.desc())
        if kind:
            statement = statement.where(Snapshot.kind == kind)
        return [_info(s) for s in session.scalars(statement)]


def snapshot_for(session: Session, kind: str = MUNICIPIOS, on: date | None = None,
                 *, before: date | None = None) -> Snapshot:
    """The newest whole-file snapshot of ``kind`` on or before ``on`` (or strictly before
    ``before``)."""
    statement = select(Snapshot).where(Snapshot.kind == kind, Snapshot.scope == "")
    if on is not None:
        statement = statement.where(Snapshot.snapshot_date <= on)
    if before is not None:
        statement = statement.where(Snapshot.snapshot_date < before)
    snapshot = session.scalar(statement.order_by(Snapshot.snapshot_date.desc(),
                                                 Snapshot.id.desc()).limit(1))
    if snapshot is None:
        when = f" on or before {on:%d/%m/%Y}" if on else ""
        when += f" before {before:%d/%m/%Y}" if before else ""
        raise SnapshotNotFoundError(f"no {kind} snapshot loaded{when}")
    return snapshot


def _snapshots_of_ente(session: Session, ibge: str, on: date | None, limit: int) -> list[Snapshot]:
    holds = exists().where(ItemStatusRow.snapshot_id == Snapshot.id, ItemStatusRow.ibge == ibge)
    statement = select(Snapshot).where(holds)
    if on is not None:
        statement = statement.where(Snapshot.snapshot_date <= on)
    return list(session.scalars(statement.order_by(Snapshot.snapshot_date.desc(),
                                                   Snapshot.id.desc()).limit(limit)))


def _ente(session: Session, ibge: str) -> EnteRef:
    ente = session.get(Ente, ibge)
    if ente is None:
        raise EnteNotFoundError(f"no ente with IBGE code {ibge} in the loaded CAUC files")
    return ente_ref(ente)


def _states(session: Session, snapshot_id: int, ibge: str) -> dict[str, ItemStatusRow]:
    rows = session.scalars(select(ItemStatusRow).where(
        ItemStatusRow.snapshot_id == snapshot_id, ItemStatusRow.ibge == ibge))
    return {r.item: r for r in rows}


# --- One ente -----------------------------------------------------------------------------
def situation(db: Database, ibge: str, on: date | None = None) -> Situation:
    """The ente's items at its latest snapshot (or the latest on or before ``on``)."""
    with db.session() as session:
        ente = _ente(session, ibge)
        snapshots = _snapshots_of_ente(session, ibge, on, 1)
        if not snapshots:
            raise SnapshotNotFoundError(f"no snapshot holds {ente.label}"
                                        + (f" on or before {on:%d/%m/%Y}" if on else ""))
        snapshot = snapshots[0]
        rows = _states(session, snapshot.id, ibge)
    items = [ItemState(code, item_title(code), row.status, row.valid_until)
             for code, row in sorted(rows.items(), key=lambda p: item_sort_key(p[0]))]
    return Situation(ente, snapshot.snapshot_date, snapshot.kind, items)


def expiring_items(db: Database, ibge: str, days: int = DEFAULT_EXPIRY_DAYS,
                   on: date | None = None) -> list[ItemState]:
    """Proven items of the ente whose validity ends within ``days`` of its latest snapshot."""
    return situation(db, ibge, on).expiring(days)


def ente_diff(db: Database, ibge: str, share: float = DEFAULT_EVENT_SHARE) -> EnteDiff:
    """Status changes of one ente between the two latest snapshots that hold it. A change
    that happened to (nearly) every ente (e.g. an item switched off) is not this ente's
    news: it goes to ``events``, not ``changes``."""
    with db.session() as session:
        ente = _ente(session, ibge)
        snapshots = _snapshots_of_ente(session, ibge, None, 2)
        if not snapshots:
            raise SnapshotNotFoundError(f"no snapshot holds {ente.label}")
        new = _states(session, snapshots[0].id, ibge)
        if len(snapshots) == 1:
            return EnteDiff(ente, snapshots[0].snapshot_date, None, [])
        old = _states(session, snapshots[1].id, ibge)
        changes = compare_states(old, new)
        events = _events_of_items(session, snapshots[1].id, snapshots[0].id,
                                  [c.code for c in changes], share) if changes else []
    own, wide = split_events(changes, events)
    return EnteDiff(ente, snapshots[0].snapshot_date, snapshots[1].snapshot_date, own, wide)


def split_events(changes: list[ItemChange],
                 events: list[ItemEvent]) -> tuple[list[ItemChange], list[ItemEvent]]:
    """(the ente's own changes, the item-wide events among its changes)."""
    def event_of(c: ItemChange) -> ItemEvent | None:
        return next((e for e in events if e.item == c.code and (
            (e.direction == "passou_a" and e.status == c.after)
            or (e.direction == "deixou_de" and e.status == c.before))), None)

    own = [c for c in changes if event_of(c) is None]
    wide = [e for e in events if any(event_of(c) is e for c in changes)]
    return own, wide


def _transitions(session: Session, old_id: int, new_id: int,
                 items: list[str] | None = None) -> Any:
    """(item, status before, status after, entes) over the entes both snapshots hold."""
    o, n = aliased(ItemStatusRow), aliased(ItemStatusRow)
    statement = (select(n.item, o.status, n.status, func.count())
                 .select_from(n).join(o, and_(o.snapshot_id == old_id, o.ibge == n.ibge,
                                              o.item == n.item))
                 .where(n.snapshot_id == new_id)
                 .group_by(n.item, o.status, n.status))
    if items is not None:
        statement = statement.where(n.item.in_(items))
    return session.execute(statement)


def _events_of_items(session: Session, old_id: int, new_id: int, items: list[str],
                     share: float) -> list[ItemEvent]:
    totals: Counter[str] = Counter()
    became: dict[str, Counter[str]] = defaultdict(Counter)
    left: dict[str, Counter[str]] = defaultdict(Counter)
    for item, before, after, count in _transitions(session, old_id, new_id, items):
        totals[item] += count
        if before != after:
            became[item][after] += count
            left[item][before] += count
    return find_events(totals, became, left, share)


def compare_states(old: dict[str, Any], new: dict[str, Any]) -> list[ItemChange]:
    """Changes between two {item: row with .status/.valid_until} maps, by status only."""
    changes = []
    for code in sorted(new.keys() & old.keys(), key=item_sort_key):
        before, after = old[code].status, new[code].status
        if before != after:
            changes.append(ItemChange(code, item_title(code), before, after,
                                      classify(before, after), new[code].valid_until))
    return changes


# --- Whole snapshots -----------------------------------------------------------------------
def snapshot_stats(db: Database, on: date | None = None, kind: str = MUNICIPIOS,
                   share: float = DEFAULT_EVENT_SHARE) -> SnapshotStats:
    """Counts of one snapshot (the latest, or the latest on or before ``on``)."""
    with db.session() as session:
        snapshot = snapshot_for(session, kind, on)
        return _stats(session, snapshot, share)


def _stats(session: Session, snapshot: Snapshot, share: float) -> SnapshotStats:
    by_item: dict[str, dict[str, int]] = defaultdict(dict)
    for item, status, count in session.execute(
            select(ItemStatusRow.item, ItemStatusRow.status, func.count())
            .where(ItemStatusRow.snapshot_id == snapshot.id)
            .group_by(ItemStatusRow.item, ItemStatusRow.status)):
        by_item[item][status] = count

    def entes_with(*statuses: str) -> int:
        return session.scalar(select(func.count(distinct(ItemStatusRow.ibge))).where(
            ItemStatusRow.snapshot_id == snapshot.id, ItemStatusRow.status.in_(statuses))) or 0

    entes = session.scalar(select(func.count(distinct(ItemStatusRow.ibge))).where(
        ItemStatusRow.snapshot_id == snapshot.id)) or 0
    item_wide = []
    for item in sorted(by_item, key=item_sort_key):
        total = sum(by_item[item].values())
        status, count = max(by_item[item].items(), key=lambda p: p[1])
        if (status != Status.COMPROVADO and total >= MIN_EVENT_ENTES
                and count >= share * total):
            item_wide.append(ItemWide(item, item_title(item), status, count, total))
    ordered = {item: dict(by_item[item]) for item in sorted(by_item, key=item_sort_key)}
    return SnapshotStats(snapshot.kind, snapshot.snapshot_date, entes,
                         entes_with(Status.A_COMPROVAR), entes_with(*PENDING), ordered,
                         item_wide)


def snapshot_diff(db: Database, new: date | None = None, old: date | None = None,
                  kind: str = MUNICIPIOS, share: float = DEFAULT_EVENT_SHARE) -> SnapshotDiff:
    """Status changes of every ente between two snapshots of ``kind`` (default: the latest
    and the one before it), counted by item and change, with item-wide events found once."""
    with db.session() as session:
        new_snapshot = snapshot_for(session, kind, new)
        old_snapshot = (snapshot_for(session, kind, old) if old is not None
                        else snapshot_for(session, kind, before=new_snapshot.snapshot_date))
        return diff_snapshots(session, old_snapshot, new_snapshot, share)


def diff_snapshots(session: Session, old: Snapshot, new: Snapshot,
                   share: float = DEFAULT_EVENT_SHARE) -> SnapshotDiff:
    by_item: dict[str, dict[str, int]] = defaultdict(dict)
    by_change: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    became: dict[str, Counter[str]] = defaultdict(Counter)
    left: dict[str, Counter[str]] = defaultdict(Counter)
    for item, before, after, count in _transitions(session, old.id, new.id):
        totals[item] += count
        if before == after:
            continue
        by_item[item][f"{before}->{after}"] = count
        by_change[classify(before, after)] += count
        became[item][after] += count
        left[item][before] += count
    events = find_events(totals, became, left, share)
    o, n = aliased(ItemStatusRow), aliased(ItemStatusRow)
    entes_changed = session.scalar(
        select(func.count(distinct(n.ibge))).select_from(n)
        .join(o, and_(o.snapshot_id == old.id, o.ibge == n.ibge, o.item == n.item))
        .where(n.snapshot_id == new.id, o.status != n.status)) or 0
    old_entes = set(session.scalars(select(ItemStatusRow.ibge).distinct()
                                    .where(ItemStatusRow.snapshot_id == old.id)))
    new_entes = set(session.scalars(select(ItemStatusRow.ibge).distinct()
                                    .where(ItemStatusRow.snapshot_id == new.id)))
    ordered = {item: dict(sorted(by_item[item].items(), key=lambda p: -p[1]))
               for item in sorted(by_item, key=item_sort_key)}
    return SnapshotDiff(
        new.kind, old.snapshot_date, new.snapshot_date, sum(by_change.values()), entes_changed,
        ordered, dict(by_change.most_common()), events,
        added_items=[c for c in new.item_codes if c not in old.item_codes],
        removed_items=[c for c in old.item_codes if c not in new.item_codes],
        added_entes=len(new_entes - old_entes), removed_entes=len(old_entes - new_entes))


def find_events(totals: dict[str, int], became: dict[str, Counter[str]],
                left: dict[str, Counter[str]], share: float) -> list[ItemEvent]:
    """Items that changed the same way for at least ``share`` of the entes holding them."""
    events = []
    for item in sorted(totals, key=item_sort_key):
        total = totals[item]
        if total < MIN_EVENT_ENTES:
            continue
        if became.get(item):
            status, count = became[item].most_common(1)[0]
            if count >= share * total:
                events.append(ItemEvent(item, item_title(item), "passou_a", status, count, total))
                continue
        if left.get(item):
            status, count = left[item].most_common(1)[0]
            if count >= share * total:
                events.append(ItemEvent(item, item_title(item), "deixou_de", status, count,
                                        total))
    return events


def render_stats(snapshots: list[SnapshotInfo], stats: SnapshotStats | None,
                 diff: SnapshotDiff | None) -> str:
    """The operator's table of ``iara cauc stats``."""
    if not snapshots:
        return "No CAUC snapshot loaded yet (iara cauc load FILE...)."
    kinds: dict[str, list[SnapshotInfo]] = defaultdict(list)
    for info in snapshots:
        kinds[info.kind].append(info)
    lines = [f"{len(snapshots)} CAUC snapshot(s) loaded:"]
    for kind, infos in sorted(kinds.items()):
        dates = sorted(i.date for i in infos)
        span = f"{dates[0]:%d/%m/%Y}" + (f" to {dates[-1]:%d/%m/%Y}" if len(dates) > 1 else "")
        lines.append(f"  {kind:<11} {len(infos):>3}  {span}")
    if stats is None:
        return "\n".join(lines)
    lines += ["", f"{stats.kind} on {stats.date:%d/%m/%Y}: {stats.entes} entes, "
              f"{stats.entes_a_comprovar} with at least one item a comprovar, "
              f"{stats.entes_pendentes} with any pendência (a comprovar or vencido)",
              "  most common a comprovar: " + ", ".join(
                  f"{item} {count}" for item, count in stats.top(n=6))]
    for wide in stats.item_wide:
        lines.append(f"  item-wide: {wide.item} {wide.status} for {wide.entes} of {wide.of} "
                     "entes")
    if diff is not None:
        top = sorted(((sum(c.values()), item) for item, c in diff.by_item.items()),
                     key=lambda p: (-p[0], item_sort_key(p[1])))[:6]
        kinds_text = ", ".join(f"{k} {v}" for k, v in diff.by_change.items()) or "none"
        lines += ["", f"Changes from {diff.old_date:%d/%m/%Y} to {diff.new_date:%d/%m/%Y}: "
                  f"{diff.changes} statuses of {diff.entes_changed} entes ({kinds_text})",
                  "  by item: " + (", ".join(f"{item} {n}" for n, item in top) or "none")]
        for event in diff.events:
            lines.append(f"  item-wide event: {event.item} {event.direction} {event.status} "
                         f"for {event.entes} of {event.of} entes")
        if diff.added_items or diff.removed_items:
            lines.append(f"  item columns added {diff.added_items or '-'}, removed "
                         f"{diff.removed_items or '-'}")
    return "\n".join(lines)
