"""The command line as an operator uses it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog

from bot.app import Carebridge
from bot.config import load_settings
from bot.logs import configure_logging
from storage import migrate
from tests.e2e.conftest import settings_env


def test_db_upgrade_migrates_and_reports_the_revision(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cb.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    head = migrate.head_revision()
    assert f"database at revision {head} (head {head})" in result.stdout


def test_the_working_directorys_env_file_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'from-dotenv.db'}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env={**env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-dotenv.db").exists()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging sets process-wide state; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


def test_logs_are_json_events_without_secrets(capsys, restore_logging) -> None:
    configure_logging("json", secrets=["xoxb-very-secret-token", "x-consumer-secret"])
    structlog.get_logger("test").info(
        "slack.request",
        token="xoxb-very-secret-token",
        detail="key x-consumer-secret used",
        other="xoxb-123-456-unknown",
    )
    logging.getLogger("slack_bolt").error("library said xoxb-very-secret-token")
    lines = capsys.readouterr().err.strip().splitlines()
    assert "secret" not in lines[-1] and "[redacted]" in lines[-1]  # stdlib loggers too
    line = lines[-2]
    event = json.loads(line)
    assert event["event"] == "slack.request"
    assert "secret" not in line and "xoxb-123" not in line
    assert event["token"] == "[redacted]"


def test_socket_mode_builds_without_a_signing_secret(slack_emulator, x_emulator, database_url):
    env = settings_env(slack_emulator, x_emulator, database_url)
    del env["SLACK_SIGNING_SECRET"]
    env["SLACK_APP_TOKEN"] = "xapp-1-A0-sandbox"
    settings = load_settings(env)
    app = Carebridge.build(settings)
    try:
        receiver = app.socket_mode()
        assert receiver.app_token == "xapp-1-A0-sandbox"
        # Listeners finish before the ack in both transports; the receiver acks after 2 s at most.
        assert settings.socket_mode and app.bolt.process_before_response is True
    finally:
        app.close()
