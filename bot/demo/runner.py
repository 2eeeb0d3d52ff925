"""`carebridge demo`: the real bot, the emulators, and a morning of social care in a minute.

The bot is the one `carebridge run` builds (composition root, Bolt listeners over Socket Mode
as most teams run it, outbox, poller, SQLite in a temporary folder); only the clock is manual,
so a morning passes in seconds. The terminal shows the Slack channel as it changes and what
reached customers on X, Facebook, Instagram and WhatsApp.

`--lang it` plays it for an Italian team: the bot runs with TEAM_LANGUAGE=it and the agents'
Slack is in Italian (their private messages follow it), and the story is told in Italian.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from bot.clock import ManualClock
from bot.demo.interactive import Repl
from bot.demo.render import ChannelView
from bot.demo.script import AGENTS, FACEBOOK_PEOPLE, LEADS, MORNING, SETTINGS, Private, Step
from bot.demo.words import WORDS, counted, say
from bot.domain.kpis import median
from bot.domain.model import Direction, Status, Visibility
from bot.i18n import speaking
from bot.logs import configure_logging
from bot.networks.base import NetworkSpec
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.reports.render import human_duration
from bot.sandbox.world import CHANNEL, World, running_world
from storage.models import Conversation, Message

SLACK_LOCALES = {"it": "it-IT"}  # the agents' Slack language in `--lang it`
STATUS_WORDS = {
    Status.OPEN: "open",
    Status.WAITING_ON_CUSTOMER: "answered",
    Status.RESOLVED: "resolved",
}


def run_demo(
    *,
    interactive: bool = False,
    pause: float = 0.6,
    console: Console | None = None,
    commands: Iterable[str] | None = None,
    lang: str = "en",
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
            env={**SETTINGS, "TEAM_LANGUAGE": lang},
            meta=meta,
            instagram=instagram,
            whatsapp=whatsapp,
            transport="socket",
        ) as world,
    ):
        if lang != "en":  # as each agent set Slack's language: their private messages follow it
            for agent in AGENTS:
                world.slack.set_locale(agent, SLACK_LOCALES[lang])
        view = ChannelView(
            console,
            world.slack,
            world.x,
            channel=CHANNEL,
            user_names=names(world),
            meta=meta,
            people=FACEBOOK_PEOPLE,
            instagram=instagram,
            whatsapp=whatsapp,
            language=lang,
        )
        console.print(_welcome(folder, lang))
        for step in MORNING:
            _play(world, view, console, step, today, lang)
            time.sleep(pause)  # presentation only: lets a person read along
        console.rule(say(lang, "the end"))
        view.show_channel()
        console.print(summary(world, lang, view.user_names))
        if interactive:
            Repl(world, view, console).run(commands)
    return 0


def names(world: World) -> dict[str, str]:
    """Everyone the demo's Slack can mention, by name: the agents, the leads' group, the bot
    and the channel, so no <@U...> ever reaches the screen."""
    return {
        **AGENTS,
        LEADS: "support-leads",
        world.slack.bot_user_id: "carebridge",
        CHANNEL: "support",
    }


def _play(
    world: World, view: ChannelView, console: Console, step: Step, day: datetime, lang: str
) -> None:
    hours, minutes = (int(part) for part in step.at.split(":"))
    moment = day.replace(hour=hours, minute=minutes)
    console.rule(Text.assemble((step.at, "bold"), " · ", step.said(lang)), align="left")
    if moment > world.clock.now():
        world.advance(moment - world.clock.now())  # alerts fire on the way, at their time
        world.ask_surveys()  # the scheduler's 30-second job: the surveys due by now
    private = step.act(world)
    if isinstance(private, Private):
        view.show_private(private.user, private.text)
    world.poll()
    world.deliver()  # Meta's webhooks: what happened on Facebook, Instagram, WhatsApp
    world.settle()
    view.show_changes()


def _welcome(folder: Path, lang: str) -> Panel:
    return Panel.fit(Text(say(lang, "welcome", folder=folder)), title="carebridge demo")


def summary(world: World, lang: str = "en", user_names: Mapping[str, str] | None = None) -> Table:
    """What happened, by conversation, with the figures a support lead looks at."""
    with speaking(lang):  # durations as the product writes them, in the demo's language
        return _summary(world, lang, user_names or names(world))


def _summary(world: World, lang: str, user_names: Mapping[str, str]) -> Table:
    table = Table(title=say(lang, "this morning"), title_justify="left")
    for column in (
        "customer",
        "where",
        "status",
        "owner",
        "1st answer",
        "in target",
        "in/out/note",
    ):
        table.add_column(say(lang, column))
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
                _where(spec, public, lang),
                say(lang, STATUS_WORDS.get(conversation.status, "open")),
                user_names.get(conversation.assignee or "", conversation.assignee or "-"),
                human_duration(waited) if waited is not None else say(lang, "not yet"),
                _in_target(conversation, lang),
                f"{count[Direction.INBOUND]}/{count[Direction.OUTBOUND]}/{count[Direction.NOTE]}",
            )
    middle = median(first_responses)
    parts = [
        say(lang, "median", median=human_duration(middle) if middle is not None else "-"),
        say(lang, "on X", replies=len(world.x.sent_tweets), dms=len(world.x.sent_dms)),
    ]
    if world.meta is not None:
        comments = counted(lang, len(world.meta.sent_comments), "comment replies")
        messenger = counted(lang, len(world.meta.sent_messages), "Messenger messages")
        parts.append(say(lang, "on Facebook", comments=comments, messages=messenger))
    if world.instagram is not None and world.whatsapp is not None:
        direct = counted(lang, len(world.instagram.sent_messages), "Direct messages")
        parts.append(say(lang, "on Instagram", direct=direct))
        chats = counted(lang, len(world.whatsapp.sent), "messages")
        parts.append(say(lang, "on WhatsApp", messages=chats))
    parts.append(say(lang, "Slack posts", posts=len(world.slack.calls("chat.postMessage"))))
    table.caption = " · ".join(parts)
    return table


def _where(spec: NetworkSpec | None, public: bool, lang: str) -> str:
    """ "X mention", "X DM", "Facebook comment", "Facebook Messenger"."""
    if spec is None:
        return say(lang, "public" if public else "private")
    name = spec.public_name if public else spec.private_name
    return f"{spec.label} {say(lang, name) if name in WORDS else name}"


def _in_target(conversation: Conversation, lang: str) -> str:
    due, answered = conversation.first_response_due_at, conversation.first_response_at
    if due is None or answered is None:
        return "-"
    return say(lang, "yes" if answered <= due else "missed")
