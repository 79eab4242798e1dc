"""The `synchronous` setting: what each level asks of the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from orchestra.checkpoint import SQLCheckpointer


@pytest.mark.parametrize(("level", "pragma"), [("NORMAL", 1), ("FULL", 2)])
def test_sqlite_connections_use_wal_and_the_chosen_synchronous_level(
    tmp_path: Path, level: str, pragma: int
) -> None:
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'd.db'}", synchronous=level) as saver:  # type: ignore[arg-type]
        saver.setup()
        with saver.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == pragma
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30_000


@pytest.mark.parametrize(("level", "setting"), [("NORMAL", "off"), ("FULL", "on")])
def test_postgres_normal_commits_asynchronously_and_full_waits_for_the_disk(
    postgres_url: str, level: str, setting: str
) -> None:
    with (
        SQLCheckpointer(postgres_url, synchronous=level) as saver,  # type: ignore[arg-type]
        saver.engine.connect() as conn,
    ):
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == setting


def test_an_unknown_synchronous_level_is_rejected(db_url: str) -> None:
    with pytest.raises(ValueError, match="not a durability level"):
        SQLCheckpointer(db_url, synchronous="SOMETIMES")  # type: ignore[arg-type]
