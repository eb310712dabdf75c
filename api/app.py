"""The FastAPI application: a thin adapter over the engine client and the index library.

Run with ``uvicorn api.app:create_app --factory`` (``iara run`` does it for you).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from markdown_it import MarkdownIt
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.admin import install_admin
from api.channels import install_channels, running_channels
from api.engine import EngineClient, normalize_messages
from api.schemas import ChatRequest, ChatResponse, ComponentHealth, ErrorBody, HealthResponse
from iara.db import Database
from iara.services import encoder_spec
from iara.settings import Settings, get_settings
from index.artifact import check_manifest, read_manifest
from index.errors import EngineResponseError, EngineUnavailableError, IaraError
from index.knowledge import Knowledge, load_knowledge

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
WEB_SENDER_PREFIX = "web:"

# One place for the mapping of expected errors to HTTP statuses and Portuguese messages.
ERROR_MAP: dict[type[IaraError], tuple[int, str, str]] = {
    EngineUnavailableError: (
        503, "engine_unavailable",
        "A Iara está temporariamente indisponível. Tente novamente em alguns instantes."),
    EngineResponseError: (
        502, "engine_error",
        "A Iara não conseguiu processar sua mensagem agora. Tente novamente."),
}
DEFAULT_ERROR = (500, "internal_error", "Ocorreu um erro inesperado. Tente novamente.")


def error_response(status: int, code: str, message: str,
                   details: list[str] | None = None) -> JSONResponse:
    body = ErrorBody(error=code, message=message, details=details or [])
    return JSONResponse(status_code=status, content=body.model_dump())


def chat_page_csp(allowed_origins: list[str]) -> str:
    """The chat page loads only its own files and talks only to its own API; it may be
    framed by Iara itself and by the portals in ``allowed_origins`` (the widget)."""
    ancestors = " ".join(["'self'", *allowed_origins])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {ancestors}")


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        app.state.db = Database(settings.database_url)
        try:
            async with httpx.AsyncClient(timeout=settings.engine_timeout_s,
                                         transport=transport) as client:
                app.state.engine = EngineClient(client, str(settings.rasa_url), token,
                                                settings.engine_chat_timeout_s)
                app.state.http = client
                async with running_channels(app, settings):
                    yield
        finally:
            # A retraining's evaluation stack would outlive this process.
            trainer = getattr(app.state, "trainer", None)
            if trainer is not None:
                await asyncio.to_thread(trainer.close)
            app.state.db.dispose()

    app = FastAPI(
        title="Iara API",
        description="Assistente sobre o CAUC para gestores municipais: chat, saúde e conteúdos.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.allowed_origins:
        # Portals that embed the widget may also call the API from their own pages.
        app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                           max_age=600)
    _install_error_handlers(app)
    install_channels(app, settings)
    install_admin(app, settings)
    chat_page_headers = {"Content-Security-Policy": chat_page_csp(settings.allowed_origins)}

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        # ?embed=1 is the same page, inside the widget's iframe on an allowed portal.
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                            headers=chat_page_headers)

    @app.post(
        "/api/chat",
        response_model=ChatResponse,
        responses={422: {"model": ErrorBody}, 502: {"model": ErrorBody},
                   503: {"model": ErrorBody}},
        summary="Envia uma mensagem à Iara e devolve as respostas, com fontes.",
    )
    async def chat(body: ChatRequest, request: Request) -> ChatResponse:
        engine: EngineClient = request.app.state.engine
        raw = await engine.send(WEB_SENDER_PREFIX + body.sender, body.message.strip())
        return ChatResponse.model_validate(
            {"sender": body.sender, "messages": normalize_messages(raw)})

    @app.get("/health", response_model=HealthResponse,
             responses={503: {"model": HealthResponse}},
             summary="Estado do motor Rasa, do servidor de ações e do índice.")
    async def health(request: Request) -> JSONResponse:
        engine_ok, actions_ok, index_ok = await asyncio.gather(
            _check_engine(request.app.state.engine),
            _check_actions(request.app.state.http, str(settings.actions_url)),
            asyncio.to_thread(_check_index, settings),
        )
        components = {"engine": engine_ok, "actions": actions_ok, "index": index_ok}
        healthy = all(c.ok for c in components.values())
        body = HealthResponse(status="ok" if healthy else "unavailable", components=components)
        return JSONResponse(status_code=200 if healthy else 503, content=body.model_dump())

    @app.get("/conteudos/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    async def content_page(doc_id: str, request: Request) -> HTMLResponse:
        knowledge = await _knowledge(request.app)
        try:
            doc = knowledge.document(doc_id)
        except KeyError:
            raise StarletteHTTPException(status_code=404) from None
        return HTMLResponse(_render_document(knowledge, doc_id, doc))

    return app


async def _knowledge(app: FastAPI) -> Knowledge:
    knowledge: Knowledge | None = getattr(app.state, "knowledge", None)
    if knowledge is None:
        knowledge = await asyncio.to_thread(load_knowledge, app.state.settings.knowledge_dir)
        app.state.knowledge = knowledge
    return knowledge


async def _check_engine(engine: EngineClient) -> ComponentHealth:
    try:
        status = await engine.status()
    except IaraError as exc:
        logger.debug("engine health: %s", exc)
        return ComponentHealth(ok=False, detail="motor Rasa indisponível")
    model = status.get("model_file")
    if not model:
        return ComponentHealth(ok=False, detail="motor Rasa sem modelo carregado")
    return ComponentHealth(ok=True, detail=f"modelo {Path(str(model)).name}")


async def _check_actions(client: httpx.AsyncClient, actions_url: str) -> ComponentHealth:
    try:
        response = await client.get(actions_url.rstrip("/") + "/health", timeout=5)
    except httpx.HTTPError:
        return ComponentHealth(ok=False, detail="servidor de ações indisponível")
    if response.status_code != 200:
        return ComponentHealth(ok=False, detail=f"servidor de ações: HTTP {response.status_code}")
    return ComponentHealth(ok=True, detail="servidor de ações no ar")


def _check_index(settings: Settings) -> ComponentHealth:
    try:
        manifest = read_manifest(settings.index_path)
        check_manifest(manifest, encoder_spec(settings)[1])
    except IaraError as exc:
        return ComponentHealth(ok=False, detail=str(exc))
    return ComponentHealth(
        ok=True, detail=f"{manifest.get('count')} trechos, modelo {manifest.get('model')}")


_markdown = MarkdownIt("commonmark", {"html": False})


def _render_document(knowledge: Knowledge, doc_id: str, doc: Any) -> str:
    """A knowledge document as a small, self-contained HTML page (raw HTML disabled)."""
    sections = "".join(
        f'<section id="{html.escape(s.anchor)}"><h2>{html.escape(s.heading)}</h2>'
        f"{_markdown.render(s.text)}</section>"
        for s in doc.sections
    )
    sources = "".join(
        f'<li><a href="{html.escape(s.url)}" rel="noopener">{html.escape(s.titulo)}</a></li>'
        if s.url else f"<li>{html.escape(s.titulo)}</li>"
        for s in doc.fontes
    )
    trilhas = ", ".join(html.escape(t.titulo) for t in knowledge.trilhas_of(doc_id))
    return (
        '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.display_title)} · Iara</title>"
        '<link rel="stylesheet" href="/static/chat.css"></head>'
        '<body class="content-page"><main>'
        f"<p class=\"crumbs\">Trilha: {trilhas or '—'} · formato: {html.escape(doc.formato)}</p>"
        f"<h1>{html.escape(doc.display_title)}</h1>{sections}"
        f"<section id=\"fontes\"><h2>Fontes</h2><ul>{sources}</ul></section>"
        '<p><a href="/">Voltar ao chat</a></p></main></body></html>'
    )


def _validation_messages(exc: RequestValidationError) -> list[str]:
    messages: list[str] = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        field = loc[-1] if loc else ""
        kind = error.get("type", "")
        ctx = error.get("ctx") or {}
        if kind == "json_invalid":
            text = "O corpo da requisição não é um JSON válido."
        elif kind == "missing":
            text = f"O campo '{field}' é obrigatório."
        elif kind == "string_too_long":
            text = f"O campo '{field}' aceita no máximo {ctx.get('max_length')} caracteres."
        elif kind in ("string_too_short", "value_error"):
            text = f"O campo '{field}' não pode ficar vazio."
        elif kind == "string_type":
            text = f"O campo '{field}' deve ser um texto."
        elif not field:
            text = "O corpo deve ser um objeto JSON com os campos 'sender' e 'message'."
        else:
            text = f"O campo '{field}' é inválido."
        if text not in messages:
            messages.append(text)
    return messages


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = _validation_messages(exc)
        return error_response(422, "invalid_request", " ".join(messages), messages)

    @app.exception_handler(IaraError)
    async def on_iara_error(request: Request, exc: IaraError) -> JSONResponse:
        status, code, message = next(
            (v for k, v in ERROR_MAP.items() if isinstance(exc, k)), DEFAULT_ERROR)
        logger.warning("%s on %s: %s", code, request.url.path, exc)
        return error_response(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, "not_found", "Página ou recurso não encontrado.")
        if exc.status_code == 405:
            return error_response(405, "method_not_allowed", "Método não permitido aqui.")
        return error_response(exc.status_code, "http_error", "Requisição não atendida.")

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Unexpected error on %s", request.url.path)
        return error_response(*DEFAULT_ERROR)
