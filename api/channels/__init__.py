"""Messaging channels (Telegram, WhatsApp Cloud API) as webhooks of the API.

Each webhook verifies the platform's secret or signature, records the update (a retry of
a recorded update is dropped), answers 200 at once and, in a background task, passes the
text to the engine's REST channel as ``<platform>:<chat id>`` and sends the rendered
replies through the platform's API. A channel whose settings are not all set is off: its
routes do not exist (404).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from api.channels.delivery import RetryPolicy
from api.channels.runtime import ChannelRuntime
from api.channels.telegram import TelegramChannel, telegram_router
from api.channels.whatsapp import WhatsAppChannel, whatsapp_router
from iara.settings import Settings

PLATFORM_TIMEOUT = httpx.Timeout(20.0, connect=5.0)

__all__ = ["install_channels", "running_channels"]


def install_channels(app: FastAPI, settings: Settings) -> None:
    """Add the webhook routes of the configured channels."""
    if settings.telegram_enabled:
        app.include_router(telegram_router())
    if settings.whatsapp_enabled:
        app.include_router(whatsapp_router())


@asynccontextmanager
async def running_channels(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Inside the API lifespan (after ``app.state.db`` and ``app.state.engine``): the
    platforms' HTTP client and the background work, drained at shutdown."""
    if not (settings.telegram_enabled or settings.whatsapp_enabled):
        yield
        return
    db = app.state.db
    await asyncio.to_thread(db.ensure_ready)  # fail at start-up, not on the first message
    async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT) as http:
        runtime = ChannelRuntime(db, app.state.engine, RetryPolicy(
            settings.channel_send_attempts, settings.channel_retry_backoff_s))
        if settings.telegram_enabled:
            runtime.channels["telegram"] = TelegramChannel(http, settings)
        if settings.whatsapp_enabled:
            runtime.channels["whatsapp"] = WhatsAppChannel(http, settings)
        app.state.channels = runtime
        try:
            yield
        finally:
            await runtime.drain()
