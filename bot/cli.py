"""`carebridge ...`: run the bot, manage the database.

The environment (and a `.env` file in the working directory) is read here, once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
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
    demo = commands.add_parser(
        "demo", help="watch the real bot handle a scripted morning, against bundled emulators"
    )
    demo.add_argument(
        "--interactive", action="store_true", help="then act as an agent or a customer yourself"
    )
    demo.add_argument("--fast", action="store_true", help="no pauses between the moments")
    commands.add_parser("doctor", help="check tokens, scopes, channel, X, database, hours")
    vip = commands.add_parser("vip", help="the VIP list")
    vip_commands = vip.add_subparsers(dest="action", required=True)
    vip_import = vip_commands.add_parser("import", help="add VIPs from a CSV file: handle,note")
    vip_import.add_argument("file", help="CSV with columns handle,note (a header row is fine)")
    stats = commands.add_parser("stats", help="response times and more, from the database")
    stats.add_argument("--since", default="7d", help="today, 24h, 7d, 30d... (default 7d)")
    stats.add_argument("--csv", action="store_true", help="CSV on standard output")
    database = commands.add_parser("db", help="database schema and data")
    database_commands = database.add_subparsers(dest="action", required=True)
    database_commands.add_parser("upgrade", help="migrate DATABASE_URL to the latest schema")
    database_commands.add_parser("current", help="show the schema revision of DATABASE_URL")
    copy = database_commands.add_parser(
        "copy-to", help="copy every row of DATABASE_URL into another, empty database"
    )
    copy.add_argument("url", help="the target, e.g. postgresql+psycopg://user@host/carebridge")
    args = parser.parse_args(argv)

    load_dotenv(override=False)
    if args.command == "run" and args.sandbox:
        from bot.sandbox.run import run_sandbox

        return run_sandbox()
    if args.command == "demo":
        from bot.demo.runner import run_demo

        return run_demo(interactive=args.interactive, pause=0.0 if args.fast else 0.6)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(os.environ)
    if args.command == "vip":
        return _vip_import(args.file)
    if args.command == "stats":
        return _stats(args.since, csv=args.csv)
    if args.command == "db":
        return _db(args.action, getattr(args, "url", None))
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
    background = app.start_background()

    def shut_down(signum: int, _frame: object) -> None:
        # Stop taking Slack requests (this ends serve()); the finally below lets the job in
        # hand finish, up to 10 seconds.
        log.info("carebridge.stopping", signal=signal.Signals(signum).name)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, shut_down)
    log.info("carebridge.started", channel=settings.slack_channel_id, database=_safe_url(settings))
    try:
        app.serve()
    except KeyboardInterrupt:
        pass
    finally:
        finished = background.stop(timeout=10.0)
        app.close()
        log.info("carebridge.stopped", finished_in_time=finished)
    return 0


def _db(action: str, target_url: str | None) -> int:
    from storage import migrate
    from storage.copy import CopyError, copy_database
    from storage.db import Database

    configure_logging(os.environ.get("LOG_FORMAT") or None)
    url = normalise_database_url(os.environ.get("DATABASE_URL") or "sqlite:///carebridge.db")
    database = Database(url)
    if action == "copy-to" and target_url:
        try:
            counts = copy_database(database, Database(normalise_database_url(target_url)))
        except CopyError as error:
            print(f"Nothing copied: {error}", file=sys.stderr)
            return 1
        print("copied " + ", ".join(f"{n} {table}" for table, n in counts.items()))
        return 0
    if action == "upgrade":
        migrate.upgrade(database)
    current, head = migrate.current_revision(database), migrate.head_revision()
    print(f"database at revision {current} (head {head})")
    return 0


def _stats(since_text: str, *, csv: bool) -> int:
    from rich.console import Console

    from bot.app import sla_policy
    from bot.clock import SystemClock
    from bot.reports.render import kpi_csv, kpi_table, parse_since
    from bot.services.context import Context
    from bot.services.effects import Effects
    from bot.services.stats import Stats
    from storage.db import Database

    try:
        settings = load_settings(os.environ, require_services=False)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    clock = SystemClock()
    try:
        since = parse_since(since_text, clock.now(), settings.timezone)
    except ValueError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    database = Database(settings.database_url)
    context = Context(database, Effects(clock), clock, channels={})
    calendar = sla_policy(settings).calendar
    report = Stats(context, lambda: calendar, settings.slack_channel_id).report(since)
    if csv:
        sys.stdout.write(kpi_csv(report))
    else:
        Console().print(kpi_table(report))
    return 0


def _vip_import(path: str) -> int:
    from bot.clock import SystemClock
    from bot.services.context import Context
    from bot.services.effects import Effects
    from bot.services.priority import Vips
    from storage import migrate
    from storage.db import Database

    try:
        settings = load_settings(os.environ, require_services=False)
        text = open(path, encoding="utf-8").read()  # noqa: SIM115 - read whole, small file
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except OSError as error:
        print(f"Cannot read {path}: {error.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    database = Database(settings.database_url)
    migrate.upgrade(database)
    clock = SystemClock()
    vips = Vips(Context(database, Effects(clock), clock, channels={}))
    try:
        count = vips.import_csv(text, "carebridge-cli")
    except ValueError as error:
        print(f"Nothing imported: {error}", file=sys.stderr)
        return 1
    print(f"imported {count} VIPs")
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
