"""The answers of `/care` commands, as data: services return them, `bot/slack` writes them.

Unlike facts, answers are rendered at once (the command is acknowledged with them), so they may
hold any value, a KPI report or business hours included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.csat_kpis import CsatReport
from bot.domain.hours import BusinessHours
from bot.domain.kpis import KpiReport
from bot.domain.people import Elsewhere
from bot.domain.teams import TeamList, TeamStats
from bot.domain.topics import TopicProfile


@dataclass(frozen=True)
class CommandError:
    """What is wrong with what was typed, and how to type it (`usage`: a command word)."""

    message: str
    usage: str | None = None


@dataclass(frozen=True)
class Usage:
    command: str  # "vip", "hours", "customer", "link", "audit", "template", "stats"
    problem: str = ""


@dataclass(frozen=True)
class HoursNow:
    zone: str
    hours: BusinessHours
    always_open: bool
    open_now: bool
    changes_at: datetime | None  # when it closes (open now) or opens (closed now)
    now: datetime
    account: str | None = None  # the account whose own hours these are; None: the team's
    saved: bool = False


@dataclass(frozen=True)
class OnCallNow:
    user: str | None
    by_override: bool
    until: datetime | None
    next_user: str | None
    zone: str
    now: datetime


@dataclass(frozen=True)
class VipEntry:
    handle: str
    note: str
    network_label: str


@dataclass(frozen=True)
class VipList:
    entries: tuple[VipEntry, ...]


@dataclass(frozen=True)
class VipAdded:
    handle: str
    note: str


@dataclass(frozen=True)
class VipRemoved:
    handle: str
    removed: bool


@dataclass(frozen=True)
class PastConversation:
    opened_at: datetime
    status: str  # "open" | "waiting_on_customer" | "resolved"
    resolved_at: datetime | None
    resolved_by: str | None  # Slack user id
    assignee: str | None  # Slack user id
    permalink: str | None  # the Slack thread
    first_response: timedelta | None
    network_label: str  # "X"
    visibility: str  # "public" | "private"
    summary: str  # the text of the first message, as the customer wrote it
    account_handle: str = ""  # the brand account the customer wrote to


@dataclass(frozen=True)
class HistorySummary:
    """The card's history line: contacts in the last 30 days (this one included), the last."""

    contacts: int
    last: PastConversation | None
    now: datetime
    elsewhere: tuple[Elsewhere, ...] = ()  # open on another network or account


@dataclass(frozen=True)
class CustomerHistory:
    handle: str
    name: str
    past: tuple[PastConversation, ...]
    crm_url: str | None
    now: datetime
    number: str = ""  # a WhatsApp customer's phone number, in full, for a channel member


@dataclass(frozen=True)
class NoSuchCustomer:
    handles: tuple[str, ...]
    usage: str | None = None


@dataclass(frozen=True)
class Someone:
    """A customer as a command answer names them: "@giulia on X", "Giulia Rossi on Facebook",
    "Marco +39 347 ••• 4521 on WhatsApp"."""

    handle: str
    name: str
    network_label: str


@dataclass(frozen=True)
class CustomersLinked:
    first: Someone
    second: Someone


@dataclass(frozen=True)
class CustomerUnlinked:
    customer: Someone


@dataclass(frozen=True)
class NotLinked:
    customer: Someone


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str  # a Slack user id, or "carebridge"
    action: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class AuditTrail:
    handle: str
    lines: tuple[AuditLine, ...]
    zone: str
    name: str = ""


@dataclass(frozen=True)
class NotAConversation:
    pass


@dataclass(frozen=True)
class StatsReport:
    report: KpiReport
    period: str
    account: str | None = None  # the figures of one account...
    channel: str | None = None  # ... or of one support channel; both None: everything
    reads: tuple[tuple[str, int, int | None], ...] = ()  # listening: account, read, budget
    csat: CsatReport | None = None  # the satisfaction surveys asked in the same period and scope
    teams: TeamStats | None = None  # forwarded to specialist teams, when any was


@dataclass(frozen=True)
class CsatStats:
    """`/care stats csat`: the satisfaction figures, per agent, topic and network."""

    report: CsatReport
    period: str
    account: str | None = None  # as StatsReport's scope
    channel: str | None = None


@dataclass(frozen=True)
class SavedReplyUse:
    """How one saved reply was used in a period: how often, by whom, and how often the
    customer wrote again within `WROTE_AGAIN_WITHIN` of it (a sign it did not settle things)."""

    name: str
    uses: int
    by: tuple[tuple[str, int], ...]  # (Slack user, uses), most first
    wrote_again: int


@dataclass(frozen=True)
class SavedReplyStats:
    period: str
    uses: tuple[SavedReplyUse, ...]  # most used first
    answers: int  # every answer sent in the period, for the share sent with a saved reply


@dataclass(frozen=True)
class TopicFigures:
    topic: str  # "" for the conversations without one
    conversations: int
    previous: int  # in the period before, as long
    within_target: float | None  # share of those answered that were answered in time
    exchanges: float | None  # messages both ways to resolve one, on average


@dataclass(frozen=True)
class TopicStats:
    period: str
    topics: tuple[TopicFigures, ...]  # most conversations first
    growing: str | None  # the topic that grew most against the period before


@dataclass(frozen=True)
class TopicList:
    topics: tuple[TopicProfile, ...]
    changed: str = ""  # what the command just did, if anything


@dataclass(frozen=True)
class LanguageSet:
    """`/care language it`: what the person now reads Carebridge in."""

    language: str
    chosen: bool  # False: back to the Slack locale or the team's


Answer = (
    CommandError
    | Usage
    | HoursNow
    | OnCallNow
    | VipList
    | VipAdded
    | VipRemoved
    | CustomerHistory
    | NoSuchCustomer
    | CustomersLinked
    | CustomerUnlinked
    | NotLinked
    | AuditTrail
    | NotAConversation
    | StatsReport
    | CsatStats
    | SavedReplyStats
    | TopicList
    | TopicStats
    | TeamList
    | TeamStats
    | LanguageSet
)
