"""`carebridge ...`: run the bot, manage the database.

The environment (and a `.env` file in the working directory) is read here, once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import structlog
from dotenv import find_dotenv, load_dotenv

from bot.config import ConfigError, Settings, load_settings, normalise_database_url
from bot.logs import configure_logging
from bot.progress import by_name, on_terminal, progress

if TYPE_CHECKING:
    from bot.services.context import Context

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
    demo.add_argument(
        "--lang",
        choices=("en", "it"),
        default="en",
        help="the team's language (TEAM_LANGUAGE, the agents' Slack) and the story's (en)",
    )
    commands.add_parser(
        "doctor", help="check tokens, scopes, channels, every account, database, hours"
    )
    commands.add_parser("accounts", help="the brand accounts: last poll, open conversations")
    vip = commands.add_parser("vip", help="the VIP list")
    vip_commands = vip.add_subparsers(dest="action", required=True)
    vip_import = vip_commands.add_parser("import", help="add VIPs from a CSV file: handle,note")
    vip_import.add_argument("file", help="CSV with columns handle,note (a header row is fine)")
    stats = commands.add_parser("stats", help="response times and more, from the database")
    stats.add_argument("--since", default="7d", help="today, 24h, 7d, 30d... (default 7d)")
    stats.add_argument("--csv", action="store_true", help="CSV on standard output")
    stats.add_argument("--account", help="only this account's conversations (its name)")
    faq = commands.add_parser("faq", help="the FAQ page, from the customers' questions")
    faq_commands = faq.add_subparsers(dest="action", required=True)
    export = faq_commands.add_parser("export", help="write the FAQ page (HTML or Markdown)")
    export.add_argument("--since", default="30d", help="questions since: 7d, 30d, 90d... (30d)")
    export.add_argument("--format", choices=("html", "md"), default="html")
    export.add_argument("--lang", choices=("it", "en"), default="it")
    export.add_argument("--company", default="", help="the company's name, under the heading")
    export.add_argument("--output", "-o", help="a file to write (default: standard output)")
    data = commands.add_parser(
        "export", help="conversations and messages for reporting tools (CSV or JSON Lines)"
    )
    data.add_argument("--since", default="30d", help="conversations opened since: 7d, 30d... (30d)")
    data.add_argument("--until", help="...and before: the same forms, 7d is 7 days ago (now)")
    data.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    data.add_argument("--what", choices=("conversations", "messages", "both"), default="both")
    data.add_argument(
        "--output",
        "-o",
        help="a file to write (default: standard output); CSV of both tables: "
        "PATH.conversations.csv and PATH.messages.csv",
    )
    database = commands.add_parser("db", help="database schema and data")
    database_commands = database.add_subparsers(dest="action", required=True)
    database_commands.add_parser("upgrade", help="migrate DATABASE_URL to the latest schema")
    database_commands.add_parser("current", help="show the schema revision of DATABASE_URL")
    copy = database_commands.add_parser(
        "copy-to", help="copy every row of DATABASE_URL into another, empty database"
    )
    copy.add_argument("url", help="the target, e.g. postgresql+psycopg://user@host/carebridge")
    args = parser.parse_args(argv)

    # The working directory's .env (or its parents'): python-dotenv's default searches from
    # this file's folder, which for an installed package is site-packages.
    load_dotenv(find_dotenv(usecwd=True), override=False)
    if args.command == "run" and args.sandbox:
        from bot.sandbox.run import run_sandbox

        return run_sandbox()
    if args.command == "demo":
        from bot.demo.runner import run_demo

        return run_demo(
            interactive=args.interactive, pause=0.0 if args.fast else 0.6, lang=args.lang
        )
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(os.environ)
    if args.command == "vip":
        return _vip_import(args.file)
    if args.command == "stats":
        return _stats(args.since, csv=args.csv, account=args.account)
    if args.command == "accounts":
        return _accounts()
    if args.command == "faq":
        return _faq_export(args.since, args.format, args.lang, args.company, args.output)
    if args.command == "export":
        return _export(args.since, args.until, args.format, args.what, args.output)
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
    log.info(
        "carebridge.accounts",
        accounts=[f"{a.name} ({a.network}) -> {a.slack_channel}" for a in settings.accounts],
    )
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
        target = Database(normalise_database_url(target_url))
        try:
            with progress("db.copy_progress", interactive=on_terminal()) as track:
                counts = copy_database(database, target, by_name(track))
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


def _database_settings() -> Settings | None:
    """The settings of a command that only uses the database: Slack and the networks may be
    unconfigured; what is given is still checked (None, and the problems said, if wrong)."""
    try:
        return load_settings(os.environ, require_services=False)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None


def _offline(settings: Settings) -> Context:
    """What the commands that only read or write the database need: no network is called."""
    from bot.clock import SystemClock
    from bot.networks.registry import Registry
    from bot.services.accounts import Accounts
    from bot.services.context import Context
    from bot.services.outbox import Outbox
    from storage.db import Database

    clock = SystemClock()
    database = Database(settings.database_url)
    accounts = Accounts(database, clock, [], Registry.default())
    return Context(database, Outbox(clock), clock, accounts)


def _stats(since_text: str, *, csv: bool, account: str | None) -> int:
    from rich.console import Console

    from bot.app import sla_policy
    from bot.domain.periods import parse_since
    from bot.reports.csat import csat_table
    from bot.reports.render import kpi_csv, kpi_table
    from bot.services.service_hours import ServiceHours
    from bot.services.stats import Scope, Stats

    settings = _database_settings()
    if settings is None:
        return EXIT_CONFIG
    context = _offline(settings)
    try:
        since = parse_since(since_text, context.clock.now(), settings.timezone)
    except ValueError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    names = {a.name for a in settings.accounts} | {
        a.name for a in context.accounts.stored() if a.name
    }
    if account is not None and account not in names:
        print(f"No account {account!r}: known are {', '.join(sorted(names))}", file=sys.stderr)
        return EXIT_CONFIG
    hours = ServiceHours(
        context,
        sla_policy(settings).calendar,
        {a.name: a.business_hours for a in settings.accounts if a.business_hours is not None},
    )
    stats, scope = Stats(context, hours), Scope(account=account)
    report = stats.report(since, scope=scope)
    if csv:
        sys.stdout.write(kpi_csv(report))
        return 0
    console = Console()
    console.print(kpi_table(report))
    csat = stats.csat(since, scope=scope)
    if csat.team.asked:  # nothing when no survey was asked, as in Slack
        console.print(csat_table(csat))
    return 0


def _faq_export(since_text: str, form: str, lang: str, company: str, output: str | None) -> int:
    """`carebridge faq export`: one self-contained page a company can publish."""
    from bot.domain.periods import parse_since
    from bot.reports.faq_html import faq_html
    from bot.reports.faq_markdown import faq_markdown
    from bot.services.faq import FaqBuilder

    settings = _database_settings()
    if settings is None:
        return EXIT_CONFIG
    context = _offline(settings)
    now = context.clock.now()
    try:
        since = parse_since(since_text, now, settings.timezone)
    except ValueError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    until = now.astimezone(settings.timezone)  # the page's date is the team's
    faq = FaqBuilder(context).build(since, until, lang=lang, company=company)
    page = faq_html(faq) if form == "html" else faq_markdown(faq)
    if output is None:
        sys.stdout.write(page)
    else:
        Path(output).write_text(page, encoding="utf-8")
        print(f"FAQ written to {output}: {len(faq.topics)} topics", file=sys.stderr)
    return 0


def _export(
    since_text: str, until_text: str | None, form: str, what: str, output: str | None
) -> int:
    """`carebridge export`: the conversations opened in a period and their messages, streamed
    from one consistent read; each file appears, complete, when its last row is written."""
    from bot.domain.periods import parse_since
    from bot.reports.export import csv_path, tables, write_csv, write_jsonl

    settings = _database_settings()
    if settings is None:
        return EXIT_CONFIG
    if form == "csv" and what == "both" and output is None:
        print(
            "A CSV holds one table: add --what conversations (or messages), or -o PATH to "
            "write PATH.conversations.csv and PATH.messages.csv",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    context = _offline(settings)
    now = context.clock.now()
    try:
        since = parse_since(since_text, now, settings.timezone)
        until = now if until_text is None else parse_since(until_text, now, settings.timezone)
    except ValueError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    if until <= since:
        print(
            f"Nothing to export: --until {until_text} is not after --since {since_text}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(settings.log_format, settings.secrets())
    chosen = tables(what)
    # CSV: a file per table; JSON Lines: one stream, each line says its `record`.
    if form == "jsonl":
        plan = [(output, chosen)]
    elif output is not None and len(chosen) > 1:
        plan = [(csv_path(output, table), [table]) for table in chosen]
    else:
        plan = [(output, [table]) for table in chosen]
    write = write_csv if form == "csv" else write_jsonl
    interactive = on_terminal() and not (output is None and sys.stdout.isatty())
    with (
        context.database.reading() as session,
        progress("export.progress", interactive=interactive) as track,
    ):
        for path, group in plan:
            try:
                with _written(path) as out:
                    for table in group:
                        total = table.count(session, since, until) if interactive else None
                        records = table.read(session, since, until)
                        rows = write(table, records, out, track(table.name, total))
                        if not interactive:  # on a terminal, the bar says it
                            to = path or "stdout"
                            log.info("export.written", table=table.name, rows=rows, to=to)
            except BrokenPipeError:  # `carebridge export ... | head` read enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1
            except OSError as error:
                print(f"Cannot write {path}: {error.strerror}", file=sys.stderr)
                return 1
    return 0


@contextmanager
def _written(path: str | None) -> Iterator[TextIO]:
    """Standard output, or the file at `path`: written as `path.part` and renamed at the end, so
    a reporting job never picks up half an export."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    part = f"{path}.part"
    try:
        with open(part, "w", encoding="utf-8", newline="") as file:
            yield file
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)


