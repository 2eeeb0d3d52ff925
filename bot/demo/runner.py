"""`carebridge demo`: the real bot, the emulators, and a morning of social care in a minute.

The bot is the one `carebridge run` builds (composition root, Bolt listeners over Socket Mode
as most teams run it, outbox, poller, SQLite in a temporary folder); only the clock is manual,
so a morning passes in seconds. The terminal shows the Slack channel as it changes and what
reached customers on X, Facebook, Instagram and WhatsApp.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import select

from bot.clock import ManualClock
from bot.demo.interactive import Repl
from bot.demo.render import ChannelView
from bot.demo.script import AGENTS, FACEBOOK_PEOPLE, LEADS, MORNING, SETTINGS, Step
from bot.domain.kpis import median
from bot.domain.model import Direction, Visibility
from bot.logs import configure_logging
from bot.networks.base import NetworkSpec
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.reports.render import human_duration
from bot.sandbox.world import CHANNEL, World, running_world
from storage.models import Conversation, Message


def run_demo(
    *,
    interactive: bool = False,
    pause: float = 0.6,
    console: Console | None = None,
    commands: Iterable[str] | None = None,
) -> int:
    console = console or Console()
    # The bot's own log lines would drown the story; warnings and errors still show.
    configure_logging("console", level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="carebridge-demo-"))
    today = datetime.now(UTC).replace(hour=8, minute=44, second=0, microsecond=0)
    clock = ManualClock(today)
    database_url = f"sqlite:///{folder / 'carebridge.db'}"
    with (
        GraphEmulator(clock=clock.timestamp) as meta,
        InstagramEmulator(clock=clock.timestamp) as instagram,
        WhatsAppEmulator(clock=clock.timestamp) as whatsapp,
        running_world(
            database_url,
            clock,
            agents=AGENTS,
            env=SETTINGS,
            meta=meta,
            instagram=instagram,
            whatsapp=whatsapp,
            transport="socket",
        ) as world,
    ):
        names = {**AGENTS, LEADS: "support-leads"}
        view = ChannelView(
            console,
            world.slack,
            world.x,
            channel=CHANNEL,
            user_names=names,
            meta=meta,
            people=FACEBOOK_PEOPLE,
            instagram=instagram,
            whatsapp=whatsapp,
        )
        console.print(_welcome(folder))
        for step in MORNING:
            _play(world, view, console, step, today)
            time.sleep(pause)  # presentation only: lets a person read along
        console.rule("The channel at the end of the morning")
        view.show_channel()
        console.print(summary(world))
        if interactive:
            Repl(world, view, console).run(commands)
    return 0


def _play(world: World, view: ChannelView, console: Console, step: Step, day: datetime) -> None:
    hours, minutes = (int(part) for part in step.at.split(":"))
    moment = day.replace(hour=hours, minute=minutes)
    console.rule(f"[bold]{step.at}[/] · {step.says}", align="left")
    if moment > world.clock.now():
        world.advance(moment - world.clock.now())  # alerts fire on the way, at their time
        world.ask_surveys()  # the scheduler's 30-second job: the surveys due by now
    private = step.act(world)
    if isinstance(private, str):
        console.print(private, style="dim italic")
    world.poll()
    world.deliver()  # Meta's webhooks: what happened on Facebook, Instagram, WhatsApp
    world.settle()
    view.show_changes()


def _welcome(folder: Path) -> Panel:
    return Panel.fit(
        "A morning of social customer care, compressed into a minute.\n"
        "Customers write on an emulated X, a Facebook Page (comments and Messenger), an "
        "Instagram account and a WhatsApp number; three agents (Anna, Bruno, Carla) work "
        "in an emulated Slack channel #support.\nThe bot between them is the real Carebridge: "
        f"its database is in {folder}.",
        title="carebridge demo",
    )


def summary(world: World) -> Table:
    """What happened, by conversation, with the figures a support lead looks at."""
    table = Table(title="This morning", title_justify="left")
    for column in (
        "customer",
        "where",
        "status",
        "owner",
        "1st answer",
        "in target",
        "in/out/note",
    ):
        table.add_column(column)
    first_responses: list[timedelta] = []
    with world.app.database.transaction() as session:
        for conversation in session.scalars(select(Conversation).order_by(Conversation.id)):
            messages = list(
                session.scalars(select(Message).filter_by(conversation_id=conversation.id))
            )
            count = {d: sum(m.direction == d for m in messages) for d in Direction}
            waited = (
                conversation.first_response_at - conversation.opened_at
                if conversation.first_response_at
                else None
            )
            if waited is not None:
                first_responses.append(waited)
            customer = conversation.customer
            spec = world.app.services.context.accounts.spec(customer.network)
            public = conversation.visibility == Visibility.PUBLIC
            table.add_row(
                f"@{customer.handle}" if customer.handle else customer.name,
                _where(spec, public),
                {"waiting_on_customer": "answered"}.get(conversation.status, conversation.status),
                AGENTS.get(conversation.assignee or "", "-"),
                human_duration(waited) if waited is not None else "not yet",
                _in_target(conversation),
                f"{count[Direction.INBOUND]}/{count[Direction.OUTBOUND]}/{count[Direction.NOTE]}",
            )
    middle = median(first_responses)
    median_text = human_duration(middle) if middle is not None else "-"
    meta = world.meta
    facebook = (
        f"{_count(len(meta.sent_comments), 'comment reply', 'comment replies')} and "
        f"{_count(len(meta.sent_messages), 'Messenger message', 'Messenger messages')} sent on "
        "Facebook · "
        if meta is not None
        else ""
    )
    others = ""
    if world.instagram is not None and world.whatsapp is not None:
        others = (
            f"{_count(len(world.instagram.sent_messages), 'Direct message', 'Direct messages')}"
            f" on Instagram · {_count(len(world.whatsapp.sent), 'message', 'messages')} on "
            "WhatsApp · "
        )
    table.caption = (
        f"median first answer {median_text} · {len(world.x.sent_tweets)} public replies and "
        f"{len(world.x.sent_dms)} DMs sent on X · {facebook}{others}"
        f"{len(world.slack.calls('chat.postMessage'))} Slack posts, paced to one per second"
    )
    return table


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _where(spec: NetworkSpec | None, public: bool) -> str:
    """ "X mention", "X DM", "Facebook comment", "Facebook Messenger"."""
    if spec is None:
        return "public" if public else "private"
    return f"{spec.label} {spec.public_name if public else spec.private_name}"


def _in_target(conversation: Conversation) -> str:
    due, answered = conversation.first_response_due_at, conversation.first_response_at
    if due is None or answered is None:
        return "-"
    return "yes" if answered <= due else "missed"
