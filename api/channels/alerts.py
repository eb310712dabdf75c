"""CAUC alerts through the messaging channels: the cauc library's ``AlertSender`` on top
of the Telegram and WhatsApp connectors (used after a snapshot is loaded)."""

from __future__ import annotations

import logging
from datetime import date

import httpx

from api.channels.delivery import PlatformError
from api.channels.runtime import Channel, plain
from api.channels.telegram import TelegramChannel
from api.channels.whatsapp import WhatsAppChannel
from cauc import DeliveryReport, alerts_for_snapshot, deliver_alerts
from iara.db import Database
from iara.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class ChannelAlertSender:
    """Sends one alert text to one person of a channel, split like any answer; raises on
    failure (the cauc library records it and retries)."""

    def __init__(self, channels: dict[str, Channel]) -> None:
        self.channels = channels

    async def send(self, channel: str, user: str, text: str) -> None:
        connector = self.channels.get(channel)
        if connector is None:
            raise PlatformError(f"channel {channel!r} is not configured", retryable=False)
        for body in connector.render(user, [plain(text)]):
            await connector.send(body)


async def notify_subscribers(settings: Settings, db: Database,
                             snapshot_date: date | None = None,
                             transport: httpx.AsyncBaseTransport | None = None
                             ) -> tuple[int, DeliveryReport]:
    """Compute the alerts of a snapshot (default: the latest) and deliver them through the
    configured channels. Each alert is sent at most once, whatever is re-run."""
    from cauc import list_snapshots

    if snapshot_date is None:
        municipal = [s for s in list_snapshots(db) if s.kind == "municipios"]
        if not municipal:
            return 0, DeliveryReport(0, 0, 0)
        snapshot_date = max(s.date for s in municipal)
    alerts = alerts_for_snapshot(db, snapshot_date, expiry_days=settings.cauc_expiry_days,
                                 share=settings.cauc_event_share)
    async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT, transport=transport) as http:
        channels: dict[str, Channel] = {}
        if settings.telegram_enabled:
            channels["telegram"] = TelegramChannel(http, settings)
        if settings.whatsapp_enabled:
            channels["whatsapp"] = WhatsAppChannel(http, settings)
        report = await deliver_alerts(db, alerts, ChannelAlertSender(channels),
                                      max_attempts=settings.channel_send_attempts,
                                      retry_delay_s=settings.channel_retry_backoff_s)
    return len(alerts), report
