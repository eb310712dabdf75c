"""What every action area shares: the conversation's channel, the app database, the
last question, feedback buttons and button labels."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker

from iara.db import Database, UnansweredQuestion
from iara.settings import Settings
from index.answer import Answerer
from index.knowledge import Knowledge
from index.text import fold, mask_personal_data

logger = logging.getLogger(__name__)

# Intents that ask the knowledge something (what they ask is the 'aspecto' entity).
QUESTION_INTENT = "perguntar"
QUESTION_INTENTS = frozenset({QUESTION_INTENT, "nlu_fallback"})
CHANNELS = ("web", "telegram", "whatsapp")
FEEDBACK_BUTTONS = [
    {"title": "👍 Útil", "payload": '/avaliar{"avaliacao":"util"}'},
    {"title": "👎 Não útil", "payload": '/avaliar{"avaliacao":"nao_util"}'},
]
HANDOFF_BUTTON = {"title": "Falar com uma pessoa", "payload": "/pedir_humano"}
CONTEXT_TURNS = 6


# Requests for Iara to act instead of explaining (forge, issue, remove, change, log in
# and send), refused even when the NLU mistakes them for a question: Iara only explains.
# Folded text. Imperatives, the subjunctive after "que você", infinitives after "você
# pode/consegue".
_IMPERATIVES = (r"gere|gera|emita|emite|faca|faz|tira|tire|altera|altere|muda|mude|apaga|"
                r"apague|libera|libere|marca|marque|coloca|coloque|remove|remova|exclui|exclua|"
                r"assina|assine|homologa|homologue|preenche|preencha|envia|envie|resolve|"
                r"resolva|regulariza|regularize|baixa|baixe|entra|entre|acessa|acesse|loga|"
                r"logue|transmite|transmita|atualiza|atualize|cadastra|cadastre|manda|mande|"
                r"protocola|protocole|valida|valide")
_INFINITIVES = (r"gerar|emitir|fazer|tirar|alterar|mudar|apagar|liberar|marcar|colocar|"
                r"remover|excluir|assinar|homologar|preencher|enviar|resolver|regularizar|"
                r"baixar|entrar|acessar|logar|transmitir|atualizar|cadastrar|mandar|protocolar|"
                r"validar")
_ACT_OBJECTS = (r"certidao|cnd|cpend|crp|crf|cauc|pendencia|status|situacao|extrato|atestado|"
                r"convenio|rreo|rgf|dca|msc|siope|siops|siconfi|sadipem|cadprev|transferegov|"
                r"item|comprovante|documento|relatorio|anexo|bimestre|cdp")
_POLITE = r"^(?:(?:por favor|pfv|pf|iara|ei|oi|ola|voce|vc|agora)\W+)*"
_ACT_REQUESTS = (
    re.compile(rf"{_POLITE}(?:{_IMPERATIVES})\b.*\b(?:{_ACT_OBJECTS})\b.*\b(?:pra mim|"
               rf"para mim|por mim|no meu lugar|agora|em nome|urgente|ja)\b"),
    # Forging: "uma certidão falsa", "falsificar o atestado" (not a "pendência falsa", the
    # processing error the extrato may show).
    re.compile(r"\b(?:documento|certidao|certidoes|extrato|atestado|comprovante|recibo|"
               r"declaracao|assinatura|cnd|crp|crf|relatorio)s?\s+(?:\w+\s+){0,2}"
               r"(?:falso|falsa|falsos|falsas)\b"),
    re.compile(r"\b(?:falsific\w*|forj\w*|adulter\w*|fraud\w*|ninguem vai conferir)"),
    re.compile(rf"{_POLITE}(?:{_IMPERATIVES})\b.*\b(?:como comprovado|como regular|"
               r"sem (?:nenhuma )?pendencias?)\b"),
    re.compile(rf"\b(?:voce|vc|iara)\s+(?:pode|poderia|podia|consegue|conseguiria|"
               rf"da conta de)\s+(?:ja\s+)?(?:{_INFINITIVES})\b.*\b(?:{_ACT_OBJECTS})\b"),
    re.compile(rf"\b(?:que|q)\s+(?:voce|vc)\s+(?:{_IMPERATIVES})\b.*\b(?:{_ACT_OBJECTS})\b"),
)
# An imperative that opens a message of five words or more asking nothing ("entra no
# siconfi e homologa o rreo"; shorter ones are often nouns: "baixa de pendência cauc").
_ORDER = re.compile(rf"{_POLITE}(?:{_IMPERATIVES})\b.*\b(?:{_ACT_OBJECTS}|no sistema)\b")
ORDER_MIN_WORDS = 5


# A password, PIN or login typed into the message ("senha: Pref@2024", "minha senha é
# abc123", "login joao senha 1234"; folded text): Iara never uses credentials.
_CREDENTIALS = re.compile(
    r"\b(?:senha|password|passwd|pwd|pin)\b(?:\s+(?:do|da|de|dele|dela)\s+\w+)?"
    r"(?:\s*[:=]\s*(?!(?:como|qual|quem|onde|quando|porque|por|pra|para|o|a|e)\b)\S{3,}"
    r"|\s+(?:e|eh|era|sera)?\s*\S*[\d@#$%&*!_]\S*)")


def carries_credentials(text: str) -> bool:
    """Whether the message carries a password, PIN or login to some system."""
    return _CREDENTIALS.search(fold(text)) is not None


def asks_to_act(text: str) -> bool:
    """Whether the message asks Iara to do something in a system for the gestor (or to
    forge a document) rather than to explain."""
    folded = fold(text)
    return (any(pattern.search(folded) for pattern in _ACT_REQUESTS)
            or ("?" not in folded and len(folded.split()) >= ORDER_MIN_WORDS
                and _ORDER.search(folded) is not None))


def channel_of(sender_id: str) -> str:
    """The channel a conversation came from, by the API's sender prefix ("web:...")."""
    prefix = sender_id.split(":", 1)[0]
    return prefix if prefix in CHANNELS and ":" in sender_id else "api"


