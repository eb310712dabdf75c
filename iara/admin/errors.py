"""Expected failures of the analysts' operations (mapped to HTTP once, in api/admin)."""

from __future__ import annotations

from index.errors import IaraError


class AdminError(IaraError):
    """Base of the admin errors; ``details`` are shown to the analyst as a list."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotAuthenticatedError(AdminError):
    status, code = 401, "unauthorized"


class CsrfError(AdminError):
    status, code = 403, "csrf_failed"


class NotFoundError(AdminError):
    status, code = 404, "not_found"


class ConflictError(AdminError):
    status, code = 409, "conflict"


class InvalidChangeError(AdminError):
    """The change would leave the knowledge invalid (``details``: file:line problems)."""

    status, code = 422, "invalid_change"
