"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), a manual
clock, and the loopback emulators. No test reaches the real network: sockets to anything but
loopback fail the test."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import TRANSPORTS
from storage import migrate
from storage.db import Database

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="play the full fault-injection runs (tests/reliability): about 20 minutes each",
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures of the fault-injection runs (lost, duplicated...), passed or not."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name == "chaos" and report.when == "call":
                terminalreporter.write_sep("-", f"fault injection: {report.nodeid}")
                terminalreporter.write_line(value)


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback is a test bug: Slack and X must be the emulators."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _postgres_schema_url(worker: str) -> str:
    """One schema per xdist worker, so parallel workers never see each other's rows."""
    base = make_url(postgres_url() or "")
    schema = f"carebridge_test_{worker}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as error:  # no server: this run is SQLite-only, say so once
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {error}")
    finally:
        admin.dispose()
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """Run the Alembic migrations once per worker; tests then start from a copy or a truncate."""
    if postgres_url():
        url = _postgres_schema_url(worker_id)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'carebridge.db'}"
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    return url


@pytest.fixture
def database_url(_migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if postgres_url():
        database = Database(_migrated_template)
        tables = ", ".join(t.name for t in reversed(_tables()) if t.name != "alembic_version")
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        database.dispose()
        yield _migrated_template
        return
    source = Path(make_url(_migrated_template).database or "")
    target = tmp_path / "carebridge.db"
    target.write_bytes(source.read_bytes())
    yield f"sqlite:///{target}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def _tables() -> list:
    from storage.models import Base

    return list(Base.metadata.sorted_tables)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """How Slack reaches the bot: every Slack-facing flow runs over HTTP and over Socket Mode."""
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def slack_emulator(clock: ManualClock) -> Iterator[SlackEmulator]:
    with SlackEmulator(clock=clock.timestamp, members=["UANNA", "UBRUNO", "UCARLA"]) as emulator:
        yield emulator


@pytest.fixture
def x_emulator(clock: ManualClock) -> Iterator[XEmulator]:
    with XEmulator(clock=clock.timestamp) as emulator:
        yield emulator
