"""Retraining as one action: validate, train, index, evaluate, deploy or refuse.

1. validate the knowledge (``load_knowledge``);
2. export the NLU into the candidate's folder and train a Rasa model, through the running
   engine's HTTP API (``POST /model/train``) or, when no engine answers, ``rasa train`` in
   the engine environment; an unchanged NLU/domain/config reuses the live model;
3. build the candidate index incrementally (a copy of the live index, re-embedding only
   changed passages) into the release's own folder;
4. evaluate the candidate with ``iara eval answers`` logic on ``knowledge/dev.yml``
   through a side stack (engine + actions + API on free ports, throwaway databases), and
   the live release the same way when its metrics are not known for this dev set;
5. deploy only if no metric drops by more than ``retrain_tolerance``: ``PUT /model`` on
   the engine, then the index pointer the action server follows (it loads the new index
   while the old one keeps answering). The previous release stays for rollback.

One training at a time, in a background thread; each run is a ``training_runs`` row
(step, log, metrics, decision) that the admin page polls.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import threading
import traceback
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
import yaml
from pydantic import SecretStr
from sqlalchemy import select

from iara.admin import knowledge_store, releases
from iara.admin.errors import ConflictError
from iara.admin.models import TrainingRun
from iara.db import Database, utcnow
from iara.settings import Settings
from iara.training import ENGINE_ENV, MODEL_NAME, rasa_executable
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
    return [root / "config.yml", root / "domain.yml",
            *sorted((root / "bot" / "data").rglob("*.yml")), *sorted(nlu_dir.glob("*.yml"))]


def fingerprint(files: list[Path]) -> str:
    return sha256("\n".join(f"{p.name}:{sha256(p.read_text(encoding='utf-8'))}"
                            for p in files))


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
        with self.db.session() as session:
            for run in session.scalars(select(TrainingRun)
                                       .where(TrainingRun.status == "running")):
                run.status, run.step = "failed", "interrompido"
                run.decision = "O processo que treinava parou antes do fim."
                run.finished_at = utcnow()

    # --- public ----------------------------------------------------------------------
    def start(self, actor: str, *, wait: bool = False) -> dict[str, Any]:
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
            self._thread = threading.Thread(target=self._run, args=(run_id, handle),
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
            await self._deploy_async(previous)
            releases.write_state(self.settings, {"current": previous, "previous": current})
        await asyncio.to_thread(knowledge_store.record, self.db, actor, "rollback",
                                f"Volta da versão {current['id']} para {previous['id']}",
                                {"de": current["id"], "para": previous["id"]})
        with self.db.session() as session:
            for run in session.scalars(select(TrainingRun)
                                       .where(TrainingRun.release == current["id"])):
                run.status = "rolled_back"
        return {"atual": previous["id"], "anterior": current["id"]}

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

    def _run(self, run_id: int, handle: IO[str]) -> None:
        try:
            with handle:
                self._pipeline(run_id)
        except Exception as exc:
            logger.exception("retrain %d failed", run_id)
            detail = getattr(exc, "problems", None)
            message = (f"{exc}: " + "; ".join(str(p) for p in detail[:5])) if detail \
                else f"{exc.__class__.__name__}: {exc}"
            self._progress(run_id, "falhou", status="failed", decision=message[:4000],
                           finished_at=utcnow())
            logger.debug(traceback.format_exc())

    def _pipeline(self, run_id: int) -> None:
        from iara.nlu_export import export_nlu
        from index.knowledge import load_knowledge

        settings = self.settings
        release_id = datetime.now().strftime("r%Y%m%d-%H%M%S-") + str(run_id)
        folder = releases.releases_dir(settings) / release_id
        self._progress(run_id, "validando o conhecimento", release=release_id)
        knowledge = load_knowledge(settings.knowledge_dir)
        live = releases.live_release(settings)

        nlu_dir = folder / "nlu"
        export_nlu(knowledge, nlu_dir)
        files = training_files(settings, nlu_dir)
        print_ = fingerprint(files)
        model = folder / "models" / f"{MODEL_NAME}.tar.gz"
        model.parent.mkdir(parents=True, exist_ok=True)
        if live.get("fingerprint") == print_ and Path(live["model"]).exists():
            self._progress(run_id, "modelo Rasa inalterado: reaproveitado")
            shutil.copy2(live["model"], model)
        else:
            self._progress(run_id, "treinando o modelo Rasa")
            self._train(files, model)
        self._link_encoder(folder)

        self._progress(run_id, "construindo o índice (incremental)")
        index = folder / "index"
        self._build_index(knowledge, Path(live["index"]), index)

        dev = settings.knowledge_dir / "dev.yml"
        dev_print = sha256(dev.read_text(encoding="utf-8")) if dev.exists() else ""
        baseline = live.get("metrics")
        if not baseline or live.get("dev") != dev_print:
            self._progress(run_id, "avaliando a versão no ar (conjunto dev)")
            baseline = self._evaluate(Path(live["model"]), Path(live["index"]),
                                      folder / "eval-live")
            live = {**live, "metrics": baseline, "dev": dev_print}
        self._progress(run_id, "avaliando o candidato (conjunto dev)", baseline=baseline)
        metrics = self._evaluate(model, index, folder / "eval")
        candidate = {"id": release_id, "model": str(model), "index": str(index),
                     "metrics": metrics, "fingerprint": print_, "dev": dev_print}
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

    def _train(self, files: list[Path], model: Path) -> None:
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
                        "force_training": "false"})
            if response.status_code != 200:
                raise RuntimeError(f"engine training failed: HTTP {response.status_code} "
                                   f"{response.text[:300]}")
            tmp = model.with_suffix(".part")
            tmp.write_bytes(response.content)
            os.replace(tmp, model)
            return
        import subprocess

        data = [str(p) for p in files[2:]]
        log = model.parent / "train.log"
        with log.open("w", encoding="utf-8") as handle:
            result = subprocess.run(
                [str(rasa_executable(settings)), "train", "--config", str(files[0]),
                 "--domain", str(files[1]), "--data", *data, "--out", str(model.parent),
                 "--fixed-model-name", MODEL_NAME, "--force"],
                cwd=settings.project_root, stdout=handle, stderr=subprocess.STDOUT,
                env={**os.environ, **ENGINE_ENV}, check=False, timeout=TRAIN_TIMEOUT_S)
        if result.returncode != 0 or not model.exists():
            raise RuntimeError(f"rasa train failed (exit {result.returncode}); see {log}")

    def _link_encoder(self, folder: Path) -> None:
        """The side stack of a release sees the live fine-tuned encoder."""
        encoder = self.settings.encoder_dir
        link = folder / "models" / encoder.name
        if encoder.exists() and not link.exists():
            link.symlink_to(encoder, target_is_directory=True)

    def _build_index(self, knowledge: Any, live_index: Path, index: Path) -> None:
        from iara.services import make_encoder
        from index.artifact import build_index

        if live_index.exists():
            shutil.copytree(live_index, index, dirs_exist_ok=True)
        build_index(knowledge, make_encoder(self.settings), index,
                    hnsw_threshold=self.settings.hnsw_threshold)

    def _evaluate(self, model: Path, index: Path, workdir: Path) -> dict[str, Any]:
        """``iara eval answers`` totals of a model + index, through a side stack."""
        from iara.eval_answers import evaluate_answers, load_questions
        from iara.stack import Stack

        settings = self.settings
        dev = settings.knowledge_dir / "dev.yml"
        questions = load_questions(dev)
        workdir.mkdir(parents=True, exist_ok=True)
        var = workdir / "var"
        (var / "models").mkdir(parents=True, exist_ok=True)
        target = var / "models" / f"{MODEL_NAME}.tar.gz"
        if not target.exists():
            os.symlink(model.resolve(), target)
        encoder = settings.encoder_dir
        if encoder.exists() and not (var / "models" / encoder.name).exists():
            (var / "models" / encoder.name).symlink_to(encoder.resolve(),
                                                       target_is_directory=True)
        api, engine, actions = _free_port(), _free_port(), _free_port()
        side = settings.model_copy(update={
            "var_dir": var, "index_dir": index, "api_port": api,
            "rasa_url": f"http://127.0.0.1:{engine}",
            "actions_url": f"http://127.0.0.1:{actions}",
            "tracker_store_url": f"sqlite:///{workdir / 'tracker.db'}",
            "database_url": f"sqlite:///{workdir / 'iara.db'}",
            # Its own token; no messaging channel (empty, so the children do not inherit
            # the live ones from the environment).
            "rasa_token": None, "telegram_bot_token": SecretStr(""),
            "telegram_webhook_secret": SecretStr(""), "whatsapp_verify_token": SecretStr(""),
            "whatsapp_app_secret": SecretStr(""), "whatsapp_access_token": SecretStr(""),
            "whatsapp_phone_number_id": ""})
        with Stack(side, log_dir=workdir / "log") as stack:
            stack.wait_healthy(timeout=settings.startup_timeout_s)
            stack.warm_up()
            report = evaluate_answers(stack.settings.api_base_url, questions)
        totals: dict[str, Any] = report["totals"]
        return totals

    async def _deploy_async(self, release: dict[str, Any]) -> None:
        """Engine first (it keeps answering with the old model until the new one is
        loaded), then the index pointer the action server follows."""
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
        releases.point_index(settings, Path(release["index"]))


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
