"""``iara bench cauc``: loading a real municipal file, município lookups and the diff of
two snapshots for every município, on a fresh SQLite database (the embedded default)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cauc.errors import CaucError
from cauc.load import load_file
from cauc.parse import MUNICIPIOS, parse_file
from cauc.queries import situation, snapshot_diff
from cauc.resolve import resolve_ente
from cauc.text import fold
from iara.db import Database

TARGETS = {"load_s": (3.0, "s"), "lookup_p95_ms": (20.0, "ms"), "diff_s": (2.0, "s")}


def municipal_files(data_dir: Path) -> list[Path]:
    """The municipal files of a directory, oldest first (names carry the date)."""
    return sorted(p for p in data_dir.glob("*.csv") if "munic" in p.name.lower())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def lookup_queries(path: Path, sample: int = 200) -> list[str]:
    """What gestores type, built from a real file: names as written, without accents in
    upper case, with the UF in several spellings, IBGE codes (7 and 6 digits), ambiguous
    names and a few typos."""
    parsed = parse_file(path)
    step = max(1, len(parsed.entes) // sample)
    queries: list[str] = []
    for i, ente in enumerate(parsed.entes[::step][:sample]):
        queries += [ente.name, fold(ente.name).upper(), f"{ente.name}/{ente.uf}",
                    f"{fold(ente.name)} {ente.uf.lower()}", ente.ibge, ente.ibge[:6]]
        if i % 10 == 0 and len(ente.name) > 6:  # a typo: one letter dropped
            queries.append(ente.name[:3] + ente.name[4:])
    queries += ["Bom Jesus", "Santa Helena", "São Domingos", "Planalto", "Cruzeiro do Sul"]
    return queries


def run_benchmark(data_dir: Path, workdir: Path,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    files = municipal_files(data_dir)
    if len(files) < 2:
        raise CaucError(f"{data_dir} needs at least two municipal CAUC files (*munic*.csv)")
    older, newer = files[-2], files[-1]
    say = progress or (lambda _message: None)
    db = Database(f"sqlite:///{workdir / 'bench.db'}")
    db.ensure_ready()
    try:
        say(f"loading {older.name} (first load: entes created too)")
        first_s, _ = _timed(lambda: load_file(db, older))
        say(f"loading {newer.name}")
        load_s, report = _timed(lambda: load_file(db, newer))
        reload_s, _ = _timed(lambda: load_file(db, newer))
        queries = lookup_queries(newer)
        say(f"{len(queries)} lookups")
        resolve_ente(db, queries[0])  # warm the connection
        timings: list[float] = []
        statuses: dict[str, int] = {}
        for query in queries:
            seconds, resolution = _timed(partial(resolve_ente, db, query))
            timings.append(seconds * 1000)
            statuses[resolution.status] = statuses.get(resolution.status, 0) + 1
        say("diff of the two snapshots for every município (3 runs)")
        diff_runs = [_timed(lambda: snapshot_diff(db, kind=MUNICIPIOS)) for _ in range(3)]
        diff = diff_runs[0][1]
        ibges = [ente.ibge for ente in parse_file(newer).entes[::50]]
        situation_ms = [_timed(partial(situation, db, i))[0] * 1000 for i in ibges]
    finally:
        db.dispose()
    result = {
        "database": "sqlite",
        "file": newer.name,
        "entes": report.entes,
        "items": report.items,
        "statuses": report.statuses,
        "load_first_s": round(first_s, 3),
        "load_s": round(load_s, 3),
        "reload_same_file_ms": round(reload_s * 1000, 1),
        "lookups": len(queries),
        "lookup_outcomes": statuses,
        "lookup_p50_ms": round(statistics.median(timings), 2),
        "lookup_p95_ms": round(_percentile(timings, 0.95), 2),
        "lookup_max_ms": round(max(timings), 2),
        "diff_s": round(statistics.median(s for s, _ in diff_runs), 3),
        "diff_changes": diff.changes,
        "situation_p50_ms": round(statistics.median(situation_ms), 2),
        "situation_p95_ms": round(_percentile(situation_ms, 0.95), 2),
    }
    result["targets"] = {name: {"target": limit, "unit": unit, "ok": result[name] <= limit}
                         for name, (limit, unit) in TARGETS.items()}
    return result


def render_bench(report: dict[str, Any]) -> str:
    def ok(name: str) -> str:
        target = report["targets"][name]
        verdict = "ok" if target["ok"] else "SLOW"
        return f"{verdict} (target ≤ {target['target']:g} {target['unit']})"

    rows = [
        ("load, first file (entes created)", f"{report['load_first_s']:.2f} s", ""),
        ("load, next day's file", f"{report['load_s']:.2f} s", ok("load_s")),
        ("reload of the same file (no-op)", f"{report['reload_same_file_ms']:.1f} ms", ""),
        ("município lookup p50", f"{report['lookup_p50_ms']:.2f} ms", ""),
        ("município lookup p95", f"{report['lookup_p95_ms']:.2f} ms", ok("lookup_p95_ms")),
        ("município lookup max", f"{report['lookup_max_ms']:.2f} ms", ""),
        ("diff of two snapshots, all municípios", f"{report['diff_s']:.2f} s", ok("diff_s")),
        ("situation of one ente p50 / p95",
         f"{report['situation_p50_ms']:.1f} / {report['situation_p95_ms']:.1f} ms", ""),
    ]
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report["lookup_outcomes"].items()))
    lines = [f"CAUC snapshots on SQLite: {report['file']} ({report['entes']} entes × "
             f"{report['items']} items = {report['statuses']} statuses)", ""]
    lines += [f"  {name:<40} {value:>14}  {verdict}".rstrip() for name, value, verdict in rows]
    lines += ["", f"{report['lookups']} lookups ({outcomes}); the diff found "
              f"{report['diff_changes']} status changes."]
    return "\n".join(lines)
