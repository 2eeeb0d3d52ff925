"""A forwarded conversation's card in the specialist team's channel (the customer, the last
messages, the owner's note, a link to the support thread, Take / Send back / Take over), the
outbox job that posts and re-renders it, and the Forward modal of a support card.

Every text a customer or a team member wrote is escaped or goes into plain_text."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.domain.model import Direction
from bot.domain.teams import TeamView
from bot.i18n import N_, _, speaking
from bot.services.accounts import Accounts
from bot.services.outbox import ForwardJob, read
from bot.services.worker import Job
from bot.slack import blocks
from bot.slack.blocks import plain_text
from bot.slack.cards import customer
from bot.slack.mrkdwn import escape, link, mention, truncate
from bot.slack.render import local_time
from storage.db import Database
from storage.models import Forward, Message

TAKE, SEND_BACK, TEAM_TAKE_OVER = "forward_take", "forward_send_back", "forward_take_over"
MODAL = "forward"
RECENT = 5  # the conversation so far: its last messages, not the whole thread
_STATUS = {  # status: (emoji, what)
    "waiting": (":hourglass_flowing_sand:", N_("Waiting for a specialist")),
    "taken": (":bust_in_silhouette:", N_("Taken by {specialist}")),
    "answered": (":speech_balloon:", N_("Answered by {specialist}: the care owner has it")),
    "sent_back": (":leftwards_arrow_with_hook:", N_("Sent back to the care team")),
    "taken_over": (":arrows_counterclockwise:", N_("{specialist} took the conversation over")),
    "closed": (":white_check_mark:", N_("The conversation is resolved")),
}


@dataclass(frozen=True)
class Said:
    who: str
    text: str
    inbound: bool


@dataclass(frozen=True)
class TeamCard:
    forward_id: int
    team: str
    status: str
    by: str
    note: str
    customer: blocks.Customer
    network_label: str
    said: tuple[Said, ...]
    thread_link: str | None
    specialist: str | None
    due: str | None  # "team target 15:30"


def team_card(card: TeamCard) -> tuple[str, blocks.Blocks]:
    who = blocks.customer_line(card.customer)
    team, by = escape(card.team), mention(card.by)
    fallback = _("Forwarded to {team} by {user}: {note}").format(
        team=team, user=by, note=escape(card.note)
    )
    forwarded = _("Forwarded to *{team}* by {user}").format(team=team, user=by)
    body: blocks.Blocks = [
        blocks.context(f":arrow_right_hook: {forwarded} · {escape(card.network_label)}"),
        blocks.section(who),
    ]
    if card.note:
        note = _("*Note:* {note}").format(note=escape(truncate(card.note, 1500)))
        body.append(blocks.section(note))
    lines = [
        f"{'*' + escape(s.who) + '*' if s.inbound else mention(s.who)}: "
        f"{escape(truncate(' '.join(s.text.split()), 300))}"
        for s in card.said
    ]
    if lines:
        body.append(blocks.section("\n".join(lines)))
    links = [link(card.thread_link, _("Support thread"))] if card.thread_link else []
    write_here = _("Write in this thread: the care owner reads it")
    body.append(blocks.context(" · ".join([*links, write_here])))
    specialist = mention(card.specialist) if card.specialist else _("a specialist")
    known = _STATUS.get(card.status)
    shown = known[0] + " " + _(known[1]) if known else card.status
    status = shown.format(specialist=specialist)
    if card.due and card.status in ("waiting", "taken"):
        status += f" · :alarm_clock: {card.due}"
    body.append(blocks.section(status))
    value = str(card.forward_id)
    buttons = []
    if card.status == "waiting":
        buttons.append(blocks.button(_("Take"), TAKE, value, style="primary"))
    if card.status in ("waiting", "taken", "answered"):
        buttons.append(blocks.button(_("Send back"), SEND_BACK, value))
        buttons.append(blocks.button(_("Take over"), TEAM_TAKE_OVER, value))
    if buttons:
        body.append({"type": "actions", "block_id": "forward", "elements": buttons})
    return fallback, body


class TeamCards:
    """The outbox job that posts or re-renders a team card, in `language` (TEAM_LANGUAGE)."""

    max_attempts = 8

    def __init__(
        self,
        database: Database,
        accounts: Accounts,
        zone: str,
        now: Callable[[], datetime],
        post: Callable[..., str],
        call: Callable[..., Any],
        update: Callable[..., Any],
        *,
        language: str | None = None,
    ) -> None:
        self.database, self.accounts, self.zone, self.now = database, accounts, zone, now
        self._post, self._call, self._update = post, call, update
        self.language = language

    def perform(self, job: Job) -> dict[str, Any]:
        with speaking(self.language), self.database.reading() as session:
            forward = _forward(session, job)
            text, body = team_card(self.view(session, forward))
            channel, ts = forward.slack_channel_id, forward.slack_ts
        if ts is None:
            return {"ts": self._post(job, channel, None, text, body)}
        self._call(self._update, channel=channel, ts=ts, text=text, blocks=body)
        return {"ts": ts}

    def view(self, session: Session, forward: Forward) -> TeamCard:
        conversation = forward.conversation
        spec = self.accounts.spec(conversation.account.network)
        recent = session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation.id,
                Message.direction.in_((Direction.INBOUND, Direction.OUTBOUND)),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(RECENT)
        )
        name = conversation.customer.name or conversation.customer.handle
        said = tuple(
            Said(
                name if m.direction == Direction.INBOUND else m.author,
                m.text,
                m.direction == Direction.INBOUND,
            )
            for m in reversed(list(recent))
        )
        due = None
        if forward.due_at is not None:
            due = _("team target {time}").format(
                time=local_time(forward.due_at, self.now(), self.zone)
            )
        return TeamCard(
            forward_id=forward.id,
            team=forward.team.name,
            status=forward.status,
            by=forward.forwarded_by,
            note=forward.note,
            customer=customer(conversation, spec),
            network_label=self.accounts.label(conversation.account.network),
            said=said,
            thread_link=conversation.slack_permalink,
            specialist=forward.specialist,
            due=due,
        )

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        forward = _forward(session, job)
        if result and forward.slack_ts is None:
            forward.slack_ts = result["ts"]

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        pass  # logged by the worker; the forward stays in the database and on the support card


def _forward(session: Session, job: Job) -> Forward:
    try:
        forward_id = read(ForwardJob, job.payload).forward_id
    except ValueError as error:
        raise PermanentError(f"not a team card: {error}") from None
    forward = session.get(Forward, forward_id)
    if forward is None:
        raise PermanentError(f"no forward {forward_id}")
    return forward


# --- the Forward modal of a support card ---------------------------------------------------------
def forward_modal(conversation_id: int, teams: Sequence[TeamView]) -> dict[str, Any]:
    if not teams:
        return {
            "type": "modal",
            "title": plain_text(_("Forward")),
            "close": plain_text(_("Close")),
            "blocks": [
                blocks.section(
                    _("No specialist teams yet: `/care teams add Billing #billing 4h` adds one.")
                )
            ],
        }
    options = [
        {"text": plain_text(truncate(f"{t.name}", 75)), "value": truncate(t.name, 75)}
        for t in teams[:100]
    ]
    return {
        "type": "modal",
        "callback_id": MODAL,
        "private_metadata": json.dumps({"conversation": conversation_id}),
        "title": plain_text(_("Forward")),
        "submit": plain_text(_("Forward")),
        "close": plain_text(_("Cancel")),
        "blocks": [
            {
                "type": "input",
                "block_id": "team",
                "label": plain_text(_("Team")),
                "element": {"type": "static_select", "action_id": "team", "options": options},
            },
            {
                "type": "input",
                "block_id": "note",
                "label": plain_text(_("Note for the team")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "note",
                    "multiline": True,
                    "max_length": 2000,
                },
            },
            blocks.context(
                _(
                    "The team gets a card with the customer and the last messages. What they "
                    "write there reaches you here as notes, never the customer: you keep answering."
                )
            ),
        ],
    }


def submitted(view: dict[str, Any]) -> tuple[int | None, str, str]:
    """(conversation id, team, note) of a submitted Forward modal."""
    values = (view.get("state") or {}).get("values") or {}
    team = ((values.get("team") or {}).get("team") or {}).get("selected_option") or {}
    note = ((values.get("note") or {}).get("note") or {}).get("value") or ""
    return (
        blocks.conversation_of(view),
        str(team.get("value") or ""),
        str(note),
    )
