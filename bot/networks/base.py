"""What a social network is to Carebridge, and the one interface its adapter implements.

A `NetworkSpec` describes a network once (its label, text limits, handles, how its accounts are
configured, how it receives messages, how to build an adapter); an `AccountConfig` is one brand
account on it, as configured; a `SocialChannel` is the adapter that serves one account. Services
see only these: no service knows any network by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.clock import Clock
from bot.domain.delivery import PermanentError
from bot.domain.hours import BusinessHours
from bot.domain.model import InboundMessage, NetworkEvent, SentMessage


@dataclass(frozen=True)
class AccountIdentity:
    """The brand's own account on the network, as the network describes it."""

    external_id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Batch:
    """Part of what a fetch brought: events oldest first (customers' messages, and what else
    happened: edits, the brand's own answers...), and the cursor to keep once they are stored.
    A fetch yields several, so a backlog is stored (and resumed) page by page."""

    messages: Sequence[NetworkEvent]
    cursor: str | None


class SocialChannel(Protocol):
    """An adapter serving one brand account."""

    streams: tuple[str, ...]  # what to poll, e.g. ("mentions", "dms"); () for push networks

    def identify(self) -> AccountIdentity: ...

    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        """Messages newer than `cursor`; with no cursor yet, those since `since` (backfill).
        Raises RateLimited, CredentialsRefused, TransientError or PermanentError."""
        ...

    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage: ...

    def send_private(
        self, recipient_id: str, text: str, *, extended: bool = False, marker: str | None = None
    ) -> SentMessage:
        """A private message. `extended`: past the network's standard reply window, within its
        extended one (Messenger's HUMAN_AGENT tag). `marker`: attached where the network echoes
        it back, so Carebridge knows its own sends."""
        ...

    def complete(self, message: InboundMessage) -> InboundMessage:
        """The message with what the network can add that its webhook left out (the author's
        name from a profile lookup, cached; the author of a mention); as given when nothing can
        be added. Never raises: a profile that cannot be read is no reason to lose a message."""
        ...

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        """An earlier attempt of this very message, if it reached the network (its answer was
        lost): a retry looks here first, so nothing goes out twice."""
        ...


@runtime_checkable
class PrivateReplies(Protocol):
    """A network where the brand can answer a public message privately (Facebook's private
    reply to a comment, once per comment)."""

    def reply_privately(self, text: str, in_reply_to: str) -> SentMessage: ...


@runtime_checkable
class QuotingReplies(Protocol):
    """A network whose private messages can quote the customer's message they answer
    (WhatsApp's `context.message_id`): a chat of several questions stays readable."""

    def send_private_reply(
        self, recipient_id: str, text: str, reply_to: str, *, marker: str | None = None
    ) -> SentMessage: ...


@dataclass(frozen=True)
class Choice:
    """A button of a private message: `title` is what the customer reads and taps, `payload`
    comes back in `InboundMessage.choice` when they do."""

    payload: str
    title: str


@runtime_checkable
class OffersChoices(Protocol):
    """A network whose private messages can carry buttons answered with one tap (Messenger's
    and Instagram's quick replies, WhatsApp's interactive list): a satisfaction survey's 1 to 5.
    Where it cannot, the customer answers in words."""

    def send_choices(
        self, recipient_id: str, text: str, choices: Sequence[Choice], *, marker: str | None = None
    ) -> SentMessage:
        """`text` with one button per choice (at most 10), privately; raises as send_private."""
        ...


@runtime_checkable
class Reopening(Protocol):
    """A network where the brand can ask a customer who went quiet, past the reply window, to
    write again (WhatsApp's approved template), when the account is set up for it."""

    @property
    def can_reopen(self) -> bool: ...

    def reopen(self, recipient_id: str) -> SentMessage: ...


@dataclass(frozen=True)
class Media:
    """A customer's photo, video, voice note or document, as the network handed it over."""

    data: bytes
    mime_type: str
    filename: str


