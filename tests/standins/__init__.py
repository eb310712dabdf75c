"""Local stand-ins of the internet services Iara calls (Telegram Bot API, WhatsApp Graph
API): small real HTTP servers that record what they receive; and the test credentials the
API under test is configured with."""

from __future__ import annotations

TELEGRAM_TOKEN = "123456789:AAtestTOKENforIARAstandin_0123456789"
TELEGRAM_SECRET = "iara-test_secret-0123456789"
WHATSAPP_VERIFY_TOKEN = "iara-verify-token"
WHATSAPP_APP_SECRET = "iara-test-app-secret"
WHATSAPP_ACCESS_TOKEN = "EAAGtestACCESStoken0123456789"
WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
WHATSAPP_VERSION = "v21.0"


def channel_settings(telegram_url: str, whatsapp_url: str) -> dict[str, object]:
    """Settings that turn both channels on, pointed at the stand-ins."""
    return {
        "telegram_bot_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_url": telegram_url,
        "whatsapp_verify_token": WHATSAPP_VERIFY_TOKEN,
        "whatsapp_app_secret": WHATSAPP_APP_SECRET,
        "whatsapp_access_token": WHATSAPP_ACCESS_TOKEN,
        "whatsapp_phone_number_id": WHATSAPP_PHONE_NUMBER_ID,
        "whatsapp_graph_url": whatsapp_url,
        "whatsapp_graph_version": WHATSAPP_VERSION,
        "channel_retry_backoff_s": 0.1,
    }
