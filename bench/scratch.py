"""A scratch PostgreSQL schema for a benchmark: made fresh, dropped afterwards, so a benchmark
given a shared database (`--database-url`) never touches anything of anyone else's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import normalise_database_url


@contextmanager
def postgres_schema(given: str, name: str) -> Iterator[tuple[str, str]]:
    """A new schema `<name>_<pid>` of the PostgreSQL database `given`: yields the URL whose
    connections use it, and a label naming the server's version and the schema."""
    base = make_url(normalise_database_url(given))
    if base.get_backend_name() != "postgresql":
        raise SystemExit(f"--database-url: PostgreSQL only, not {base.get_backend_name()}")
    schema = f"{name}_{os.getpid()}"
    admin = create_engine(base)

    def execute(statement: str) -> None:
        with admin.begin() as connection:
            connection.execute(text(statement))

    execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    execute(f"CREATE SCHEMA {schema}")
    try:
        with admin.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar())
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False), f"PostgreSQL {version} (schema {schema})"
    finally:
        execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()
