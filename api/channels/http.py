"""HTTP answers shared by the webhooks, in the API's one error body shape."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api.channels.common import Inbound
from api.schemas import ErrorBody

logger = logging.getLogger(__name__)

INVALID_JSON = "O corpo da requisição não é um JSON válido."


def channel_error(status: int, code: str, message: str) -> JSONResponse:
    """The API's error body (``{"error", "message", "details"}``) for a webhook."""
    body = ErrorBody(error=code, message=message, details=[])
    return JSONResponse(status_code=status, content=body.model_dump())


def invalid_json() -> JSONResponse:
    return channel_error(400, "invalid_json", INVALID_JSON)


def accepted() -> JSONResponse:
    """What a webhook answers once the update is recorded (or knowingly ignored)."""
    return JSONResponse({"ok": True})


async def accept_body(request: Request, body: bytes, platform: str,
                      parse: Callable[[Any], list[Inbound]]) -> JSONResponse:
    """The common tail of a verified webhook: decode the JSON body, turn it into inbound
    messages, hand them to the channel runtime (which drops retries) and acknowledge."""
    try:
        payload = json.loads(body)
    except ValueError:
        return invalid_json()
    inbounds = parse(payload)
    if not inbounds:
        logger.debug("%s update ignored (nothing to answer)", platform)
        return accepted()
    runtime = request.app.state.channels
    await runtime.accept(runtime.channels[platform], inbounds)
    return accepted()
