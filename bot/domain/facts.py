"""What happened, as the services report it: typed facts that `bot/slack` turns into messages.

A service never writes Slack markup. It states a fact ("a hold was placed", "an alert is due",
"the answer was not delivered") and the Slack side renders it, escaping every value it did not
write itself. Facts that wait in the outbox are stored as JSON (`encode`/`decode`), so they hold
only plain values: text, numbers, flags, aware datetimes and tuples of text.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


# --- in a conversation's thread -------------------------------------------------------------------
@dataclass(frozen=True)
class NetiquetteHold:
    """A customer was abusive again within the window: nothing is sent, the clock stops."""

    conversation_id: int
    handle: str
    reasons: str
    window_days: int
    name: str = ""  # the customer's, for networks without handles


@dataclass(frozen=True)
class AbuseNoted:
    """An abusive message, and what was done: `outcome` is "rules_sent", "too_old" (backfilled,
    no notice) or "no_rules_url" (NETIQUETTE_URL unset)."""

    reasons: str
    outcome: str


@dataclass(frozen=True)
class OutOfHoursNotSent:
    """Automated public replies are off, so a public message written while closed got none."""

    opens_at: datetime
    decided_at: datetime
    zone: str


@dataclass(frozen=True)
class HoldLifted:
    user: str


@dataclass(frozen=True)
class TakenOver:
    user: str
    previous: str | None


@dataclass(frozen=True)
class SentOnBehalf:
    """An answer sent for an agent without a message of theirs in the thread (Move to DM)."""

    network_label: str
    author: str
    text: str


@dataclass(frozen=True)
class NoticeSent:
    kind: str  # "out_of_hours", "netiquette"
    network_label: str
    text: str


@dataclass(frozen=True)
class AnsweredDirectly:
    """The brand answered on the network itself, not through Carebridge: it counts."""

    network_label: str
    text: str


@dataclass(frozen=True)
class CommentHidden:
    """A public message hidden (or shown again) on the network, or the attempt that failed."""

    network_label: str
    by: str | None  # a Slack user; None: Carebridge, for a second abusive comment
    hidden: bool
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class DeliveryFailed:
    handle: str
    network_label: str
    reason: str
    message_id: int
    name: str = ""


@dataclass(frozen=True)
class AnswerKept:
    """An answer past the network's reply window: kept, and sent by itself when the customer
    writes again."""

    handle: str
    network_label: str
    reason: str
    message_id: int
    name: str = ""
    can_reopen: bool = False  # the account can ask them to write again (a template)


@dataclass(frozen=True)
class SpikeAlerted:
    """Many more negative posts than usual: a possible incident (bot.domain.spikes)."""

    count: int
    usual: int
    minutes: int
    top_words: tuple[str, ...]
    verified: int
    examples: tuple[str, ...]
    on_call: str | None


@dataclass(frozen=True)
class SpikeSubsided:
    started_at: datetime
    ended_at: datetime
    peak: int
    zone: str


@dataclass(frozen=True)
class ListeningSummary:
    """A minute's posts too many for a card each (a flood): how many, how many negative, the
    words most of them use, a few links."""

    network_label: str
    query: str
    count: int
    negative: int
    top_words: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ListeningPaused:
    """An account's listening stopped for the month: the posts read reached its budget."""

    network_label: str
    account: str
    read: int
    budget: int


@dataclass(frozen=True)
class MediaNotCopied:
    """A customer's photo, voice note, video or document that is not in the thread: larger
    than Carebridge copies (`size`, `limit` in bytes), or the network would not give it."""

    kind: str  # an AttachmentKind value
    title: str
    network_label: str
    size: int = 0
    limit: int = 0
    reason: str = ""


@dataclass(frozen=True)
class ReopenAsked:
    """The customer was asked to write again past the reply window (WhatsApp's template), or
    could not be: `reason` says why."""

    network_label: str
    by: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class SurveySkipped:
    """No satisfaction survey for this conversation: `reason` is a bot.domain.surveys.Skip
    value, or "not_delivered" (the network refused it: `detail`)."""

    reason: str
    network_label: str
    cooldown_days: int = 0
    detail: str = ""


@dataclass(frozen=True)
class SurveyAnswered:
    """The customer's score; a low one calls the owner and the leads (`low`)."""

    conversation_id: int
    score: int
    comment: str
    handle: str
    name: str
    low: bool
    owner: str | None = None
    leads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Forwarded:
    """The owner (or a lead) handed the conversation to a specialist team."""

    team: str
    channel: str  # the team's
    by: str
    note: str


@dataclass(frozen=True)
class SpecialistNote:
    """A specialist wrote in the team's card thread: for the care owner, never the customer."""

    team: str
    user: str
    text: str
    owner: str | None  # the care owner, pinged


@dataclass(frozen=True)
class SentBack:
    team: str
    user: str
    owner: str | None


@dataclass(frozen=True)
class SpecialistTookOver:
    """A specialist now owns the conversation (and answers the customer), said in both channels."""

    team: str
    user: str
    previous: str | None
    thread_link: str | None = None  # where the conversation is, said in the team's channel