def short_title(title: str, limit: int = 40) -> str:
    """A button label: cut at a word boundary, never mid-word."""
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" —-,(")
    return cut + "…"


def entity(tracker: Tracker, name: str) -> str | None:
    """The first value of entity ``name`` in the latest message."""
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def last_question(tracker: Tracker) -> str:
    """The latest user text that asked the knowledge something (for feedback and the
    analysts' queue): button payloads starting with '/' are skipped."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = str(event.get("text") or "")
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not text.startswith("/") and intent in QUESTION_INTENTS:
            return text
    return ""


def conversation_context(tracker: Tracker, turns: int = CONTEXT_TURNS) -> list[dict[str, str]]:
    """The last user and bot texts (personal data masked), oldest first."""
    context: list[dict[str, str]] = []
    for event in reversed(tracker.events):
        if event.get("event") in ("user", "bot") and event.get("text"):
            context.append({"who": "gestor" if event["event"] == "user" else "iara",
                            "text": mask_personal_data(str(event["text"]))[:1000]})
            if len(context) >= turns:
                break
    return list(reversed(context))


class UsesServices:
    """Lazy access to what actions share, injectable in tests: the knowledge, the app
    database, the answerer and the settings (loaded on first use, never at import)."""

    _knowledge: Knowledge | None = None
    _database: Database | None = None
    _answerer: Answerer | None = None

    @property
    def answerer(self) -> Answerer:
        """The retrieval answerer: injected (tests), else the served one, made on first
        use (it follows index deploys)."""
        if self._answerer is None:
            from iara.services import get_answerer

            self._answerer = get_answerer()
        return self._answerer

    @property
    def knowledge(self) -> Knowledge:
        if self._knowledge is not None:  # injected (tests)
            return self._knowledge
        from iara.services import get_knowledge

        return get_knowledge()  # the deployed release's: follows deploys and rollbacks

    @property
    def database(self) -> Database:
        return self._database or app_database()

    @property
    def settings(self) -> Settings:
        from iara.settings import get_settings

        return get_settings()


@lru_cache(maxsize=1)
def app_database() -> Database:
    from iara.settings import get_settings

    return Database(get_settings().database_url)


def log_unanswered(db: Database, tracker: Tracker, question: str, reason: str,
                   score: float | None = None) -> None:
    """Queue a question for analysts (masked). Never fails the conversation."""
    try:
        with db.session() as session:
            session.add(UnansweredQuestion(
                sender=tracker.sender_id, channel=channel_of(tracker.sender_id),
                question=mask_personal_data(question)[:2000], reason=reason, score=score,
                context=conversation_context(tracker)))
    except Exception:
        logger.exception("Could not queue an unanswered question")


def with_buttons(message: dict[str, Any], buttons: list[dict[str, str]]) -> dict[str, Any]:
    return {**message, "buttons": [*message.get("buttons", []), *buttons]}


def render(domain: dict[str, Any], response: str, **values: str) -> str:
    """The text of a domain response, filled in (the wording stays in domain.yml) — for
    messages an action sends as a custom payload."""
    variants = (domain.get("responses") or {}).get(response) or []
    if not variants or not variants[0].get("text"):
        raise KeyError(f"domain has no text response {response!r}")
    return str(variants[0]["text"]).format(**values).strip()
