"""The `/care` slash command. Answers are private to whoever typed it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.templates import LANGUAGES, NoticeKind
from bot.services.registry import Services
from bot.slack.template_modal import template_modal

HELP = (
    "*Carebridge* brings your social customer care into this channel.\n"
    "• Every customer conversation is one thread; press *Claim* to own it.\n"
    "• Write in the thread to answer the customer; start with `note:` to keep it internal.\n"
    "• *Move to DM* invites a public customer to continue privately.\n"
    "• `/care oncall` shows who is on call; `/care oncall set @a @b weekly mon 09:00` sets the "
    "rotation; `/care oncall override @x 4h` puts someone on call for a while.\n"
    "• `/care stats [today|7d|30d]` shows response times and more, for you only.\n"
    "• `/care hours` shows the service hours; `/care hours set mon-fri 09:00-18:00` changes them.\n"
    "• `/care template out_of_hours it` (or `netiquette`, `en`) edits an automatic notice.\n"
    "• `/care vip add @handle note` (or `remove`, `list`) keeps the VIP list.\n"
    "• `/care customer @handle` shows a customer's recent conversations, for you only.\n"
    "• `/care link @handle @other` joins one person's accounts into one customer.\n"
    "• `/care audit <thread link>` shows who did what to a conversation.\n"
    "• `/care help` shows this message."
)
TEMPLATE_FORM = (
    f"Use: `/care template <{'|'.join(NoticeKind)}> <{'|'.join(LANGUAGES)}>`, "
    "e.g. `/care template out_of_hours it`"
)


def register(app: App, services: Services) -> None:
    @app.command("/care")
    def care(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        word, user = word.lower(), command["user_id"]
        if word in ("", "help"):
            ack(HELP)
        elif word == "oncall":
            ack(services.oncall.command(rest, user))
        elif word == "stats":
            fallback, blocks = services.stats.command(rest)
            ack(text=fallback, blocks=blocks)
        elif word == "hours":
            ack(_hours(services, rest.strip(), user))
        elif word == "vip":
            ack(services.vips.command(rest, user))
        elif word == "customer":
            fallback, blocks = services.customers.report(rest)
            ack(text=fallback, blocks=blocks)
        elif word == "link":
            ack(services.customers.link(rest, user))
        elif word == "audit":
            ack(services.conversations.audit_report(rest, services.hours.calendar.zone))
        elif word == "template":
            _template(ack, client, services, rest.split(), command.get("trigger_id", ""))
        else:
            ack(f"Unknown command `{word}`.\n\n{HELP}")


def _hours(services: Services, rest: str, user: str) -> str:
    now = services.context.clock.now()
    if not rest:
        return services.hours.describe(now)
    action, _, spec = rest.partition(" ")
    if action.lower() != "set" or not spec.strip():
        return "Use: `/care hours` or `/care hours set mon-fri 09:00-18:00; sat 09:00-13:00`"
    try:
        services.hours.set(spec, user)
    except ValueError as error:
        return f":warning: {error}. Use: `/care hours set mon-fri 09:00-18:00; sat 09:00-13:00`"
    return f"Saved. {services.hours.describe(now)}"


def _template(
    ack: Ack, client: WebClient, services: Services, words: list[str], trigger_id: str
) -> None:
    if len(words) != 2 or words[0] not in set(NoticeKind) or words[1] not in LANGUAGES:
        ack(f":warning: {TEMPLATE_FORM}")
        return
    ack()
    kind, language = NoticeKind(words[0]), words[1]
    current, is_default = services.templates.current(kind, language)
    preview = services.notices.preview(kind, language, current)
    # Opening a modal must use the trigger within 3 seconds: a direct call, not the outbox.
    client.views_open(
        trigger_id=trigger_id,
        view=template_modal(kind, language, current, preview, is_default=is_default),
    )
