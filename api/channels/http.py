"""HTTP answers shared by the webhooks, in the API's one error body shape."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from api.schemas import ErrorBody

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
