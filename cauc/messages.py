"""The Portuguese (pt-BR) texts a gestor reads: situation, changes and alerts. Plain text,
one place, so the wording can be reviewed and changed without touching the logic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from cauc.queries import EnteDiff, ItemChange, ItemEvent, ItemState, Situation
from cauc.resolve import EnteRef
from cauc.status import Change, Status

STATUS_LABELS: dict[str, str] = {
    Status.COMPROVADO: "comprovado",
    Status.A_COMPROVAR: "a comprovar",
    Status.VENCIDO: "vencido",
    Status.DESABILITADO: "desabilitado",
    Status.NAO_SE_APLICA: "não se aplica",
    Status.SEM_INFORMACAO: "sem informação",
}

SOURCE_NOTE = ("Fonte: dados abertos do CAUC (Tesouro Nacional), uma consulta gerencial; "
               "o documento oficial é o extrato emitido no próprio CAUC.")
UNSUBSCRIBE_NOTE = "Para deixar de receber estes avisos, peça à Iara para cancelar o alerta."


def d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _item_line(code: str, title: str, suffix: str = "") -> str:
    return f"- {code} {title}{suffix}"


def _state_lines(items: Iterable[ItemState], *, with_date: bool = False) -> list[str]:
    return [_item_line(i.code, i.title, f": válido até {d(i.valid_until)}"
                       if with_date and i.valid_until else "") for i in items]


def situation_text(situation: Situation, expiry_days: int = 30,
                   fixes: dict[str, str] | None = None) -> str:
    """One ente's situation: pendências, vencidos, items expiring soon, disabled items.
    ``fixes`` (item code -> one line from the knowledge) follow each pending item."""
    s = situation
    fixes = fixes or {}
    lines = [f"{s.ente.label} no CAUC, posição de {d(s.snapshot_date)}:"]
    if s.a_comprovar:
        lines.append(_plural(len(s.a_comprovar), "item a comprovar:", "itens a comprovar:"))
        for state in s.a_comprovar:
            lines += _state_lines([state])
            if fixes.get(state.code):
                lines.append(f"  Como resolver: {fixes[state.code]}")
    if s.vencidos:
        lines.append(_plural(len(s.vencidos), "item com comprovação vencida:",
                             "itens com comprovação vencida:"))
        lines += [_item_line(i.code, i.title, f": venceu em {d(i.valid_until)}"
                             if i.valid_until else "") for i in s.vencidos]
    if s.regular:
        lines.append("Nenhum item a comprovar ou vencido.")
    expiring = s.expiring(expiry_days)
    if expiring:
        lines.append(f"Comprovação que vence nos próximos {expiry_days} dias:")
        lines += _state_lines(expiring, with_date=True)
    if s.sem_informacao:
        lines.append("Sem informação no arquivo: "
                     + ", ".join(i.code for i in s.sem_informacao) + ".")
    if s.desabilitados:
        lines.append("Desabilitados no CAUC (não verificados no momento): "
                     + ", ".join(f"{i.code} ({i.title})" for i in s.desabilitados) + ".")
    lines.append(SOURCE_NOTE)
    return "\n".join(lines)


def _change_lines(changes: Iterable[ItemChange]) -> list[str]:
    out = []
    for c in changes:
        if c.change == Change.RESOLVIDA and c.valid_until:
            suffix = f": comprovado, válido até {d(c.valid_until)}"
        else:
            suffix = f": {STATUS_LABELS.get(c.before, c.before)} → " \
                     f"{STATUS_LABELS.get(c.after, c.after)}"
        out.append(_item_line(c.code, c.title, suffix))
    return out


def _changes_block(changes: list[ItemChange]) -> list[str]:
    lines: list[str] = []
    novas = [c for c in changes if c.change == Change.NOVA_PENDENCIA]
    resolvidas = [c for c in changes if c.change == Change.RESOLVIDA]
    outras = [c for c in changes if c.change not in (Change.NOVA_PENDENCIA, Change.RESOLVIDA)]
    if novas:
        lines.append("Novas pendências:")
        lines += _change_lines(novas)
    if resolvidas:
        lines.append("Pendências resolvidas:")
        lines += _change_lines(resolvidas)
    if outras:
        lines.append("Outras mudanças:")
        lines += _change_lines(outras)
    return lines


def diff_text(diff: EnteDiff) -> str:
    """What changed for one ente between its two latest snapshots."""
    if diff.previous_date is None:
        return (f"{diff.ente.label}: só há uma posição carregada ({d(diff.snapshot_date)}); "
                "ainda não dá para comparar.")
    head = f"{diff.ente.label} no CAUC, de {d(diff.previous_date)} para {d(diff.snapshot_date)}:"
    lines = [head, *_changes_block(diff.changes)]
    if not diff.changes:
        lines.append("Nenhuma mudança de situação nos itens deste ente.")
    lines += _events_block(diff.events, diff.ente)
    return "\n".join(lines)


def _events_block(events: list[ItemEvent], ente: EnteRef) -> list[str]:
    if not events:
        return []
    word = "estados" if ente.kind == "estado" else "municípios"
    return ["Aviso geral (vale para todos, não só para este ente):",
            *(event_line(e, word) for e in events)]


def event_line(event: ItemEvent, entes_word: str = "entes") -> str:
    what = (f"passou a {STATUS_LABELS.get(event.status, event.status)}"
            if event.direction == "passou_a"
            else f"deixou de estar {STATUS_LABELS.get(event.status, event.status)}")
    scope = "todos os" if event.entes == event.of else "quase todos os"
    return f"- o item {event.item} ({event.title}) {what} para {scope} {entes_word}"


def alert_text(ente: EnteRef, snapshot_date: date, previous_date: date,
               changes: list[ItemChange], expiring: list[ItemState], events: list[ItemEvent],
               pendencias: int, expiry_days: int) -> str:
    """One subscriber's alert for one ente and one snapshot."""
    lines = [f"Alerta CAUC: {ente.label}, posição de {d(snapshot_date)} "
             f"(comparada com {d(previous_date)})."]
    lines += _changes_block(changes)
    if expiring:
        lines.append(f"Comprovação que vence nos próximos {expiry_days} dias:")
        lines += _state_lines(expiring, with_date=True)
    lines += _events_block(events, ente)
    lines.append("Situação atual: " + (
        _plural(pendencias, "item a comprovar ou vencido.", "itens a comprovar ou vencidos.")
        if pendencias else "nenhum item a comprovar ou vencido."))
    lines += [SOURCE_NOTE, UNSUBSCRIBE_NOTE]
    return "\n".join(lines)
