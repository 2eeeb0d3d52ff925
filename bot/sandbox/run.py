"""`carebridge run --sandbox`: the real bot against the bundled Slack and X emulators.

No Slack app, no X account: both emulators start on loopback, a customer's mention waits on the
emulated X, and the bot (the same code as `carebridge run`, in Socket Mode as most teams run it,
SQLite in a temporary folder) polls it, opens the conversation and posts the card to the
emulated Slack. Stop with Ctrl-C.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import structlog

from bot.config import load_settings
from bot.logs import configure_logging
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import sandbox_env

log = structlog.get_logger(__name__)


def run_sandbox() -> int:
    from bot.cli import run_bot

    configure_logging(os.environ.get("LOG_FORMAT") or None)
    slack = SlackEmulator(members=["UAGENT"]).start()
    x = XEmulator().start()
    x.add_user("giulia_r", "Giulia Rossi", followers=48_200, verified=True)
    x.post_tweet("giulia_r", "@acmecare il mio pacco è fermo da 5 giorni, potete aiutarmi?")
    folder = Path(tempfile.mkdtemp(prefix="carebridge-sandbox-"))
    env = sandbox_env(slack, x, f"sqlite:///{folder / 'carebridge.db'}")
    # Socket Mode, as most teams run it (the HTTP server still serves /healthz on $PORT).
    env |= {
        "X_POLL_SECONDS": "5",
        "PORT": os.environ.get("PORT", "3000"),
        "SLACK_APP_TOKEN": slack.app_token,
    }
    settings = load_settings({**env, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "")})
    log.info("sandbox.started", slack_api=slack.url, x_api=x.url, database=str(folder))
    watcher = threading.Thread(target=_show_slack, args=(slack,), daemon=True)
    watcher.start()
    try:
        return run_bot(settings)
    finally:
        slack.stop()
        x.stop()


def _show_slack(slack: SlackEmulator, interval: float = 0.5) -> None:
    """Log what the bot posts to the emulated channel, so the terminal shows the flow."""
    seen: set[str] = set()
    stop = threading.Event()
    while not stop.wait(interval):
        for message in slack.messages("CSUPPORT"):
            if message["ts"] not in seen:
                seen.add(message["ts"])
                log.info("sandbox.slack_message", channel="CSUPPORT", text=message["text"][:120])
