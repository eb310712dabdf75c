"""Sending one outbound message to a platform: recorded in ``Delivery``, never sent twice,
retried a bounded number of times with exponential backoff when the platform could not
be reached or asked us to slow down.

Retry policy. Retried: connection failures (the request never left), HTTP 429 (after the
platform's ``retry_after`` when it gives one) and 5xx. Not retried: other 4xx (the
request itself is wrong, e.g. the person blocked the bot) and a request sent without an
answer (read timeout): the platform may have delivered it, and a second copy is worse
than a missing one. Either way the row ends ``sent`` or ``failed`` with its attempts and
last error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from api.channels import store
from iara.db import Database

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 60.0


class PlatformError(Exception):
    """A platform call that failed; ``retryable`` says whether trying again is safe."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def transport_error(exc: httpx.HTTPError) -> PlatformError:
    """A platform call that got no HTTP answer, classified for the retry policy."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if never_sent:
        return PlatformError(f"platform unreachable: {exc!r}", retryable=True)
    return PlatformError(f"no answer from the platform (it may have delivered the message; "
                         f"not retried to avoid a duplicate): {exc!r}", retryable=False)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 1.0

    def wait(self, attempt: int, error: PlatformError) -> float:
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER_S)
        return self.backoff_s * 2 ** (attempt - 1)


async def deliver(db: Database, policy: RetryPolicy, *, key: str, platform: str,
                  recipient: str, body: dict[str, Any],
                  send: Callable[[dict[str, Any]], Awaitable[Any]]) -> bool:
    """Send ``body`` once under ``key``; True when it is (or already was) sent."""
    state = await asyncio.to_thread(store.open_delivery, db, key, platform, recipient, body)
    if state.status == "sent":
        logger.info("delivery %s already sent; not sending again", key)
        return True
    if state.status == "failed":
        logger.info("delivery %s already failed after %d attempts", key, state.attempts)
        return False
    attempt = 0
    while True:
        attempt += 1
        try:
            await send(body)
        except PlatformError as exc:
            final = not exc.retryable or attempt >= policy.attempts
            total = await asyncio.to_thread(store.record_attempt, db, key, error=str(exc),
                                            final=final)
            if final:
                logger.warning("delivery %s failed after %d attempt(s): %s", key, total, exc)
                return False
            wait = policy.wait(attempt, exc)
            logger.info("delivery %s attempt %d failed (%s); retrying in %.1fs", key,
                        attempt, exc, wait)
            await asyncio.sleep(wait)
            continue
        await asyncio.to_thread(store.record_attempt, db, key, error=None, final=True)
        return True
