"""``iara cauc …`` and ``iara bench cauc`` as an operator runs them: outputs, exit codes,
one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cauc_data import fixture, real_data_dir


@pytest.fixture()
def iara(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = dict(os.environ, IARA_DATABASE_URL=f"sqlite:///{tmp_path / 'iara.db'}")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "iara.cli", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    return run


def test_load_show_diff_and_stats(iara) -> None:  # type: ignore[no-untyped-def]
    first, second = (str(fixture("municipios-2026-09-15-latin1.csv")),
                     str(fixture("municipios-2026-09-16-utf8.csv")))
    result = iara("cauc", "load", first, second)
    assert result.returncode == 0, result.stderr
    assert "Loaded municipios of 15/09/2026" in result.stdout
    assert "Loaded municipios of 16/09/2026" in result.stdout and "15 entes × 28 items" in (
        result.stdout)
    result = iara("cauc", "load", second)
    assert result.returncode == 0 and "Already loaded" in result.stdout

    result = iara("cauc", "show", "acrelandia")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Acrelândia/AC no CAUC, posição de 16/09/2026:\n"
                                    "2 itens a comprovar:\n- 1.5 ")
    result = iara("cauc", "show", "paraiso das aguas ms", "--json", "--date", "15/09/2026")
    shown = json.loads(result.stdout)
    assert (shown["ente"]["ibge"], shown["snapshot_date"], shown["pendencias"]) == (
        "5006275", "2026-09-15", ["1.5", "3.1.1"])

    result = iara("cauc", "diff", "Xique-Xique/BA")
    assert result.returncode == 0, result.stderr
    assert "Pendências resolvidas:\n- 3.5 Cadastro da Dívida Pública" in result.stdout
    # 3.7 was switched off for everyone: a general note, not one of Xique-Xique's changes.
    assert "Outras mudanças" not in result.stdout and result.stdout.count("3.7") == 1
    assert result.stdout.endswith("Aviso geral (vale para todos, não só para este ente):\n"
                                  "- o item 3.7 (Adoção do SIAFIC) passou a desabilitado para "
                                  "todos os municípios\n")

    result = iara("cauc", "stats", "--json")
    stats = json.loads(result.stdout)
    assert [s["date"] for s in stats["snapshots"]] == ["2026-09-16", "2026-09-15"]
    latest = stats["latest"]
    assert (latest["entes"], latest["entes_a_comprovar"], latest["entes_pendentes"]) == (15, 7, 8)
    assert [(e["item"], e["direction"], e["status"]) for e in stats["diff"]["events"]] == [
        ("3.7", "passou_a", "desabilitado")]
    result = iara("cauc", "stats")
    assert "item-wide event: 3.7 passou_a desabilitado for 15 of 15 entes" in result.stdout


def test_expected_failures_are_one_sentence(iara) -> None:  # type: ignore[no-untyped-def]
    result = iara("cauc", "show", "Acrelândia")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no município or state matches 'Acrelândia'")
    result = iara("cauc", "load", str(fixture("celula-desconhecida.csv")))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "celula-desconhecida.csv:10: unknown value 'OK' in column 2.1.1 (Sobral)")
    iara("cauc", "load", str(fixture("municipios-2026-09-15-latin1.csv")))
    result = iara("cauc", "show", "Bom Jesus")
    assert result.returncode == 1
    assert result.stderr == ("error: 'Bom Jesus' matches 2 entes (Bom Jesus/PI, Bom Jesus/RS); "
                             "add the UF, e.g. 'Bom Jesus/PI'\n")
    result = iara("cauc", "show", "Acrelandya", "--date", "2026-09-15")
    assert result.returncode == 1 and "--date must be dd/mm/aaaa" in result.stderr
    result = iara("cauc", "diff", "Acrelandya")
    assert result.stderr == ("error: no ente named 'Acrelandya' in the loaded CAUC files; did "
                             "you mean Acrelândia/AC?\n")
    for result in (iara("cauc", "show", "x"), iara("bench", "cauc", "--data-dir", "/nope")):
        assert result.returncode == 1 and "Traceback" not in result.stderr


def test_bench_cauc_on_the_real_files(iara) -> None:  # type: ignore[no-untyped-def]
    result = iara("bench", "cauc", "--data-dir", str(real_data_dir()), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["file"], report["entes"], report["items"]) == (
        "cauc-municipios-2026-08-21.csv", 5569, 28)
    assert report["diff_changes"] == 274 and report["lookups"] > 1000
    assert set(report["targets"]) == {"load_s", "lookup_p95_ms", "diff_s"}
    # Timings are for the notes (shared machines vary); only a gross regression fails here.
    assert report["load_s"] < 10 and report["diff_s"] < 10
