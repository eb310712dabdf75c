"""The iara CLI as a user runs it: exit codes and one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.kb_fixture import card, write_knowledge

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def iara(*args: str, knowledge: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if knowledge is not None:
        env["IARA_KNOWLEDGE_DIR"] = str(knowledge)
    return subprocess.run([sys.executable, "-m", "iara.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_validate_passes_on_the_shipped_knowledge() -> None:
    result = iara("knowledge", "validate")
    assert result.returncode == 0, result.stderr
    assert "Knowledge OK: 44 documents (30 items, 14 topics)" in result.stdout


def test_validate_fails_with_file_and_line(tmp_path: Path) -> None:
    kb = write_knowledge(tmp_path / "knowledge")
    (kb / "qa" / "4.2.yml").write_text('item: "4.2"\ncartoes:\n' + card(
        "crp", "geral", "O que é o CRP?", "Um certificado.", "O que verifica"),
        encoding="utf-8")
    result = iara("knowledge", "validate", knowledge=kb)
    assert result.returncode == 1
    assert "error: knowledge/qa/4.2.yml:1: target '4.2' has no document" in result.stderr
    assert "Traceback" not in result.stderr


def test_stats_show_full_coverage_of_the_shipped_knowledge() -> None:
    result = iara("knowledge", "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["holes"] == []
    assert len(stats["coverage"]) == 30 and all(all(v.values())
                                                for v in stats["coverage"].values())
    assert stats["questions"] >= 1500 and stats["cards"] >= 300
    assert stats["dev_questions"] >= 120 and stats["blind_questions"] >= 200
    assert stats["answer_words"]["max"] <= 60
    assert min(stats["questions_per_target"].values()) >= 10


def test_stats_report_holes(tmp_path: Path) -> None:
    kb = write_knowledge(tmp_path / "knowledge")
    result = iara("knowledge", "stats", knowledge=kb)
    assert result.returncode == 0
    assert "item 1.1: no document" in result.stdout
    assert "3.2.2: 8 card questions (< 10)" in result.stdout
    assert "answer cards: 7 with 10 questions" in result.stdout


def test_add_ingests_into_a_trilha(tmp_path: Path) -> None:
    kb = write_knowledge(tmp_path / "knowledge")
    result = iara("knowledge", "add", str(FIXTURES / "podcast.srt"), "--trilha", "financas",
                  "--format", "podcast", "--title", "Podcast de teste", knowledge=kb)
    assert result.returncode == 0, result.stderr
    assert "Added conteudo-podcast-de-teste (2 passages) to trilha 'financas'" in result.stdout
    again = iara("knowledge", "add", str(FIXTURES / "podcast.srt"), "--trilha", "nada",
                 "--format", "podcast", "--title", "Outro", knowledge=kb)
    assert again.returncode == 1
    assert again.stderr.startswith("error: unknown trilha 'nada'")


def test_invalid_settings_are_refused_naming_the_field() -> None:
    env = dict(os.environ, IARA_MIN_CARD_SCORE="-1")
    result = subprocess.run([sys.executable, "-m", "iara.cli", "knowledge", "validate"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "min_card_score" in result.stderr and "Traceback" not in result.stderr
