"""Training the Rasa model in the engine environment, only when its inputs changed."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from iara.nlu_export import export_nlu
from iara.settings import Settings
from index.errors import IaraError
from index.knowledge import Knowledge
from index.text import sha256

logger = logging.getLogger(__name__)

MODEL_NAME = "iara"
# No telemetry or error reports leave the machine; quieter TensorFlow.
ENGINE_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


class TrainingError(IaraError):
    """``rasa train`` failed; the message names its log."""


@dataclass(frozen=True)
class TrainReport:
    model: Path
    trained: bool
    seconds: float


def model_path(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.tar.gz"


def rasa_executable(settings: Settings) -> Path:
    return settings.engine_venv / "bin" / "rasa"


def rasa_config(settings: Settings, folder: Path) -> Path:
    """The engine configuration trainings use: ``config.yml``, or, when ``nlu_epochs`` is
    set, a copy in ``folder`` whose DIETClassifier trains for that many epochs."""
    source = settings.project_root / "config.yml"
    if settings.nlu_epochs is None:
        return source
    import yaml

    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    diet = [c for c in config.get("pipeline") or [] if c.get("name") == "DIETClassifier"]
    if not diet:
        raise TrainingError(f"IARA_NLU_EPOCHS is set but {source} has no DIETClassifier")
    for component in diet:
        component["epochs"] = settings.nlu_epochs
    target = folder / "config.yml"
    text = (f"# {source.name} with DIETClassifier epochs {settings.nlu_epochs} "
            "(IARA_NLU_EPOCHS)\n" + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    # Written only when it changes: the fingerprint of every status check reads it.
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return target


def training_inputs(settings: Settings) -> list[Path]:
    root = settings.project_root
    files = [rasa_config(settings, settings.var_dir), root / "domain.yml"]
    files += sorted((root / "bot" / "data").rglob("*.yml"))
    files += sorted(settings.generated_nlu_dir.glob("*.yml"))
    # The custom NLU components' code: a change in how features are computed makes the
    # model stale like a change in its data.
    files += sorted((root / "bot" / "nlu").glob("*.py"))
    return files


def training_fingerprint(settings: Settings) -> str:
    """The inputs of the Rasa model, by name and content; independent of where the
    project and its var folder lie (a copied var/ keeps a fresh model fresh)."""
    root, generated = settings.project_root, settings.generated_nlu_dir

    def key(path: Path) -> str:
        if path.is_relative_to(generated):
            return f"nlu/{path.relative_to(generated)}"
        if path.is_relative_to(settings.var_dir):  # the config with IARA_NLU_EPOCHS
            return f"var/{path.relative_to(settings.var_dir)}"
        return str(path.relative_to(root) if path.is_relative_to(root) else path)

    return sha256("\n".join(f"{key(p)}:{sha256(p.read_text(encoding='utf-8'))}"
                            for p in training_inputs(settings)))


def _stamp(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.fingerprint"


def is_model_stale(settings: Settings) -> bool:
    stamp = _stamp(settings)
    if not model_path(settings).exists() or not stamp.exists():
        return True
    return stamp.read_text().strip() != training_fingerprint(settings)


def train(settings: Settings, knowledge: Knowledge, *, force: bool = False) -> TrainReport:
    """Export NLU from the knowledge, then ``rasa train`` if anything changed."""
    started = time.perf_counter()
    export_nlu(knowledge, settings.generated_nlu_dir)
    target = model_path(settings)
    if not force and not is_model_stale(settings):
        return TrainReport(target, False, time.perf_counter() - started)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = training_fingerprint(settings)
    root = settings.project_root
    _run_engine(settings, [
        "train",
        "--config", str(rasa_config(settings, settings.var_dir)),
        "--domain", str(root / "domain.yml"),
        "--data", str(root / "bot" / "data"), str(settings.generated_nlu_dir),
        "--out", str(settings.models_dir),
        "--fixed-model-name", MODEL_NAME,
        "--force",
    ], "train.log")
    if not target.exists():
        raise TrainingError(f"rasa train wrote no model at {target}; see the train log")
    _stamp(settings).write_text(fingerprint + "\n")
    return TrainReport(target, True, time.perf_counter() - started)


# ``rasa`` with numpy's global generator seeded first: the cross-validation's folds come
# from StratifiedKFold(shuffle=True) with no seed, so without this two runs on the same
# data draw different folds and a change cannot be told from the noise of the split.
_SEEDED_RASA = ("import sys, numpy; numpy.random.seed(int(sys.argv.pop(1))); "
                "sys.argv[0] = 'rasa'; from rasa.__main__ import main; main()")


def _run_engine(settings: Settings, args: list[str], log_name: str, *,
                seed: int | None = None) -> None:
    rasa = rasa_executable(settings)
    if not rasa.exists():
        raise TrainingError(f"the engine environment is missing ({rasa}); run 'make setup'")
    command = [str(rasa), *args] if seed is None else \
        [str(rasa.with_name("python")), "-c", _SEEDED_RASA, str(seed), *args]
    log_path = settings.var_dir / "log" / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        result = subprocess.run(command, cwd=settings.project_root, stdout=log,
                                stderr=subprocess.STDOUT, env={**os.environ, **ENGINE_ENV},
                                check=False)
    if result.returncode != 0:
        raise TrainingError(f"rasa {' '.join(args[:2])} failed (exit {result.returncode}); "
                            f"see {log_path}")


def validate_bot(settings: Settings, knowledge: Knowledge) -> None:
    """``rasa data validate`` on the domain, the bot data and the generated NLU."""
    export_nlu(knowledge, settings.generated_nlu_dir)
    root = settings.project_root
    _run_engine(settings, ["data", "validate", "--domain", str(root / "domain.yml"),
                           "--config", str(root / "config.yml"), "--data",
                           str(root / "bot" / "data"), str(settings.generated_nlu_dir)],
                "validate.log")


def run_conversation_tests(settings: Settings) -> Path:
    """``rasa test core`` on bot/tests with the trained model; fails on any error."""
    out = settings.var_dir / "results"
    _run_engine(settings, ["test", "core", "--stories",
                           str(settings.project_root / "bot" / "tests"),
                           "--model", str(model_path(settings)), "--out", str(out),
                           "--fail-on-prediction-errors"], "conversation-tests.log")
    return out


@dataclass(frozen=True)
class NluEvaluation:
    """Cross-validated NLU quality (macro averages over intents and entity types)."""

    folds: int
    seed: int
    intent_macro_f1: float
    intent_accuracy: float
    entity_macro_f1: float | None
    entity_micro_f1: float | None
    out_dir: Path
    per_intent: dict[str, float]
    per_entity: dict[str, float]


def run_nlu_cross_validation(settings: Settings, knowledge: Knowledge, *,
                             folds: int = 5, seed: int = 0) -> NluEvaluation:
    """``rasa test nlu --cross-validation`` on every NLU file (hand-written and generated).

    The same data and ``seed`` give the same folds, so two configurations compare on
    the same splits."""
    import json
    import shutil

    export_nlu(knowledge, settings.generated_nlu_dir)
    root = settings.project_root
    staged = settings.var_dir / "eval" / "nlu-data"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for source in [*sorted((root / "bot" / "data" / "nlu").glob("*.yml")),
                   *sorted(settings.generated_nlu_dir.glob("*.yml"))]:
        shutil.copy(source, staged / source.name)
    out = settings.var_dir / "eval" / "nlu"
    shutil.rmtree(out, ignore_errors=True)
    config = rasa_config(settings, staged.parent)
    _run_engine(settings, ["test", "nlu", "--nlu", str(staged), "--config", str(config),
                           "--cross-validation", "--folds", str(folds), "--out", str(out)],
                "nlu-cross-validation.log", seed=seed)
    intents = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    entity_file = out / "DIETClassifier_report.json"
    entities = json.loads(entity_file.read_text(encoding="utf-8")) if entity_file.exists() \
        else {}

    def per_label(report: dict[str, dict[str, float]]) -> dict[str, float]:
        return {k: round(v["f1-score"], 4) for k, v in report.items()
                if isinstance(v, dict) and "avg" not in k and k != "no_entity"}

    return NluEvaluation(
        folds=folds,
        seed=seed,
        intent_macro_f1=intents["macro avg"]["f1-score"],
        intent_accuracy=intents.get("accuracy", intents.get("micro avg", {}).get("f1-score", 0)),
        entity_macro_f1=entities["macro avg"]["f1-score"] if entities else None,
        entity_micro_f1=entities["micro avg"]["f1-score"] if entities else None,
        out_dir=out,
        per_intent=per_label(intents),
        per_entity=per_label(entities),
    )
