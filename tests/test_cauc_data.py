"""Where the real CAUC files and the fixtures are, and fresh databases on both backends:
helpers for the test_cauc_* modules, plus the check that the real files are there.

The real files are read in place (never copied into the repository): from
IARA_CAUC_DATA_DIR, else <repo>/../shared/data/cauc, else /work/shared/data/cauc. Without
them the tests FAIL with a message, they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from iara.db import Database

# The same PostgreSQL as tests/conftest.py's database_url fixture.
POSTGRES_URL = os.environ.get("IARA_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "cauc"
LATEST = "cauc-municipios-2026-08-21.csv"
PREVIOUS = "cauc-municipios-2026-08-20.csv"
STATES = "cauc-estados-2025-11-03.csv"


def real_data_dir() -> Path:
    env = os.environ.get("IARA_CAUC_DATA_DIR")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "data" / "cauc",
                                          Path("/work/shared/data/cauc")]
    for candidate in candidates:
        if (candidate / LATEST).is_file():
            return candidate
    pytest.fail(f"The real CAUC files are missing (looked for {LATEST} in "
                f"{', '.join(map(str, candidates))}); set IARA_CAUC_DATA_DIR to their folder.")


def real(name: str) -> Path:
    return real_data_dir() / name


def fixture(name: str) -> Path:
    return FIXTURES / name


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[Database]:
    """An empty app database for a whole module: a SQLite file or a new PostgreSQL schema
    (the same as conftest's ``database_url``, which is per test)."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp / 'iara.db'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    db = Database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_the_real_files_are_there() -> None:
    folder = real_data_dir()
    municipal = sorted(folder.glob("cauc-municipios-*.csv"))
    assert len(municipal) == 14
    assert municipal[0].name == "cauc-municipios-2026-08-04.csv"
    assert municipal[-1].name == LATEST
    assert (folder / STATES).is_file()
