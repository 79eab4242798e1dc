"""Fixtures that give each checkpointer test a fresh database on every back-end.

SQLite is a real file in `tmp_path`. PostgreSQL is the server named by
`ORCHESTRA_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts one), with a new
database per test. Without that variable the PostgreSQL cases skip, unless
`ORCHESTRA_REQUIRE_POSTGRES=1` (set by CI) makes a missing server a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from orchestra.checkpoint import SQLCheckpointer

BACKENDS = ("sqlite", "postgres")


def postgres_admin_url() -> str | None:
    url = os.environ.get("ORCHESTRA_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("ORCHESTRA_REQUIRE_POSTGRES") == "1":
        pytest.fail(
            "ORCHESTRA_REQUIRE_POSTGRES=1 but ORCHESTRA_TEST_POSTGRES_URL is unset: "
            "start a server with `source .ci/postgres.sh`"
        )
    return None


def _psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database, dropped after the test."""
    import psycopg

    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("no PostgreSQL: set ORCHESTRA_TEST_POSTGRES_URL (see .ci/postgres.sh)")
    name = f"orchestra_test_{uuid.uuid4().hex[:16]}"
    try:
        conn = psycopg.connect(_psycopg_dsn(admin), autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("ORCHESTRA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at ORCHESTRA_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    with conn:
        # Identifier built from hex only, so quoting it is enough.
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_psycopg_dsn(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pgbouncer_url(postgres_url: str) -> str:
    """The fresh database of `postgres_url`, reached through pgbouncer in transaction mode."""
    bouncer = os.environ.get("ORCHESTRA_TEST_PGBOUNCER_URL")
    if not bouncer:
        if os.environ.get("ORCHESTRA_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "ORCHESTRA_TEST_PGBOUNCER_URL is unset: `source .ci/postgres.sh` starts one"
            )
        pytest.skip("no pgbouncer: set ORCHESTRA_TEST_PGBOUNCER_URL (see .ci/postgres.sh)")
    database = make_url(postgres_url).database
    return make_url(bouncer).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once per back-end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'checkpoints.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def saver(db_url: str) -> Iterator[SQLCheckpointer]:
    """A saver on a fresh database of each back-end, closed after the test."""
    with SQLCheckpointer(db_url) as opened:
        yield opened