@dataclass(frozen=True)
class TeamTargetAlert:
    """A team's own target: due soon (`missed` False) or missed; to the team's channel, which
    is told whom it keeps waiting, and to the care owner in the support thread."""

    team: str
    missed: bool
    due_at: datetime
    decided_at: datetime
    zone: str
    owner: str | None
    specialist: str | None
    thread_link: str | None = None


@dataclass(frozen=True)
class ResponseDueSoon:
    """The warning before a response target: to the owner, else the on-call agent."""

    who: str | None
    target: str  # "first_response" | "next_response"
    due_at: datetime
    decided_at: datetime
    zone: str
    late: bool


# --- in the channel itself ------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseMissed:
    """A target was missed (`escalation`: and still unanswered a while later)."""

    escalation: bool
    target: str
    due_at: datetime
    decided_at: datetime
    zone: str
    handle: str
    thread_link: str | None
    on_call: str | None
    escalate_to: tuple[str, ...]
    late: bool
    name: str = ""


@dataclass(frozen=True)
class UrgentConversation:
    handle: str
    reasons: tuple[str, ...]
    on_call: str | None
    name: str = ""


@dataclass(frozen=True)
class OnCallHandoff:
    user: str | None
    by_override: bool
    until: datetime | None
    next_user: str | None
    decided_at: datetime
    zone: str


@dataclass(frozen=True)
class AccountFailing:
    """An account's messages have not arrived for a while (passing failures, five minutes)."""

    account: str
    network_label: str
    handle: str
    since: datetime
    reason: str


@dataclass(frozen=True)
class AccountRecovered:
    account: str
    network_label: str
    handle: str
    down_minutes: int


@dataclass(frozen=True)
class CredentialsRefused:
    """The network refused an account's credentials: said at once, with the fix."""

    account: str
    network_label: str
    reason: str
    fix: str


@dataclass(frozen=True)
class AppTokenRefused:
    """Slack refused the app-level token: in Socket Mode nothing reaches the bot from Slack."""

    reason: str


@dataclass(frozen=True)
class CredentialsWork:
    account: str
    network_label: str
    handle: str


# --- privately, to one agent ----------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why an action was not done. `reason` is one of the keys the renderer knows
    (`bot.slack.render.REFUSALS`); `detail` fills it where it needs more."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ClaimedByOther:
    owner: str
    conversation_id: int


@dataclass(frozen=True)
class KeptInternal:
    """An agent's thread message that did not go to the customer, and why (`kind` is an
    AgentMessageKind value)."""

    kind: str
    conversation_id: int
    owner: str | None = None
    length: int = 0
    limit: int | None = None
    network_label: str = ""
    text: str = ""
    private: bool = False  # too long for a private message (else for a public reply)


Fact = Union[  # noqa: UP007 - a runtime value: get_type_hints and isinstance need it
    NetiquetteHold,
    AbuseNoted,
    OutOfHoursNotSent,
    HoldLifted,
    TakenOver,
    SentOnBehalf,
    NoticeSent,
    AnsweredDirectly,
    CommentHidden,
    DeliveryFailed,
    AnswerKept,
    MediaNotCopied,
    ListeningPaused,
    ListeningSummary,
    SpikeAlerted,
    SpikeSubsided,
    ReopenAsked,
    SurveySkipped,
    SurveyAnswered,
    Forwarded,
    SpecialistNote,
    SentBack,
    SpecialistTookOver,
    TeamTargetAlert,
    ResponseDueSoon,
    ResponseMissed,
    UrgentConversation,
    OnCallHandoff,
    AccountFailing,
    AccountRecovered,
    CredentialsRefused,
    AppTokenRefused,
    CredentialsWork,
    Refusal,
    ClaimedByOther,
    KeptInternal,
]
_BY_NAME: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(Fact)}


def encode(fact: Fact) -> dict[str, JsonValue]:
    """A fact as JSON: its type's name under "fact", then its fields."""
    data: dict[str, JsonValue] = {"fact": type(fact).__name__}
    for item in dataclasses.fields(fact):
        data[item.name] = _to_json(getattr(fact, item.name))
    return data


def decode(data: dict[str, Any]) -> Fact:
    """The fact `encode` wrote; ValueError for anything else."""
    cls = _BY_NAME.get(str(data.get("fact")))
    if cls is None:
        raise ValueError(f"not a fact: {data.get('fact')!r}")
    hints = typing.get_type_hints(cls)
    try:
        values = {f.name: _from_json(data[f.name], hints[f.name]) for f in dataclasses.fields(cls)}
    except KeyError as missing:
        raise ValueError(f"{cls.__name__} without {missing}") from None
    fact: Fact = cls(**values)
    return fact


def _to_json(value: Any) -> JsonValue:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a fact cannot hold {type(value).__name__}")


def _from_json(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else ()
    if hint is datetime or datetime in options:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"naive time in a fact: {value!r}")
        return moment
    if typing.get_origin(hint) is tuple:
        return tuple(value)
    return value