class MediaTooLarge(PermanentError):
    """The media is larger than Carebridge copies: `size` in bytes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, more than the {limit} copied into Slack")
        self.size, self.limit = size, limit


@runtime_checkable
class MediaSource(Protocol):
    """A network whose attachments nobody in Slack could open by their link (WhatsApp's media
    sit behind the access token, for five minutes): Carebridge copies them into the thread."""

    def holds(self, url: str) -> bool:
        """Whether an attachment's `url` is one of this network's media references."""
        ...

    def media(self, url: str, *, limit: int) -> Media:
        """The media behind a reference; MediaTooLarge past `limit` bytes (nothing downloaded),
        PermanentError when it is gone, TransientError when the network could not be reached."""
        ...


class ReadBatch(Protocol):
    """A page of a search: as a Batch, and the posts the network billed for reading it."""

    @property
    def messages(self) -> Sequence[NetworkEvent]: ...

    @property
    def cursor(self) -> str | None: ...

    @property
    def posts_read(self) -> int: ...


@runtime_checkable
class Listens(Protocol):
    """A network whose public posts can be searched for what people say about the brand
    (listening: X's recent search), paid per post read."""

    def search(
        self, query: str, cursor: str | None, since: datetime, *, max_posts: int | None = None
    ) -> Iterator[ReadBatch]: ...


@runtime_checkable
class Hiding(Protocol):
    """A network where the brand can hide a customer's public message from everyone else."""

    def hide(self, external_id: str, hidden: bool) -> None: ...


# --- configuration --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One per-account setting of a network: a key of an `[[accounts]]` entry in ACCOUNTS_FILE,
    and the environment variable that gives it when accounts come from the environment (or its
    default in the file)."""

    key: str
    env: str | None = None
    required: bool = False
    secret: bool = False  # never logged, never printed
    # One value for the whole app (Meta's app secret): an account of ACCOUNTS_FILE that leaves
    # it out takes the environment's.
    app_wide: bool = False
    parse: Callable[[str], Any] = str  # ValueError: the value is wrong
    expects: str = "a value"  # what a wrong value is told it should be
    default: Any = None


@dataclass(frozen=True)
class AccountConfig:
    """A brand account as configured: which network, which Slack channel, its settings."""

    name: str  # unique; shown in logs, /care commands and doctor
    network: str
    slack_channel: str
    values: Mapping[str, Any] = field(repr=False)  # parsed settings: credentials, api_url...
    business_hours: BusinessHours | None = None  # None: the team's hours
    out_of_hours_public: bool | None = None  # None: OUT_OF_HOURS_PUBLIC
    sla_first_response: timedelta | None = None  # None: SLA_FIRST_RESPONSE
    sla_next_response: timedelta | None = None  # None: SLA_NEXT_RESPONSE
    source: str = "the environment"  # or "accounts.toml:12", for messages

    def value(self, key: str) -> Any:
        return self.values.get(key)


@dataclass(frozen=True)
class Finding:
    """What a network's doctor check found about one account."""

    ok: bool
    detail: str
    fix: str = ""


# --- receiving by webhook -------------------------------------------------------------------------
class MalformedPayload(ValueError):
    """A webhook body that is not what the network sends: answered 400, nothing stored."""


@dataclass(frozen=True)
class Pushed:
    """What a webhook delivered (a customer's message, an edit, an answer the brand gave on the
    network itself...), for the brand account the network names."""

    account_external_id: str
    event: NetworkEvent


class WebhookReceiver(Protocol):
    def handshake(self, query: Mapping[str, str]) -> tuple[int, str]:
        """The answer to a GET on the webhook path (a subscription check): status and body."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the delivery is signed by the network (headers with lower-case names)."""
        ...

    def parse(self, body: bytes) -> list[Pushed]:
        """The customer messages in a verified delivery; raises MalformedPayload."""
        ...


@dataclass(frozen=True)
class Webhook:
    path: str  # e.g. "/webhooks/meta", served on $PORT
    build: Callable[[Sequence[AccountConfig]], WebhookReceiver]


# --- the network ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Handles:
    """How a network's customers are addressed by @handle."""

    pattern: re.Pattern[str]  # a valid handle, without the "@"
    max_length: int
    profile_url: Callable[[str], str]  # of a valid handle

    def valid(self, handle: str) -> bool:
        return self.pattern.fullmatch(handle) is not None


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # stored with accounts, customers and messages
    label: str  # what people call it
    settings: tuple[Setting, ...]
    build: Callable[[AccountConfig, Clock, timedelta], SocialChannel]  # account, clock, timeout
    # The longest public answer in the network's own counting; None: no limit Carebridge knows.
    public_text_limit: int | None = None
    public_length: Callable[[str], int] = len
    private_text_limit: int | None = None  # the longest private message, in characters
    public_name: str = "mention"  # what the network calls a customer's public message
    private_name: str = "DM"  # what the network calls a private message
    handles: Handles | None = None  # None: customers have no @handles
    has_followers: bool = True  # whether the network says how many followers a customer has
    # Whether the app may answer a post found by listening (one that does not address the
    # brand); X allows it only when the author mentioned or quoted the brand.
    answers_listened_posts: bool = True
    # Whether a public notice starts with "@handle " (a network that threads replies under the
    # customer's post needs no address).
    address_public_notices: bool = False
    webhook: Webhook | None = None  # push networks
    # Where a customer starts a private conversation with the brand (Move to DM); None: the
    # network has no way to invite one.
    private_message_link: Callable[[AccountIdentity], str] | None = None
    # Move to DM answers the public message privately (Facebook's private reply to a comment)
    # instead of inviting publicly with the link.
    invites_privately: bool = False
    # Private answers are allowed only this long after the customer's last private message
    # (Messenger: 24 h); None: any time. The extended window (HUMAN_AGENT: 7 days) needs the
    # account's boolean setting `extended_window_setting`.
    private_window: timedelta | None = None
    extended_private_window: timedelta | None = None
    extended_window_setting: str | None = None
    # Whether a satisfaction survey can reach the author of a public message privately (X: a
    # DM to the user, refused when their DMs are closed); Meta's private reply to a comment
    # is once per comment and meant for an answer, not a survey.
    surveys_public_authors: bool = False
    # Whether a public message of this network can be hidden by the brand (a Facebook comment).
    can_hide: bool = False
    # What to do when the network refuses an account's credentials (said in its channel).
    credentials_fix: str = "check the account's credentials"
    doctor: Callable[[AccountConfig, SocialChannel], Finding] | None = None
    # What the support channel sees of a customer's id where it is personal data (WhatsApp's
    # phone number, masked); None: the id is no one's business but Carebridge's.
    shown_id: Callable[[str], str] | None = None
    # Everything an emulator-backed sandbox needs: the settings of one account pointed at `url`.
    sandbox_values: Callable[[str], dict[str, str]] = field(default=lambda url: {})

    def public_address(self, handle: str) -> str:
        """What a public notice starts with: "@handle " where the network wants it and the
        handle is one the network could have issued; otherwise nothing."""
        if not self.address_public_notices or self.handles is None:
            return ""
        return f"@{handle} " if self.handles.valid(handle) else ""

    @property
    def public_notice_room(self) -> int | None:
        """Room for a notice's own words in a public answer, after the longest address."""
        if self.public_text_limit is None:
            return None
        address = self.handles.max_length + 2 if self.address_public_notices and self.handles else 0
        return self.public_text_limit - address

    def setting(self, key: str) -> Setting | None:
        return next((s for s in self.settings if s.key == key), None)
