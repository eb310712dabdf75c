"""The analysts' area: the admin page (``/admin``) and its JSON API (``/api/admin``).

A thin adapter over :mod:`iara.admin`. Every route needs an analyst: a session cookie from
``POST /api/admin/login`` (state-changing requests must echo the session's CSRF token in
``X-CSRF-Token``) or ``Authorization: Bearer <IARA_ADMIN_TOKEN>``. Failures use the API's
one JSON error body.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from iara.admin import analytics, auth, knowledge_store, qa, queue, retrain
from iara.admin.errors import AdminError, CsrfError, NotAuthenticatedError
from iara.db import Database
from iara.settings import Settings
from index.knowledge import load_knowledge

COOKIE = "iara_admin"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


CARD_FIELD = Field(None, max_length=200, description="The answer card the question joins "
                   "(its key, e.g. '3.1.2/prazo'); default: the topic's first card of the "
                   "type.")


class PairIn(BaseModel):
    pergunta: str = Field(min_length=1, max_length=500)
    topico: str = Field(min_length=1, max_length=100)
    tipo: str = Field("geral", max_length=40)
    cartao: str | None = CARD_FIELD


class PairEdit(BaseModel):
    pergunta: str | None = Field(None, max_length=500)
    topico: str | None = Field(None, max_length=100)
    tipo: str | None = Field(None, max_length=40)
    cartao: str | None = CARD_FIELD


class GroupToQa(BaseModel):
    topico: str = Field(min_length=1, max_length=100)
    tipo: str = Field("geral", max_length=40)
    pergunta: str | None = Field(None, max_length=500)
    cartao: str | None = CARD_FIELD


class Dismiss(BaseModel):
    motivo: str = Field(min_length=1, max_length=500)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _db(request: Request) -> Database:
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:  # served without the lifespan (e.g. a bare server in tests)
        db = Database(_settings(request).database_url)
        request.app.state.db = db
    return db


def _root(request: Request) -> Path:
    return _settings(request).knowledge_dir


def analyst(request: Request) -> str:
    """The signed-in analyst (or the token's actor); CSRF checked for cookie sessions."""
    settings = _settings(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        if auth.token_matches(settings, header[7:].strip()):
            return auth.TOKEN_USER
        raise NotAuthenticatedError("Token de administração inválido.")
    session = auth.read_session(_key(request), request.cookies.get(COOKIE))
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        import hmac

        if not sent or not hmac.compare_digest(sent, session.csrf):
            raise CsrfError("Token CSRF ausente ou inválido: recarregue a página.")
    return session.user


def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "admin_key", None)
    if key is None:
        key = auth.session_key(_settings(request))
        request.app.state.admin_key = key
    return key


def _trainer(request: Request) -> retrain.Trainer:
    trainer: retrain.Trainer | None = getattr(request.app.state, "trainer", None)
    if trainer is None:
        trainer = retrain.Trainer(_settings(request), _db(request))
        request.app.state.trainer = trainer
    return trainer


def admin_router() -> APIRouter:
    public = APIRouter(prefix="/api/admin", tags=["analistas"])
    router = APIRouter(prefix="/api/admin", tags=["analistas"], dependencies=[Depends(analyst)])

    @public.post("/login", summary="Entra com usuário e senha; devolve o token CSRF.")
    async def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
        user = await asyncio.to_thread(auth.authenticate, _db(request), body.username,
                                       body.password)
        settings = _settings(request)
        cookie, session = auth.issue_session(_key(request), user, settings.admin_session_minutes)
        response.set_cookie(COOKIE, cookie, max_age=settings.admin_session_minutes * 60,
                            httponly=True, samesite="strict", path="/",
                            secure=settings.public_base_url.startswith("https://"))
        return {"usuario": user, "csrf": session.csrf, "expira": session.expires}

    @public.post("/logout", summary="Sai (apaga o cookie de sessão).")
    async def logout(response: Response) -> dict[str, bool]:
        response.delete_cookie(COOKIE, path="/")
        return {"ok": True}

    @router.get("/me", summary="Quem está conectado e o token CSRF da sessão.")
    async def me(request: Request, user: str = Depends(analyst)) -> dict[str, Any]:
        csrf = None
        if request.cookies.get(COOKIE) and user != auth.TOKEN_USER:
            csrf = auth.read_session(_key(request), request.cookies.get(COOKIE)).csrf
        return {"usuario": user, "csrf": csrf}

    # --- Unanswered queue ------------------------------------------------------------
    @router.get("/queue", summary="Perguntas sem resposta, agrupadas por semelhança.")
    async def queue_groups(request: Request) -> list[dict[str, Any]]:
        return await asyncio.to_thread(queue.groups, _db(request))

    @router.post("/queue/{group_id}/qa", summary="Transforma um grupo em par de pergunta.")
    async def queue_to_qa(group_id: int, body: GroupToQa, request: Request,
                          user: str = Depends(analyst)) -> dict[str, Any]:
        return await asyncio.to_thread(queue.to_qa, _db(request), _root(request), user,
                                       group_id, body.topico, body.tipo, body.pergunta,
                                       body.cartao)

    @router.post("/queue/{group_id}/dismiss", summary="Descarta um grupo, com motivo.")
    async def queue_dismiss(group_id: int, body: Dismiss, request: Request,
                            user: str = Depends(analyst)) -> dict[str, Any]:
        return await asyncio.to_thread(queue.dismiss, _db(request), user, group_id,
                                       body.motivo)

    # --- Q&A -------------------------------------------------------------------------
    @router.get("/qa", summary="Pares de pergunta (busca por texto e tópico).")
    async def qa_list(request: Request, q: str = "", topico: str | None = None
                      ) -> list[dict[str, Any]]:
        knowledge = await asyncio.to_thread(load_knowledge, _root(request))
        return [p.to_json() for p in qa.search(knowledge, q, topico)]

    @router.get("/qa/topics", summary="Itens e temas que um par pode apontar.")
    async def qa_topics(request: Request) -> dict[str, Any]:
        from index.knowledge import QUESTION_TYPES

        knowledge = await asyncio.to_thread(load_knowledge, _root(request))
        return {"topicos": qa.topics(knowledge), "tipos": list(QUESTION_TYPES),
                "cartoes": qa.cards(knowledge)}

    @router.post("/qa", status_code=201, summary="Adiciona um par (validado e auditado).")
    async def qa_add(body: PairIn, request: Request, user: str = Depends(analyst)
                     ) -> dict[str, Any]:
        pair, audit_id = await asyncio.to_thread(
            lambda: qa.add(_db(request), _root(request), user, body.topico, body.tipo,
                           body.pergunta, card=body.cartao))
        return {"par": pair.to_json(), "auditoria": audit_id}

    @router.put("/qa/{pid}", summary="Edita um par.")
    async def qa_edit(pid: str, body: PairEdit, request: Request, user: str = Depends(analyst)
                      ) -> dict[str, Any]:
        pair, audit_id = await asyncio.to_thread(
            lambda: qa.edit(_db(request), _root(request), user, pid, text=body.pergunta,
                            topic=body.topico, tipo=body.tipo, card=body.cartao))
        return {"par": pair.to_json(), "auditoria": audit_id}

    @router.delete("/qa/{pid}", summary="Remove um par.")
    async def qa_delete(pid: str, request: Request, user: str = Depends(analyst)
                        ) -> dict[str, Any]:
        audit_id = await asyncio.to_thread(qa.delete, _db(request), _root(request), user, pid)
        return {"auditoria": audit_id}

    @router.post("/qa/import", summary="Importa pares de um CSV ou YAML (corpo = o arquivo; "
                 "?filename=pares.csv), com erros por linha.")
    async def qa_import(request: Request, filename: str, dry_run: bool = False,
                        user: str = Depends(analyst)) -> dict[str, Any]:
        data = await request.body()
        if len(data) > 2_000_000:
            raise AdminError("Arquivo grande demais (máximo 2 MB).")
        rows = qa.read_rows(filename, data)
        return await asyncio.to_thread(qa.import_rows, _db(request), _root(request), user,
                                       rows, dry_run=dry_run)

    # --- Audit -----------------------------------------------------------------------
    @router.get("/audit", summary="Alterações recentes (quem, quando, o quê, antes/depois).")
    async def audit(request: Request, limit: int = 100) -> list[dict[str, Any]]:
        return await asyncio.to_thread(knowledge_store.audit_log, _db(request),
                                       max(1, min(limit, 500)))

    @router.post("/audit/{audit_id}/revert", summary="Desfaz uma alteração.")
    async def revert(audit_id: int, request: Request, user: str = Depends(analyst)
                     ) -> dict[str, Any]:
        saved = await asyncio.to_thread(knowledge_store.revert, _db(request), _root(request),
                                        user, audit_id)
        return {"auditoria": saved.audit_id}

    # --- Retraining ------------------------------------------------------------------
    @router.post("/train", status_code=202, summary="Valida, treina, avalia e publica se "
                 "nenhuma métrica piorar além da tolerância.")
    async def train(request: Request, user: str = Depends(analyst)) -> dict[str, Any]:
        return await asyncio.to_thread(_trainer(request).start, user)

    @router.get("/train/status", summary="Andamento do treino em curso (ou do último).")
    async def train_status(request: Request) -> dict[str, Any]:
        return await asyncio.to_thread(_trainer(request).status)

    @router.get("/trainings", summary="Histórico de treinos, métricas e decisões.")
    async def trainings(request: Request) -> list[dict[str, Any]]:
        return await asyncio.to_thread(retrain.history, _db(request))

    @router.post("/rollback", summary="Volta ao modelo e índice anteriores.")
    async def rollback(request: Request, user: str = Depends(analyst)) -> dict[str, Any]:
        return await _trainer(request).rollback(user)

    # --- Analytics -------------------------------------------------------------------
    @router.get("/analytics", summary="Conversas, mensagens, temas, fallback, avaliações.")
    async def analytics_json(request: Request, days: int = 30) -> dict[str, Any]:
        return await asyncio.to_thread(analytics.summary, _settings(request), _db(request),
                                       max(1, min(days, 366)))

    combined = APIRouter()
    combined.include_router(public)
    combined.include_router(router)
    return combined


def install_admin(app: FastAPI, settings: Settings) -> None:
    """The admin page, its API and the mapping of admin errors to the JSON error body."""
    from api.app import error_response

    app.include_router(admin_router())

    @app.get("/admin", include_in_schema=False)
    async def admin_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "admin.html", media_type="text/html",
                            headers={"Content-Security-Policy": PAGE_CSP,
                                     "Cache-Control": "no-store"})

    @app.exception_handler(AdminError)
    async def on_admin_error(request: Request, exc: AdminError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, NotAuthenticatedError):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
