"""Retraining as one action: validate, train, index, evaluate, deploy or refuse.

1. snapshot and validate the knowledge (the release answers from its own copy, so edits
   made while it trains wait for the next training);
2. export the NLU and train a Rasa model through the running engine's HTTP API
   (``POST /model/train``) or, when no engine answers, ``rasa train`` in the engine
   environment; a model of a kept release with the same NLU/domain/config is reused;
3. when the Rasa model was trained from scratch and the Q&A pairs changed, fine-tune the
   embedding model again (``retrain_encoder``; kept only if it retrieves better than the
   base model, as in ``iara prepare``); then build the candidate index incrementally (a
   copy of the live index, re-embedding only changed passages, or every passage for a
   new embedding model) into the release's own folder;
4. evaluate on ``knowledge/dev.yml`` (``iara eval answers`` logic) through one side stack
   (engine + actions + API on free ports, throwaway databases). It starts while the Rasa
   model trains and measures the live release first when its metrics are not known for
   this dev set; then it loads the candidate (``PUT /model``, release pointer) and
   measures it, several questions at a time;
5. deploy only if no metric drops by more than ``retrain_tolerance``: ``PUT /model`` on
   the engine, then the release pointer the action server follows (it loads the new
   knowledge and index while the old ones keep answering; a warm-up request makes it load
   before the next gestor asks). The previous release stays for rollback.

Nothing is evaluated or deployed when the NLU, the knowledge, the dev set and the encoder
are those of the live release. One training at a time, in a background thread; each run
is a ``training_runs`` row (step, timed log, metrics, decision) that the admin page polls.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import socket
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
import yaml
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import select

from iara.admin import knowledge_store, releases
from iara.admin.errors import ConflictError
from iara.admin.models import TrainingRun
from iara.db import Database, utcnow
from iara.settings import Settings
from iara.training import ENGINE_ENV, MODEL_NAME, rasa_config, rasa_executable
from index.errors import IaraError
from index.text import sha256

logger = logging.getLogger(__name__)

METRICS = ("item_accuracy", "must_mention_coverage", "oos_decline_rate",
           "in_scope_answered_rate")
TRAIN_TIMEOUT_S = 3600.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def training_files(settings: Settings, nlu_dir: Path) -> list[Path]:
    root = settings.project_root
    return [rasa_config(settings, nlu_dir.parent), root / "domain.yml",
            *sorted((root / "bot" / "data").rglob("*.yml")), *sorted(nlu_dir.glob("*.yml"))]


def fingerprint(files: list[Path]) -> str:
    return sha256("\n".join(f"{p.name}:{sha256(p.read_text(encoding='utf-8'))}"
                            for p in files))


_ENTITY = re.compile(r'\]\((\w+)[^)]*\)|"entity":\s*"(\w+)"')


def structure(files: list[Path]) -> str:
    """What a fine-tuned model shares with the model it starts from: the config, the
    domain, the intents and entity types of the NLU data (the sizes of DIET's label
    layers) and the names of its lookup tables and regexes (one input feature each).
    Only examples, synonyms and the entries of lookups and regexes may differ."""
    intents: set[str] = set()
    entities: set[str] = set()
    patterns: set[str] = set()
    for path in files[2:]:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in block:
                intents.add(str(block["intent"]))
                entities.update(a or b for a, b in _ENTITY.findall(str(block.get("examples"))))
            for kind in ("lookup", "regex"):
                if kind in block:
                    patterns.add(f"{kind}:{block[kind]}")
    return sha256("\n".join([fingerprint(files[:2]), *sorted(intents), "--",
                             *sorted(entities), "--", *sorted(patterns)]))


def training_payload(files: list[Path]) -> str:
    """Config, domain and training data merged into the one YAML body of
    ``POST /model/train``."""
    merged: dict[str, Any] = {}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in data.items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return yaml.safe_dump(merged, allow_unicode=True, sort_keys=False)


def regressions(candidate: dict[str, Any], baseline: dict[str, Any] | None,
                tolerance: float) -> list[str]:
    if not baseline:
        return []
    drops = []
    for name in METRICS:
        new, old = candidate.get(name), baseline.get(name)
        if new is not None and old is not None and new < old - tolerance:
            drops.append(f"{name}: {old:.3f} → {new:.3f}")
    return drops


class Trainer:
    """Runs one retraining at a time for an API process (or the CLI)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last: int | None = None
        self._encoder: Any = None
        self._side: SideStack | None = None
        self._closing = False
        self._fail_interrupted()

    def _process_lock(self) -> IO[str] | None:
        """The cross-process training lock (API and CLI), or None when someone holds it."""
        path = releases.releases_dir(self.settings) / ".training.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def _fail_interrupted(self) -> None:
        """Runs left 'running' by a process that stopped mid-way never finish."""
        handle = self._process_lock()
        if handle is None:  # another process is training right now
            return
        handle.close()
        self._interrupt("O processo que treinava parou antes do fim.")

    # --- public ----------------------------------------------------------------------
    def start(self, actor: str, *, wait: bool = False, force: bool = False
              ) -> dict[str, Any]:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ConflictError("Já há um treino em andamento; acompanhe o progresso.")
            handle = self._process_lock()
            if handle is None:
                raise ConflictError("Já há um treino em andamento em outro processo.")
            with self.db.session() as session:
                run = TrainingRun(actor=actor, status="running", step="na fila", log=[])
                session.add(run)
                session.flush()
                run_id = run.id
            self._last = run_id
            self._thread = threading.Thread(target=self._run, args=(run_id, handle, force),
                                            name=f"retrain-{run_id}", daemon=True)
            self._thread.start()
        if wait:
            self._thread.join()
        return {"id": run_id, "status": "running"}

    def status(self) -> dict[str, Any]:
        with self.db.session() as session:
            run = (session.get(TrainingRun, self._last) if self._last else
                   session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())
                                   .limit(1)).first())
            state = releases.read_state(self.settings)
            return {"treino": _run_json(run) if run else None,
                    "em_andamento": bool(self._thread and self._thread.is_alive()),
                    "atual": (state.get("current") or {}).get("id", "inicial"),
                    "anterior": (state.get("previous") or {}).get("id")}

    async def rollback(self, actor: str) -> dict[str, Any]:
        import asyncio

        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ConflictError("Aguarde o treino em andamento terminar.")
            state = releases.read_state(self.settings)
            previous = state.get("previous")
            if not previous:
                raise ConflictError("Não há versão anterior para restaurar.")
            current = state.get("current") or releases.initial_release(self.settings)
            started = time.monotonic()
            await self._deploy_async(previous)
            releases.write_state(self.settings, {"current": previous, "previous": current})
        logger.info("rollback from %s to %s took %.1f s", current["id"], previous["id"],
                    time.monotonic() - started)
        await asyncio.to_thread(knowledge_store.record, self.db, actor, "rollback",
                                f"Volta da versão {current['id']} para {previous['id']}",
                                {"de": current["id"], "para": previous["id"]})
        with self.db.session() as session:
            for run in session.scalars(select(TrainingRun)
                                       .where(TrainingRun.release == current["id"])):
                run.status = "rolled_back"
        return {"atual": previous["id"], "anterior": current["id"]}

    def close(self) -> None:
        """The process is stopping: stop a training's evaluation stack (its processes
        live in their own sessions and would outlive this one) and record the training
        as interrupted. The training thread itself ends with the process."""
        with self._lock:
            self._closing = True
            running = self._thread is not None and self._thread.is_alive()
        side = self._side
        if side is not None:
            side.close()
        if running and self._last is not None:
            self._interrupt("O serviço parou durante o treino.", self._last)

    def _interrupt(self, decision: str, run_id: int | None = None) -> None:
        """Record runs still 'running' (all, or ``run_id``) as failed: interrupted."""
        query = select(TrainingRun).where(TrainingRun.status == "running")
        if run_id is not None:
            query = query.where(TrainingRun.id == run_id)
        with self.db.session() as session:
            for run in session.scalars(query):
                run.status, run.step, run.decision = "failed", "interrompido", decision
                run.finished_at = utcnow()

    # --- the pipeline ----------------------------------------------------------------
    def _progress(self, run_id: int, step: str, **fields: Any) -> None:
        logger.info("retrain %d: %s", run_id, step)
        with self.db.session() as session:
            run = session.get(TrainingRun, run_id)
            assert run is not None
            run.step = step
            run.log = [*run.log, {"at": utcnow().isoformat(), "step": step}]
            for key, value in fields.items():
                setattr(run, key, value)

    def _run(self, run_id: int, handle: IO[str], force: bool = False) -> None:
        try:
            with handle:
                self._pipeline(run_id, force)
                pruned = releases.prune(self.settings)
                if pruned:
                    logger.info("retrain %d: removed old releases %s", run_id, pruned)
        except Exception as exc:
            if self._closing:  # close() stopped it and recorded why
                logger.info("retrain %d interrupted: %s", run_id, exc)
                return
            logger.exception("retrain %d failed", run_id)
            detail = getattr(exc, "problems", None)
            message = (f"{exc}: " + "; ".join(str(p) for p in detail[:5])) if detail \
                else f"{exc.__class__.__name__}: {exc}"
            self._progress(run_id, "falhou", status="failed", decision=message[:4000],
                           finished_at=utcnow())
            logger.debug(traceback.format_exc())

    def _pipeline(self, run_id: int, force: bool = False) -> None:
        from iara.nlu_export import export_nlu
        from index.knowledge import load_knowledge

        settings = self.settings
        release_id = datetime.now().strftime("r%Y%m%d-%H%M%S-") + str(run_id)
        folder = releases.releases_dir(settings) / release_id
        self._progress(run_id, "validando o conhecimento", release=release_id)
        snapshot = folder / "knowledge"
        shutil.copytree(settings.knowledge_dir, snapshot)
        knowledge = load_knowledge(snapshot)
        live = releases.live_release(settings)

        nlu_dir = folder / "nlu"
        export_nlu(knowledge, nlu_dir)
        files = training_files(settings, nlu_dir)
        print_ = fingerprint(files)
        dev = snapshot / "dev.yml"
        dev_print = sha256(dev.read_text(encoding="utf-8")) if dev.exists() else ""
        encoder = self._live_encoder(live)
        candidate: dict[str, Any] = {
            "id": release_id, "model": str(folder / "models" / f"{MODEL_NAME}.tar.gz"),
            "index": str(folder / "index"), "knowledge": str(snapshot), "encoder": encoder,
            "fingerprint": print_, "structure": structure(files), "incremental": 0,
            "dev": dev_print, "knowledge_print": tree_fingerprint(snapshot)}
        same = all(live.get(k) == candidate[k]
                   for k in ("fingerprint", "dev", "knowledge_print", "encoder"))
        if same and live.get("metrics") and not force:
            shutil.rmtree(folder, ignore_errors=True)
            self._progress(run_id, "nada mudou", status="unchanged", metrics=live["metrics"],
                           baseline=live["metrics"], finished_at=utcnow(),
                           decision=f"Nada mudou desde a versão no ar ({live['id']}): "
                           "modelo, conhecimento e conjunto de avaliação iguais.")
            return

        with SideStack(settings, folder / "eval") as side:
            self._side = side
            if self._closing:
                side.close()
            # The side stack starts (and measures the live release when needed) while the
            # Rasa model trains: the two do not depend on each other.
            need_baseline = not live.get("metrics") or live.get("dev") != dev_print
            side.start_with(live, dev, measure=need_baseline)
            model = Path(candidate["model"])
            model.parent.mkdir(parents=True, exist_ok=True)
            reusable = next((r for r in [live, *releases.known_releases(settings)]
                             if r.get("fingerprint") == print_ and Path(r["model"]).exists()),
                            None)
            from_scratch = False
            if reusable is not None and not force:
                self._progress(run_id, "modelo Rasa inalterado: reaproveitado")
                shutil.copy2(reusable["model"], model)
                candidate["incremental"] = int(reusable.get("incremental") or 0)
            elif not force and self._finetunable(live, candidate):
                fraction = settings.retrain_epoch_fraction
                self._progress(run_id, "ajustando o modelo Rasa no ar (treino incremental, "
                               f"{fraction:.0%} das épocas)")
                try:
                    self._train_cli(files, model, ["--finetune", str(live["model"]),
                                                   "--epoch-fraction", str(fraction)])
                    candidate["incremental"] = int(live.get("incremental") or 0) + 1
                except RuntimeError as exc:  # e.g. a change the fine-tuning cannot take
                    logger.warning("retrain %d: fine-tuning failed (%s); training from "
                                   "scratch", run_id, exc)
                    self._progress(run_id, "treino incremental falhou: treinando do zero")
                    self._train(files, model, force=True)
                    from_scratch = True
            else:
                self._progress(run_id, "treinando o modelo Rasa")
                self._train(files, model, force=force)
                from_scratch = True
            if from_scratch and self._encoder_due(knowledge, encoder):
                self._progress(run_id, "ajustando o modelo de embeddings às perguntas")
                tuned = self._finetune_encoder(run_id, knowledge, folder)
                candidate["encoder"] = tuned or encoder
            self._link_encoder(folder)

            self._progress(run_id, "construindo o índice (incremental)"
                           if candidate["encoder"] == encoder else
                           "construindo o índice (novo modelo de embeddings: tudo)")
            self._build_index(knowledge, Path(live["index"]), Path(candidate["index"]),
                              candidate["encoder"])

            self._progress(run_id, "avaliando a versão no ar (conjunto dev)"
                           if need_baseline else "preparando a avaliação")
            baseline = side.baseline() if need_baseline else live["metrics"]
            live = {**live, "metrics": baseline, "dev": dev_print}
            self._progress(run_id, "avaliando o candidato (conjunto dev)", baseline=baseline)
            metrics = side.measure(candidate)
        candidate["metrics"] = metrics
        drops = regressions(metrics, baseline, settings.retrain_tolerance)
        if drops:
            self._progress(run_id, "recusado", status="rejected", metrics=metrics,
                           decision="Candidato recusado: " + "; ".join(drops),
                           finished_at=utcnow())
            return
        self._progress(run_id, "publicando", metrics=metrics)
        import asyncio

        asyncio.run(self._deploy_async(candidate))
        releases.write_state(settings, {"current": candidate, "previous": live})
        self._progress(run_id, "publicado", status="deployed",
                       decision="Publicado: nenhuma métrica caiu além da tolerância "
                       f"({settings.retrain_tolerance}).", finished_at=utcnow())

    def _finetunable(self, live: dict[str, Any], candidate: dict[str, Any]) -> bool:
        """Fine-tune the live model when it has the candidate's structure, fewer than
        ``retrain_full_every`` incremental trainings lie behind it, and it is enabled.
        (The engine's ``POST /model/train`` has no fine-tuning option, so this runs
        ``rasa train --finetune`` in the engine environment.)"""
        settings = self.settings
        return (settings.retrain_epoch_fraction > 0
                and live.get("structure") == candidate["structure"]
                and int(live.get("incremental") or 0) < settings.retrain_full_every
                and Path(live["model"]).exists())

    def _train(self, files: list[Path], model: Path, *, force: bool = False) -> None:
        settings = self.settings
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
        url = str(settings.rasa_url).rstrip("/")
        try:
            httpx.get(f"{url}/status", params={"token": token}, timeout=5).raise_for_status()
            engine_up = True
        except httpx.HTTPError:
            engine_up = False
        if engine_up:
            response = httpx.post(
                f"{url}/model/train", content=training_payload(files).encode(),
                headers={"Content-Type": "application/yaml"}, timeout=TRAIN_TIMEOUT_S,
                params={"token": token, "save_to_default_model_directory": "false",
                        "force_training": "true" if force else "false"})
            if response.status_code != 200:
                raise RuntimeError(f"engine training failed: HTTP {response.status_code} "
                                   f"{response.text[:300]}")
            tmp = model.with_suffix(".part")
            tmp.write_bytes(response.content)
            os.replace(tmp, model)
            return
        self._train_cli(files, model, ["--force"])

    def _train_cli(self, files: list[Path], model: Path, extra: list[str]) -> None:
        """``rasa train`` in the engine environment, logged next to the model."""
        import subprocess

        settings = self.settings
        data = [str(p) for p in files[2:]]
        log = model.parent / "train.log"
        with log.open("w", encoding="utf-8") as handle:
            result = subprocess.run(
                [str(rasa_executable(settings)), "train", "--config", str(files[0]),
                 "--domain", str(files[1]), "--data", *data, "--out", str(model.parent),
                 "--fixed-model-name", MODEL_NAME, *extra],
                cwd=settings.project_root, stdout=handle, stderr=subprocess.STDOUT,
                env={**os.environ, **ENGINE_ENV}, check=False, timeout=TRAIN_TIMEOUT_S)
        if result.returncode != 0 or not model.exists():
            raise RuntimeError(f"rasa train failed (exit {result.returncode}); see {log}")

    def _live_encoder(self, live: dict[str, Any]) -> list[str]:
        """(location, name) of the embedding model the live index was built with: the
        live release's own, else the configured one."""
        from iara.services import encoder_spec
        from index.finetune import tuned_name

        settings = self.settings
        recorded = live.get("encoder")
        if recorded and settings.tunes_encoder and str(recorded[1]).startswith(
                tuned_name(settings.embedding_model, "")):
            return [str(recorded[0]), str(recorded[1])]
        return list(encoder_spec(settings))

    def _encoder_due(self, knowledge: Any, encoder: list[str]) -> bool:
        """Whether the embedding model should be fine-tuned again: enabled, and the Q&A
        pairs differ from those the live one (or the prepared one, when the base model
        serves because it retrieved better) was tuned on."""
        from index.finetune import pairs_fingerprint, read_report, tuned_name

        settings = self.settings
        if not (settings.tunes_encoder and settings.retrain_encoder):
            return False
        print_ = pairs_fingerprint(knowledge, settings.embedding_model,
                                   settings.finetune_epochs)
        prepared = read_report(settings.encoder_dir)
        return encoder[1] != tuned_name(settings.embedding_model, print_) and not (
            prepared is not None and prepared.fingerprint == print_
            and not prepared.accepted)

    def _finetune_encoder(self, run_id: int, knowledge: Any, folder: Path
                          ) -> list[str] | None:
        """Fine-tune the base embedding model on the release's Q&A pairs into the
        release's folder; its (location, name) when it retrieves better than the base
        model on the dev set (``iara prepare``'s rule), else None (the live one stays)."""
        from index.finetune import MODEL_DIR, finetune

        settings = self.settings
        report = finetune(knowledge, settings.embedding_model, folder / "encoder",
                          offline=settings.offline, epochs=settings.finetune_epochs)
        summary = (f"MRR@10 {report.base['mrr@10']:.3f} (base) → "
                   f"{report.finetuned['mrr@10']:.3f} em {report.seconds:.0f} s")
        if not report.accepted:
            self._progress(run_id, f"modelo de embeddings ajustado não é melhor ({summary}): "
                           "fica o atual")
            return None
        self._progress(run_id, f"modelo de embeddings ajustado ({summary})")
        return [str(folder / "encoder" / MODEL_DIR), report.model_name]

    def _link_encoder(self, folder: Path) -> None:
        """The side stack of a release sees the live fine-tuned encoder."""
        encoder = self.settings.encoder_dir
        link = folder / "models" / encoder.name
        if encoder.exists() and not link.exists():
            link.symlink_to(encoder.resolve(), target_is_directory=True)

    def _build_index(self, knowledge: Any, live_index: Path, index: Path,
                     encoder: list[str]) -> None:
        """A copy of the live index, refreshed: only changed passages are embedded, or
        all of them when the embedding model changed."""
        from iara.services import make_encoder
        from index.artifact import build_index

        if live_index.exists():
            shutil.copytree(live_index, index, dirs_exist_ok=True)
        if self._encoder is None or self._encoder.name != encoder[1]:
            self._encoder = make_encoder(self.settings, spec=encoder)  # loads lazily
        build_index(knowledge, self._encoder, index,
                    hnsw_threshold=self.settings.hnsw_threshold)

    async def _deploy_async(self, release: dict[str, Any]) -> None:
        """Engine first (it keeps answering with the old model until the new one is
        loaded), then the release pointer the action server follows, then one warm-up
        request so the action server loads it before the next gestor asks."""
        import asyncio

        from iara.stack import Stack

        settings = self.settings
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
        url = str(settings.rasa_url).rstrip("/")
        async with httpx.AsyncClient(timeout=600) as client:
            try:
                await client.get(f"{url}/status", params={"token": token}, timeout=5)
                engine_up = True
            except httpx.HTTPError:
                engine_up = False
            if engine_up:
                response = await client.put(f"{url}/model", params={"token": token},
                                            json={"model_file": str(release["model"])})
                if response.status_code not in (200, 204):
                    raise RuntimeError(f"the engine refused the model: HTTP "
                                       f"{response.status_code} {response.text[:300]}")
        releases.point_to(settings, release)
        try:
            await asyncio.to_thread(Stack(settings).warm_up)
        except (httpx.HTTPError, IaraError) as exc:  # not running: it loads at start
            logger.info("action server not warmed up after the deploy: %s", exc)


