"""What a webhook hands its work to: dedup at the door, then a background task per
update that asks the engine and delivers the rendered replies.

The webhook answers 200 as soon as the update is recorded (``ChannelUpdate``), so a
platform never retries because the engine was slow; a retry of a recorded update is
dropped. Updates of one conversation are processed one at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Protocol

from api.channels import store
from api.channels.common import (
    ENGINE_DOWN_TEXT,
    EXPIRED_BUTTON_TEXT,
    LITERAL_PREFIX,
    REF_PREFIX,
    UNSUPPORTED_TEXT,
    Inbound,
    refs_in,
)
from api.channels.delivery import RetryPolicy, deliver
from api.engine import EngineClient, normalize_messages
from iara.db import Database
from index.errors import IaraError

logger = logging.getLogger(__name__)


class Channel(Protocol):
    """One messaging platform, as the runtime sees it."""

    platform: str
    button_data_bytes: int  # the smallest limit of the platform's button data

    async def acknowledge(self, inbound: Inbound) -> None:
        """Best-effort signs of life before the answer (callback answer, typing…)."""

    def render(self, chat_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The platform request bodies that show ``messages`` in chat ``chat_id``."""

    async def send(self, body: dict[str, Any]) -> Any:
        """Send one rendered body; raises ``PlatformError``."""


def plain(text: str) -> dict[str, Any]:
    return {"text": text, "buttons": [], "sources": []}


class ChannelRuntime:
    def __init__(self, db: Database, engine: EngineClient, policy: RetryPolicy) -> None:
        self.db = db
        self.engine = engine
        self.policy = policy
        self.channels: dict[str, Channel] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    async def accept(self, channel: Channel, inbounds: list[Inbound]) -> int:
        """Record each inbound update and start processing the new ones; returns how many
        were new (the rest are a platform's retries, dropped)."""
        new = 0
        for inbound in inbounds:
            claimed = await asyncio.to_thread(store.claim_update, self.db, inbound.platform,
                                              inbound.update_id, inbound.sender)
            if not claimed:
                logger.info("%s update %s already received; dropped", inbound.platform,
                            inbound.update_id)
                continue
            new += 1
            self._spawn(self._process(channel, inbound))
        return new

    async def send_text(self, platform: str, chat_id: str, text: str) -> None:
        """Send a plain text outside a conversation turn (e.g. a CAUC alert), split like
        any answer; raises ``PlatformError`` (or KeyError for a channel that is off).
        Recording the delivery is the caller's (it knows the message's key)."""
        channel = self.channels[platform]
        for body in channel.render(chat_id, [plain(text)]):
            await channel.send(body)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let running updates finish (up to ``timeout``), then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d channel update(s) cancelled at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    async def _process(self, channel: Channel, inbound: Inbound) -> None:
        status = "failed"
        try:
            async with self._conversation(inbound.sender):
                status = await self._answer(channel, inbound)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s update %s failed", inbound.platform, inbound.update_id)
        try:
            await asyncio.to_thread(store.finish_update, self.db, inbound.platform,
                                    inbound.update_id, status)
        except Exception:
            logger.exception("could not record the end of %s update %s", inbound.platform,
                             inbound.update_id)

    async def _answer(self, channel: Channel, inbound: Inbound) -> str:
        await _best_effort(channel.acknowledge(inbound), inbound)
        messages, status = await self._messages(channel, inbound)
        refs = refs_in(messages, channel.button_data_bytes)
        if refs:
            await asyncio.to_thread(store.save_refs, self.db, channel.platform, refs)
        bodies = channel.render(inbound.chat_id, messages)
        logger.info("%s update %s: %d message(s) from the engine, %d to send",
                    inbound.platform, inbound.update_id, len(messages), len(bodies))
        for number, body in enumerate(bodies):
            sent = await deliver(
                self.db, self.policy, key=f"{inbound.platform}:{inbound.update_id}:{number}",
                platform=inbound.platform, recipient=inbound.chat_id, body=body,
                send=channel.send)
            if not sent:
                status = "failed"
        return status

    async def _messages(self, channel: Channel,
                        inbound: Inbound) -> tuple[list[dict[str, Any]], str]:
        if inbound.kind == "unsupported":
            return [plain(UNSUPPORTED_TEXT)], "done"
        text = inbound.text
        if inbound.kind == "button":
            resolved = await self._button_payload(channel.platform, inbound.text)
            if resolved is None:
                return [plain(EXPIRED_BUTTON_TEXT)], "done"
            text = resolved
        logger.debug("%s update %s: asking the engine: %r", inbound.platform,
                     inbound.update_id, text)
        try:
            raw = await self.engine.send(inbound.sender, text)
        except IaraError as exc:
            logger.warning("%s update %s: engine failed: %s", inbound.platform,
                           inbound.update_id, exc)
            return [plain(ENGINE_DOWN_TEXT)], "failed"
        return normalize_messages(raw), "done"

    async def _button_payload(self, platform: str, data: str) -> str | None:
        if data.startswith(REF_PREFIX):
            return await asyncio.to_thread(store.resolve_ref, self.db, platform, data)
        return data.removeprefix(LITERAL_PREFIX) or None

    @asynccontextmanager
    async def _conversation(self, sender: str) -> AsyncIterator[None]:
        """One lock per conversation, forgotten when nobody holds or awaits it."""
        lock = self._locks.setdefault(sender, asyncio.Lock())
        self._waiting[sender] = self._waiting.get(sender, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[sender] -= 1
            if not self._waiting[sender]:
                del self._waiting[sender], self._locks[sender]


async def _best_effort(call: Coroutine[Any, Any, None], inbound: Inbound) -> None:
    try:
        await call
    except Exception as exc:
        logger.info("%s update %s: acknowledgement failed: %s", inbound.platform,
                    inbound.update_id, exc)
