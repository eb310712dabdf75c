"""Shared fixtures: the real knowledge, and a fast retriever over it (hash encoder)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from iara.settings import Settings, get_settings
from iara.stack import Stack
from index.card_index import CardIndex, indexed_cards
from index.chunks import knowledge_chunks
from index.encoder import HashEncoder
from index.knowledge import Knowledge, load_knowledge
from index.retriever import Retriever
from tests.standins import (
    TELEGRAM_TOKEN,
    WHATSAPP_ACCESS_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID,
    WHATSAPP_VERSION,
    channel_settings,
)
from tests.standins.server import serving
from tests.standins.telegram import TelegramStandIn
from tests.standins.whatsapp import WhatsAppStandIn


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge(get_settings().knowledge_dir)


@pytest.fixture(scope="session")
def hash_retriever(knowledge: Knowledge) -> Retriever:
    """Real chunks and real BM25; a hash encoder instead of the model (fast)."""
    return Retriever.from_chunks(HashEncoder(256), knowledge_chunks(knowledge))


@pytest.fixture(scope="session")
def hash_cards(knowledge: Knowledge, hash_retriever: Retriever) -> CardIndex:
    """The real answer cards and real BM25; a hash encoder instead of the model (fast)."""
    return CardIndex.build(HashEncoder(256), indexed_cards(knowledge),
                           analyzer=hash_retriever.sparse.analyzer if hash_retriever.sparse
                           else None)


# --- The real running stack, shared by every test module that needs it -----------------
# Ports: IARA_TEST_PORT_BASE (default 18000) -> API base, engine base-3000+5, actions
# base-3000+55 (18000/15005/15055), so two checkouts can run their suites side by side.
TEST_PORT_BASE = int(os.environ.get("IARA_TEST_PORT_BASE", "18000"))


def stack_test_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings of a test stack: test ports, fresh tracker and app databases in ``tmp``,
    the prepared model and index of this checkout."""
    base = get_settings()
    values: dict[str, object] = {
        "api_port": TEST_PORT_BASE,
        "rasa_url": f"http://127.0.0.1:{TEST_PORT_BASE - 3000 + 5}",
        "actions_url": f"http://127.0.0.1:{TEST_PORT_BASE - 3000 + 55}",
        "rasa_token": "test-token-" + uuid.uuid4().hex,
        "tracker_store_url": f"sqlite:///{tmp / 'tracker.db'}",
        "database_url": f"sqlite:///{tmp / 'iara.db'}",
        "var_dir": base.var_dir,
        "index_dir": base.index_path,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def telegram_standin() -> Iterator[TelegramStandIn]:
    """A stand-in of the Telegram Bot API on a free local port (records the calls)."""
    standin = TelegramStandIn(TELEGRAM_TOKEN)
    with serving(standin.app) as server:
        standin.url = server.url
        yield standin


@pytest.fixture(scope="session")
def whatsapp_standin() -> Iterator[WhatsAppStandIn]:
    """A stand-in of the WhatsApp Cloud API (Graph API) on a free local port."""
    standin = WhatsAppStandIn(WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID,
                              WHATSAPP_VERSION)
    with serving(standin.app) as server:
        standin.url = server.url
        yield standin


@pytest.fixture(scope="session")
def stack_overrides(telegram_standin: TelegramStandIn,
                    whatsapp_standin: WhatsAppStandIn) -> dict[str, object]:
    """Extra settings for the shared stack (e.g. the addresses of platform stand-ins);
    fixtures that need them are added here, once, for the whole session."""
    return channel_settings(telegram_standin.url, whatsapp_standin.url)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory,
          stack_overrides: dict[str, object]) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    running = Stack(stack_test_settings(tmp, **stack_overrides), log_dir=tmp / "log")
    with running:
        running.wait_healthy(timeout=600)
        running.warm_up()
        yield running


# --- The app database, on SQLite and on the project's PostgreSQL ------------------------
POSTGRES_URL = os.environ.get("IARA_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty app database: a SQLite file, or a new schema in PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'iara.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def teach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The analysts' retraining stack (tests/admin_stack.py), shared by the admin API and
    browser tests so CI trains one Rasa model for both."""
    from tests.admin_stack import teaching_stack

    with teaching_stack(tmp_path_factory.mktemp("teach")) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the retraining stack run last and together, the API loop first: it trains
    the session's one Rasa model, which the browser test's training then reuses. The full
    retraining comes after both: its model (trained with fewer epochs) is no one's to
    reuse, and the Q&A pair it adds would make the browser test train again."""
    def order(item: pytest.Item) -> int:
        if "teach" not in getattr(item, "fixturenames", ()):
            return 0
        if item.name.startswith("test_a_full_retraining"):
            return 3
        return 1 if item.nodeid.startswith("tests/test_admin_retrain_stack.py") else 2

    items.sort(key=order)  # stable: the order within each group is kept
