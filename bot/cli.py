"""`carebridge ...`: run the bot, manage the database.

The environment (and a `.env` file in the working directory) is read here, once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

import structlog
from dotenv import load_dotenv

from bot.config import ConfigError, Settings, load_settings, normalise_database_url
from bot.logs import configure_logging

log = structlog.get_logger(__name__)
EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carebridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (Socket Mode or HTTP mode)")
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the bundled Slack and X emulators: no accounts needed",
    )
    database = commands.add_parser("db", help="database schema")
    database.add_argument("action", choices=["upgrade", "current"])
    args = parser.parse_args(argv)

    load_dotenv(override=False)
    if args.command == "run" and args.sandbox:
        from bot.sandbox.run import run_sandbox

        return run_sandbox()
    if args.command == "db":
        return _db(args.action)
    try:
        settings = load_settings(os.environ)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    return run_bot(settings)


def run_bot(settings: Settings) -> int:
    from bot.app import Carebridge

    configure_logging(settings.log_format, settings.secrets())
    app = Carebridge.build(settings)
    stop = threading.Event()
    scheduler = app.start_background(stop)

    def shut_down(signum: int, _frame: object) -> None:
        log.info("carebridge.stopping", signal=signal.Signals(signum).name)
        stop.set()
        scheduler.shutdown(wait=False)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, shut_down)
    log.info("carebridge.started", channel=settings.slack_channel_id, database=_safe_url(settings))
    try:
        app.serve()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        app.close()
    return 0


def _db(action: str) -> int:
    from storage import migrate
    from storage.db import Database

    configure_logging(os.environ.get("LOG_FORMAT") or None)
    url = normalise_database_url(os.environ.get("DATABASE_URL") or "sqlite:///carebridge.db")
    database = Database(url)
    if action == "upgrade":
        migrate.upgrade(database)
    current, head = migrate.current_revision(database), migrate.head_revision()
    print(f"database at revision {current} (head {head})")
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