def tree_fingerprint(root: Path) -> str:
    """One hash of every file under ``root`` (names and contents)."""
    return sha256("\n".join(f"{p.relative_to(root)}:{sha256(p.read_bytes().hex())}"
                            for p in sorted(root.rglob("*")) if p.is_file()))


class SideStack:
    """The evaluation stack of one training: engine, actions and API on free ports with
    throwaway databases, started with the live release and then switched to the
    candidate, so one start-up serves both measurements."""

    SLICES = 3  # questions asked at a time (one conversation each)

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._baseline: dict[str, Any] | None = None
        self._questions: list[dict[str, Any]] = []
        self._closed = False
        self.stack: Any = None

    def _side_settings(self, live: dict[str, Any], knowledge: Path) -> Settings:
        workdir, settings = self.workdir, self.settings
        var = workdir / "var"
        (var / "models").mkdir(parents=True, exist_ok=True)
        target = var / "models" / f"{MODEL_NAME}.tar.gz"
        if not target.exists():
            os.symlink(Path(live["model"]).resolve(), target)
        encoder = settings.encoder_dir
        if encoder.exists() and not (var / "models" / encoder.name).exists():
            (var / "models" / encoder.name).symlink_to(encoder.resolve(),
                                                       target_is_directory=True)
        api, engine, actions = _free_port(), _free_port(), _free_port()
        return settings.model_copy(update={
            "var_dir": var, "index_dir": Path(live["index"]), "knowledge_dir": knowledge,
            "api_port": api, "rasa_url": AnyHttpUrl(f"http://127.0.0.1:{engine}"),
            "actions_url": AnyHttpUrl(f"http://127.0.0.1:{actions}"),
            "tracker_store_url": f"sqlite:///{workdir / 'tracker.db'}",
            "database_url": f"sqlite:///{workdir / 'iara.db'}",
            # Its own token; no messaging channel (empty, so the children do not inherit
            # the live ones from the environment).
            "rasa_token": None, "telegram_bot_token": SecretStr(""),
            "telegram_webhook_secret": SecretStr(""), "whatsapp_verify_token": SecretStr(""),
            "whatsapp_app_secret": SecretStr(""), "whatsapp_access_token": SecretStr(""),
            "whatsapp_phone_number_id": ""})

    def start_with(self, live: dict[str, Any], dev: Path, *, measure: bool) -> None:
        """Start in the background with the live release; measure it if asked."""
        from iara.eval_answers import load_questions
        from iara.stack import Stack

        self._questions = load_questions(dev)
        self.workdir.mkdir(parents=True, exist_ok=True)
        side = self._side_settings(live, Path(live.get("knowledge")
                                             or self.settings.knowledge_dir))
        releases.point_to(side, {**live, "knowledge": live.get("knowledge")
                                 or str(self.settings.knowledge_dir)})
        self.stack = Stack(side, log_dir=self.workdir / "log")
        if self._closed:  # closed while it was being set up
            self.stack.close()

        def boot() -> None:
            try:
                self.stack.start()
                self.stack.wait_healthy(timeout=self.settings.startup_timeout_s)
                self.stack.warm_up()
                if measure:
                    self._baseline = self._ask_all()
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=boot, name="retrain-side-stack", daemon=True)
        self._thread.start()

    def _ready(self) -> None:
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"evaluation stack failed: {self._error}") from self._error

    def baseline(self) -> dict[str, Any]:
        self._ready()
        assert self._baseline is not None
        return self._baseline

    def measure(self, candidate: dict[str, Any]) -> dict[str, Any]:
        """Switch the side stack to the candidate (engine model, release pointer, warm-up
        so the action server has loaded it) and measure it."""
        self._ready()
        side = self.stack.settings
        token = side.rasa_token.get_secret_value() if side.rasa_token else ""
        response = httpx.put(f"{str(side.rasa_url).rstrip('/')}/model",
                             params={"token": token}, timeout=600,
                             json={"model_file": str(Path(candidate["model"]).resolve())})
        if response.status_code not in (200, 204):
            raise RuntimeError(f"the evaluation engine refused the candidate: HTTP "
                               f"{response.status_code} {response.text[:300]}")
        releases.point_to(side, candidate)
        self.stack.warm_up()
        return self._ask_all()

    def _ask_all(self) -> dict[str, Any]:
        """``iara eval answers`` totals, asking ``SLICES`` questions at a time."""
        from concurrent.futures import ThreadPoolExecutor

        from iara.eval_answers import evaluate_answers, totals

        url = self.stack.settings.api_base_url
        slices = [self._questions[i::self.SLICES] for i in range(self.SLICES)]
        with ThreadPoolExecutor(self.SLICES) as pool:
            reports = list(pool.map(lambda qs: evaluate_answers(url, qs), slices))
        result: dict[str, Any] = totals([q for r in reports for q in r["questions"]])
        return result

    def close(self) -> None:
        """Stop its processes now, from any thread, even while the boot thread starts
        them; the training that uses it then fails."""
        self._closed = True
        if self.stack is not None:
            self.stack.close()

    def __enter__(self) -> SideStack:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.join()
        if self.stack is not None:
            self.stack.stop()


def _run_json(run: TrainingRun) -> dict[str, Any]:
    return {"id": run.id, "usuario": run.actor, "status": run.status, "etapa": run.step,
            "versao": run.release, "metricas": run.metrics, "referencia": run.baseline,
            "decisao": run.decision, "log": run.log, "inicio": run.started_at.isoformat(),
            "fim": run.finished_at.isoformat() if run.finished_at else None}


def history(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    with db.session() as session:
        runs = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())
                               .limit(limit)).all()
        return [_run_json(r) for r in runs]
