"""The engine's span aligner puts DIET's aspect spans where the export puts them.

``bot/nlu/lookup_spans.py`` runs in the engine environment. These tests train it there
on the NLU file ``iara nlu export`` writes from the real knowledge, feed it DIET-like
predictions (pieces of expressions, words that are none) through real Rasa messages, and
compare what it returns with the export's own annotation of the same texts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iara.nlu_export import export_nlu, find_spans, vocabulary
from iara.settings import get_settings
from iara.training import ENGINE_ENV
from index.knowledge import load_knowledge

pytestmark = pytest.mark.engine

_ENGINE_SCRIPT = """
import json, sys
from pathlib import Path
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from bot.nlu.lookup_spans import LookupSpanAligner

nlu_file, storage_dir, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
context = ExecutionContext(GraphSchema({}), node_name="align")
storage = LocalModelStorage(Path(storage_dir))
config = LookupSpanAligner.get_default_config()
resource = LookupSpanAligner.create(config, storage, Resource("align"), context).train(
    load_data(nlu_file))
aligner = LookupSpanAligner.load(config, storage, resource, context)  # from the storage
messages = [Message({"text": c["text"], "entities": c["entities"]}) for c in cases]
aligner.process(messages)
print(json.dumps([[{k: e[k] for k in ("entity", "start", "end", "value", "extractor")}
                   for e in m.get("entities", [])] for m in messages]))
"""


def _diet(text: str, surface: str, entity: str = "aspecto") -> dict[str, object]:
    start = text.index(surface)
    return {"entity": entity, "start": start, "end": start + len(surface), "value": surface,
            "confidence_entity": 0.9, "extractor": "DIETClassifier"}


@pytest.fixture(scope="module")
def nlu_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    knowledge = load_knowledge(get_settings().knowledge_dir)
    return export_nlu(knowledge, tmp_path_factory.mktemp("nlu"))


def _align(nlu_file: Path, tmp_path: Path, cases: list[dict[str, object]]) -> list[list[dict]]:
    python = get_settings().engine_venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the engine environment is missing ({python}); run 'make setup'")
    result = subprocess.run([str(python), "-c", _ENGINE_SCRIPT, str(nlu_file), str(tmp_path),
                             json.dumps(cases, ensure_ascii=False)],
                            cwd=get_settings().project_root, capture_output=True, text=True,
                            env={**ENGINE_ENV, "PATH": "/usr/bin:/bin"}, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pieces_snap_to_the_expression_and_non_expressions_are_dropped(
        nlu_file: Path, tmp_path: Path) -> None:
    text = "O que é o SIOPE e como faço pra regularizar?"
    cases = [
        # "o" and "é" of "o que é", "como" of "como faço", and the item untouched.
        {"text": text, "entities": [_diet(text, "O"), _diet(text, "é"), _diet(text, "como"),
                                    _diet(text, "SIOPE", "item")]},
        # A word that is no aspect expression is not an aspect.
        {"text": "bom dia, tudo bem?", "entities": [_diet("bom dia, tudo bem?", "tudo")]},
        # A message without aspect predictions is left as it is.
        {"text": "oi", "entities": []},
    ]
    first, second, third = _align(nlu_file, tmp_path, cases)
    assert [(e["entity"], e["value"]) for e in first] == [
        ("aspecto", "O que é"), ("item", "SIOPE"), ("aspecto", "como faço")]
    assert first[0]["start"] == 0 and first[0]["end"] == len("O que é")
    assert all(e["extractor"] == "DIETClassifier" for e in first)
    assert second == [] and third == []


def test_aligned_spans_are_the_exports_annotation(nlu_file: Path, tmp_path: Path) -> None:
    """DIET finds one word of each aspect expression: the aligner returns the span the
    export annotates in training (accents and case ignored, whole words)."""
    knowledge = load_knowledge(get_settings().knowledge_dir)
    vocab = vocabulary(knowledge)
    texts = ["Até quando tenho que enviar o RREO do 6º bimestre?",
             "qual a base legal da exigência do SIOPS",
             "POR QUE estou pendente no CAUC",
             "quem é o responsável por enviar a MSC e em qual sistema?"]
    cases, expected = [], []
    for text in texts:
        gold = [s for s in find_spans(text, vocab) if s.entity == "aspecto"]
        assert gold, text
        expected.append([(s.start, s.end) for s in gold])
        first_words = [text[s.start:s.end].split()[0] for s in gold]
        cases.append({"text": text, "entities": [
            {**_diet(text, w), "start": s.start, "end": s.start + len(w)}
            for w, s in zip(first_words, gold, strict=True)]})
    aligned = _align(nlu_file, tmp_path, cases)
    assert [[(e["start"], e["end"]) for e in found] for found in aligned] == expected