def _accounts() -> int:
    """`carebridge accounts`: each configured account and each stored one, with its state."""
    from rich.console import Console
    from rich.table import Table

    from storage import migrate

    settings = _database_settings()
    if settings is None:
        return EXIT_CONFIG
    context = _offline(settings)
    migrate.upgrade(context.database)
    stored = {(s.network, s.name): s for s in context.accounts.stored()}
    table = Table("account", "network", "handle", "Slack channel", "last poll", "state", "open")
    now = context.clock.now()
    for config in settings.accounts:
        row = stored.pop((config.network, config.name), None)
        last = _ago(now - row.polled_at) if row and row.polled_at else "never"
        state = "ok"
        if row is None:
            state = "not polled yet"
        elif row.failing_since is not None:
            state = f"failing since {row.failing_since:%Y-%m-%d %H:%M} UTC: {row.last_error}"
        handle = f"@{row.handle}" if row else "?"
        channel = config.slack_channel or settings.slack_channel_id
        opened = str(row.open_conversations) if row else "0"
        table.add_row(config.name, config.network, handle, channel, last, state, opened)
    for row in stored.values():  # renamed or removed from the configuration
        table.add_row(
            row.name or "(not configured)",
            row.network,
            f"@{row.handle}",
            row.slack_channel,
            _ago(now - row.polled_at) if row.polled_at else "never",
            "not configured: its conversations stay, answers cannot be sent",
            str(row.open_conversations),
        )
    Console().print(table)
    return 0


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _vip_import(path: str) -> int:
    from bot.networks.registry import Registry
    from bot.services.priority import MAX_IMPORT_BYTES, Vips
    from storage import migrate

    settings = _database_settings()
    if settings is None:
        return EXIT_CONFIG
    configure_logging(settings.log_format, settings.secrets())
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_IMPORT_BYTES + 1)
    except OSError as error:
        print(f"Cannot read {path}: {error.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    if len(raw) > MAX_IMPORT_BYTES:
        print(f"Nothing imported: {path} is larger than {MAX_IMPORT_BYTES} bytes", file=sys.stderr)
        return 1
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        print(
            f"Nothing imported: {path} is not UTF-8 text (byte {error.start}); save it as "
            "UTF-8 CSV",
            file=sys.stderr,
        )
        return 1
    context = _offline(settings)
    migrate.upgrade(context.database)
    registry = Registry.default()
    networks = [registry.get(a.network) for a in settings.accounts] or list(registry)
    vips = Vips(context, list({spec.name: spec for spec in networks}.values()))
    try:
        with progress("vip.import_progress", interactive=on_terminal(), every=1_000) as track:
            stored = by_name(track)
            count = vips.import_csv(text, "carebridge-cli", lambda n, of: stored("vips", n, of))
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
