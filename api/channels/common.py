"""What both messaging channels share: the inbound message, text splitting, button
payload encoding, and the few Portuguese texts the API itself says on a channel."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

# Said by the API itself (everything else comes from the engine).
UNSUPPORTED_TEXT = (
    "Por enquanto eu só entendo mensagens de texto. 🙂 Escreva sua dúvida sobre o CAUC, "
    "por exemplo: \"qual o prazo para enviar o RREO ao Siconfi?\"")
ENGINE_DOWN_TEXT = (
    "A Iara está temporariamente indisponível. Tente novamente em alguns instantes.")
EXPIRED_BUTTON_TEXT = (
    "Esse botão não vale mais. Escreva sua pergunta, por favor.")
CHOOSE_TEXT = "Escolha uma opção:"
SOURCES_HEADING = "Fontes"

# Button payloads travel in the platform's button data: literally when short enough
# ("p:" + payload), else as a reference to the payload stored in the app database
# ("r:" + hash), resolved when the button is pressed.
LITERAL_PREFIX = "p:"
REF_PREFIX = "r:"

# Slash commands a Telegram client offers, mapped to the engine's intents.
COMMANDS = {"/start": "/saudacao", "/ajuda": "/ajuda", "/help": "/ajuda",
            "/recomecar": "recomeçar"}

InboundKind = Literal["text", "button", "unsupported"]


@dataclass(frozen=True)
class Inbound:
    """One thing a person did on a platform that Iara answers."""

    platform: str  # "telegram" | "whatsapp"
    update_id: str  # the platform's id of this update/message, for deduplication
    chat_id: str  # Telegram chat id, WhatsApp wa_id
    kind: InboundKind
    text: str = ""  # the message text (kind "text") or the button data (kind "button")
    callback_id: str | None = None  # Telegram callback query to answer

    @property
    def sender(self) -> str:
        """The engine's conversation id: the channel prefix tells the bot the channel."""
        return f"{self.platform}:{self.chat_id}"


def command_alias(text: str) -> str:
    """``/start`` (or ``/start@IaraBot``) and friends as the engine understands them."""
    head, _, rest = text.strip().partition(" ")
    command = head.split("@", 1)[0].lower()
    return COMMANDS[command] if command in COMMANDS and not rest else text


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts its limits in."""
    return len(text.encode("utf-16-le")) // 2


# Boundaries, best first: paragraph, line, sentence end, any space.
_BOUNDARIES = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"),
               re.compile(r"(?<=[.!?…;:])[ \t]+"), re.compile(r"\s+"))


def split_text(text: str, limit: int, *, measure: Callable[[str], int] = len) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` (as ``measure`` counts: ``len``, or
    ``utf16_len`` for Telegram; at least 1 per character), each cut at the best boundary
    in reach: a paragraph break, else a line break, else a sentence end, else a space. A
    boundary that would leave a piece shorter than a third of the limit gives way to a
    weaker one further on. Only a single word longer than the limit (a huge URL) is ever
    cut inside. Pieces are stripped; none is empty."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if measure(rest) <= limit:
            pieces.append(rest)
            break
        window = _fitting_prefix(rest, limit, measure)
        cut = _best_cut(window)
        start, end = cut if cut else (len(window), len(window))
        pieces.append(rest[:start].rstrip())
        rest = rest[end:].lstrip()
    return pieces


def _fitting_prefix(text: str, limit: int, measure: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` measuring at most ``limit`` (never empty)."""
    low, high = 1, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _best_cut(window: str) -> tuple[int, int] | None:
    """(start, end) of the separator to cut ``window`` at; None when it has no space."""
    fallback: tuple[int, int] | None = None
    for pattern in _BOUNDARIES:
        matches = list(pattern.finditer(window))
        if not matches:
            continue
        last = matches[-1]
        if last.start() >= len(window) // 3:
            return last.start(), last.end()
        if fallback is None or last.start() > fallback[0]:
            fallback = last.start(), last.end()
    return fallback


def truncate_title(title: str, limit: int) -> str:
    """A button label of at most ``limit`` characters, cut at a word boundary with "…"."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if " " in cut and title[limit - 1] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" —-,;:(") + "…"


def unique_titles(titles: list[str], limit: int) -> list[str]:
    """Truncated titles made distinct (platforms refuse two buttons with one label)."""
    seen: set[str] = set()
    result = []
    for title in titles:
        short = truncate_title(title, limit)
        number = 2
        while short in seen:
            suffix = f" {number}"
            short = truncate_title(title, limit - len(suffix)) + suffix
            number += 1
        seen.add(short)
        result.append(short)
    return result


def payload_ref(payload: str) -> str:
    """The stable short reference of a button payload (the same payload, the same ref)."""
    return REF_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def encode_payload(payload: str, max_bytes: int) -> str:
    """Button data for ``payload``: the payload itself when it fits, else its reference."""
    literal = LITERAL_PREFIX + payload
    return literal if len(literal.encode("utf-8")) <= max_bytes else payload_ref(payload)


def refs_in(messages: list[dict[str, Any]], max_bytes: int) -> dict[str, str]:
    """{ref: payload} for the button payloads of ``messages`` too long to travel literally."""
    refs = {}
    for message in messages:
        for button in message.get("buttons") or []:
            data = encode_payload(button["payload"], max_bytes)
            if data.startswith(REF_PREFIX):
                refs[data] = button["payload"]
    return refs


def link_of(message: dict[str, Any]) -> tuple[str, str] | None:
    """(title, http(s) url) of the message's link to its full explanation, if any."""
    link = message.get("link")
    if not isinstance(link, dict):
        return None
    url, title = link.get("url"), " ".join(str(link.get("title") or "").split())
    if title and isinstance(url, str) and url.startswith(("https://", "http://")):
        return title, url
    return None


def sources_of(message: dict[str, Any], limit: int = 10) -> list[tuple[str, str | None]]:
    """(title, http(s) url or None) of a message's sources, at most ``limit``."""
    result = []
    for source in (message.get("sources") or [])[:limit]:
        title = " ".join(str(source.get("title") or "").split())
        url = source.get("url")
        url = str(url) if isinstance(url, str) and url.startswith(("https://", "http://")) \
            else None
        if title or url:
            result.append((title or str(url), url))
    return result
