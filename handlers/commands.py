"""The `/care` slash command: a table from the command's first word to the service that answers.
Answers are private to whoever typed them, rendered by `bot.slack.answers`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.domain.answers import Answer, CommandError, Usage
from bot.domain.templates import LANGUAGES, NoticeKind
from bot.i18n import speaking
from bot.services.registry import Services
from bot.slack.answers import help_text, render_answer, unknown_command
from bot.slack.mrkdwn import unescape
from bot.slack.template_modal import template_modal
from handlers import saved_replies


@dataclass(frozen=True)
class Command:
    """What one `/care` invocation carries, parsed once."""

    rest: str
    user: str
    channel: str


Handler = Callable[[Services, Command], Answer]
RunLater = Callable[[Callable[[], None]], None]


def _hours(services: Services, command: Command) -> Answer:
    """`/care hours [account]`, `/care hours set [account] <hours>`."""
    now = services.context.clock.now()
    words = command.rest.split()
    if not words:
        return services.hours.state(now)
    if words[0].lower() != "set":
        if len(words) == 1 and services.accounts.by_name(words[0]):
            return services.hours.state(now, words[0])
        return Usage("hours")
    account = words[1] if len(words) > 2 and services.accounts.by_name(words[1]) else None
    spec = " ".join(words[2:] if account else words[1:])
    if not spec:
        return Usage("hours")
    try:
        return services.hours.set(spec, command.user, account)
    except ValueError as error:
        return CommandError(str(error), usage="hours")


COMMANDS: dict[str, Handler] = {
    "oncall": lambda s, c: s.oncall.command(c.rest, c.user),
    "stats": lambda s, c: s.stats.command(c.rest, c.channel),
    "hours": _hours,
    # Slack sends `&`, `<`, `>` typed in a command as entities: a note is stored as typed.
    "vip": lambda s, c: s.vips.command(unescape(c.rest), c.user),
    "customer": lambda s, c: s.customers.report(c.rest, c.user),
    "link": lambda s, c: s.customers.link(unescape(c.rest), c.user),
    "unlink": lambda s, c: s.customers.unlink(unescape(c.rest), c.user),
    "audit": lambda s, c: s.conversations.audit_report(c.rest, s.hours.default.zone),
    "topics": lambda s, c: s.topics.command(c.rest, c.user),
    "teams": lambda s, c: s.teams.command(c.rest, c.user),
    "language": lambda s, c: s.languages.command(c.rest, c.user),
}
# Answered after the acknowledgement, through the command's response_url: a month of figures
# over 100,000 conversations takes seconds, and Slack waits three.
SLOW = {"stats"}
WORKING = "Counting… the figures follow here in a moment."
FAILED_LATER = ":warning: The figures could not be counted just now: please try again in a minute."


def register(app: App, services: Services, later: RunLater) -> None:
    @app.command("/care")
    def care(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        # Answered in the language of whoever typed it (and so is a slow answer, later).
        language = services.languages.of(str(command.get("user_id") or ""))
        with speaking(language):
            _care(ack, command, client, respond, language)

    def _care(
        ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, language: str
    ) -> None:
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("", "help"):
            ack(help_text())
            return
        if word == "replies":
            ack()
            saved_replies.open_list(client, services, command.get("trigger_id", ""))
            return
        if word == "template":
            _template(ack, client, services, rest.split(), command.get("trigger_id", ""))
            return
        handler = COMMANDS.get(word)
        if handler is None:
            fallback, _ = unknown_command(word)
            ack(fallback)
            return
        parsed = Command(rest, command["user_id"], str(command.get("channel_id") or ""))
        if word in SLOW:
            ack(WORKING)
            later(lambda: _answer_later(respond, lambda: handler(services, parsed), language))
            return
        fallback, blocks = render_answer(handler(services, parsed))
        if blocks is None:
            ack(fallback)
        else:
            ack(text=fallback, blocks=blocks)


def _answer_later(respond: Respond, make: Callable[[], Answer], language: str) -> None:
    """A slow answer; when it fails, the person is told instead of waiting for nothing (the
    failure itself is logged where it is raised again). Another thread: its own language."""
    with speaking(language):
        _answer_slowly(respond, make)


def _answer_slowly(respond: Respond, make: Callable[[], Answer]) -> None:
    try:
        answer = make()
    except Exception:
        respond(text=FAILED_LATER, response_type="ephemeral")
        raise
    _answer(respond, answer)


def _answer(respond: Respond, answer: Answer) -> None:
    fallback, blocks = render_answer(answer)
    respond(text=fallback, blocks=blocks, response_type="ephemeral")


def _template(
    ack: Ack, client: WebClient, services: Services, words: list[str], trigger_id: str
) -> None:
    if len(words) != 2 or words[0] not in set(NoticeKind) or words[1] not in LANGUAGES:
        fallback, _ = render_answer(Usage("template", "which notice, in which language"))
        ack(fallback)
        return
    ack()
    kind, language = NoticeKind(words[0]), words[1]
    current, is_default = services.templates.current(kind, language)
    preview = services.notices.preview(kind, language, current)
    limits = [
        (spec.label, spec.public_notice_room, spec.public_text_limit)
        for spec in services.templates.networks
        if spec.public_notice_room is not None
    ]
    # Opening a modal must use the trigger within 3 seconds: a direct call, not the outbox.
    client.views_open(
        trigger_id=trigger_id,
        view=template_modal(kind, language, current, preview, is_default=is_default, limits=limits),
    )
