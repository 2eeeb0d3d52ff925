"""A loopback emulator of graph.facebook.com for a Facebook Page, and of the webhooks Meta sends.

It keeps Pages, Messenger users, posts, comments and Messenger threads in memory and answers
the Graph API routes Carebridge uses the way Meta does (shapes checked against
`shared/fixtures/meta/`): any `/vNN.N` prefix (or none), the Page token as a Bearer header or an
`access_token` parameter, `fields` selection with nesting (`parent{id}`,
`messages.limit(10){id,message}`), `id` in every node, Graph error bodies (`message`, `type`,
`code`, `error_subcode`, `fbtrace_id`) with HTTP 400 (403 for the request-limit errors), and the
Send API's `{"recipient_id", "message_id"}`.

Meta's rules are enforced by the emulator's clock: Messenger `RESPONSE` only within 24 hours of
the customer's last message to the Page, `MESSAGE_TAG` + `HUMAN_AGENT` within 7 days and only for
a Page `approve_human_agent()`ed, one private reply per comment within 7 days of it, 2,000
characters of Messenger text and 8,000 of a comment, at most 13 quick replies (a text one with a
title and a payload of up to 1,000 characters; a title past 20 characters is taken and cut on
screen, as Meta does). Where Meta's exact wording of a refusal is not known, the code is Meta's
and the message says as much as Meta would ("wording not confirmed" below).

Customers act with `comment`, `edit_comment`, `remove_comment`, `mention`, `message`,
`tap_quick_reply`, `edit_message`, `react`, `unreact` and `delete_message`; the Page answers
outside Carebridge with `page_replies_directly` and `page_messages_directly`. Each action queues
the webhook deliveries Meta would send, and so do the Page's own answers through the API (a
`feed` comment from the Page, a `message_echoes` echo with the app's id and the metadata given;
whether Meta's echo repeats a message's quick replies is not confirmed, and this one does not).
`deliver()` POSTs them signed as Meta signs, retrying what does not get a 200.

Route keys (what `inject()`, `rate_limit()` and `calls()` take) are in `ROUTE_KEYS`.

Simplifications: a user has one id, used both on comments and in Messenger (Meta gives a person
a different id per Page and per product); nothing is paged past the first page of an edge
except comments (`after`); the app subscribed to a Page is the emulator's one app.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import requests

from bot.networks.meta.webhook_sender import (
    Delivery,
    WebhookSender,
    encode,
)
from bot.sandbox.loopback import Fault, LoopbackServer, Reply, Request

# The default Page and the app's secrets: the settings of the bot's sandbox account (the keys
# are the Facebook spec's setting keys; add "graph_url": emulator.graph_url).
SANDBOX_PAGE: Mapping[str, str] = MappingProxyType(
    {
        "page_id": "1000000000000001",
        "page_access_token": "sandbox-page-token",
        "app_secret": "sandbox-app-secret",
        "verify_token": "sandbox-verify-token",
    }
)
SANDBOX_PAGE_NAME = "Acme Italia"
SANDBOX_PAGE_USERNAME = "acmeitalia"
GRAPH_VERSION = "v25.0"
APP_ID = 1230000000000001  # echoes carry it as a number, as Meta's do
INBOX_APP_ID = 263902037430900  # Meta's own Page inbox: the echo of an answer written there
APP_NAME = "Carebridge"

MESSENGER_WINDOW = 24 * 3600
HUMAN_AGENT_WINDOW = 7 * 24 * 3600
PRIVATE_REPLY_WINDOW = 7 * 24 * 3600
MESSENGER_TEXT_LIMIT = 2_000
COMMENT_TEXT_LIMIT = 8_000
METADATA_LIMIT = 1_000
MOST_QUICK_REPLIES = 13
QUICK_REPLY_PAYLOAD_LIMIT = 1_000
QUICK_REPLY_KINDS = ("text", "user_phone_number", "user_email")
RATE_LIMIT_CODES = (4, 17, 32, 613, 80001)
# What a Page is subscribed to and granted unless a test says otherwise: all that `carebridge
# doctor` checks (the emulator's tests compare these with the doctor's lists).
SUBSCRIBED_FIELDS = (
    "feed", "messages", "message_echoes", "message_edits", "message_reactions", "mention",
)  # fmt: skip
PERMISSIONS = (
    "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
    "pages_read_user_content", "pages_manage_engagement",
)  # fmt: skip

ROUTE_KEYS = (
    "GET /{page-id}",  # also /me
    "GET /{user-id}",  # a Messenger user's profile
    "GET /{comment-id}",
    "GET /{post-id}",
    "GET /{object-id}/comments",
    "POST /{object-id}/comments",
    "POST /{comment-id}",  # is_hidden
    "POST /{page-id}/messages",  # the Send API, private replies included
    "GET /{page-id}/conversations",
    "GET /{page-id}/subscribed_apps",
    "GET /me/permissions",
)

_VERSION = re.compile(r"^/v[0-9]+\.[0-9]+(?=/|$)")
_NUMBER = re.compile(r"[0-9]+")
_COMPOUND = re.compile(r"([0-9]+)_([0-9]+)")
_FIRST_NUMBER = 100_000_000_000_001  # object numbers look like Meta's, and grow
_TRACE_IDS = itertools.count(1)

_RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: (
        "(#80001) There have been too many calls to this Page account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    ),
}
_REVOKED_MESSAGES = {
    458: f"Error validating access token: The user has not authorized application {APP_ID}.",
    460: (
        "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons."
    ),
    463: "Error validating access token: Session has expired.",
}
_OUTSIDE_WINDOW = (
    "(#10) This message is sent outside of allowed window. Learn more about the new policy "
    "here: https://developers.facebook.com/docs/messenger-platform/policy-overview"
)
# Meta names the reaction of the emoji a person picked; anything else is "other".
_REACTIONS = {
    "😆": "smile",
    "😄": "smile",
    "😠": "angry",
    "😢": "sad",
    "😮": "wow",
    "❤": "love",
    "❤️": "love",
    "😍": "love",
    "👍": "like",
}


# --- Graph errors ---------------------------------------------------------------------------------
def graph_error_body(
    message: str,
    code: int,
    *,
    type_: str = "OAuthException",
    subcode: int | None = None,
    is_transient: bool | None = None,
) -> dict[str, Any]:
    """A Graph API error body, as Meta writes them."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    error["fbtrace_id"] = _trace_id()
    return {"error": error}


def graph_fault(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    headers: Mapping[str, str] | None = None,
    after: bool = False,
) -> Fault:
    """A fault answering with a Graph error body (for `inject()`)."""
    body = graph_error_body(message, code, subcode=subcode)
    return Fault(status=status, body=body, headers=dict(headers or {}), after=after)


def _trace_id() -> str:
    digest = hashlib.sha1(str(next(_TRACE_IDS)).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:23]


class _Refused(Exception):
    """A Graph error raised from deep inside a handler; `handle()` answers it."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _refuse(
    message: str, code: int, *, status: int = 400, subcode: int | None = None, **extra: Any
) -> _Refused:
    return _Refused(Reply(status, graph_error_body(message, code, subcode=subcode, **extra)))


def _unsupported(method: str, node: str) -> _Refused:
    # Meta's answer for a node that does not exist or that the token may not see.
    return _refuse(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        type_="GraphMethodException",
    )


def _invalid(message: str) -> _Refused:
    return _refuse(f"(#100) {message}", 100)


# --- state ----------------------------------------------------------------------------------------
@dataclass
class _Page:
    id: str
    name: str
    token: str
    username: str | None
    human_agent: bool = False
    subscribed_fields: list[str] = field(default_factory=lambda: list(SUBSCRIBED_FIELDS))
    permissions: dict[str, str] = field(default_factory=lambda: {p: "granted" for p in PERMISSIONS})


@dataclass
class _User:
    id: str
    first_name: str
    last_name: str
    profile: bool  # False: the profile lookup fails, as for people who restrict it
    available: bool = True  # False: Messenger says "This person isn't available right now"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class _Post:
    id: str
    owner_id: str  # a Page, or a user (a post of theirs mentioning a Page)
    message: str
    created: float


@dataclass
class _Comment:
    id: str
    post_id: str
    parent_id: str  # the post, or the top-level comment this one answers
    from_id: str
    from_name: str
    message: str
    created: float
    shape: str  # "from" or "sender": how its webhooks name the writer
    mentions: str | None = None  # the Page a mention names
    hidden: bool = False
    removed: bool = False
    private_reply: str | None = None  # the message id of its one private reply


@dataclass
class _Message:
    mid: str
    page_id: str
    user_id: str
    from_page: bool
    text: str
    created: float
    seq: int
    attachments: list[dict[str, Any]] = field(default_factory=list)
    metadata: str | None = None
    edits: int = 0
    deleted: bool = False
    quick_replies: list[dict[str, Any]] = field(default_factory=list)  # until one is tapped


@dataclass
class _Thread:
    id: str
    page_id: str
    user_id: str
    messages: list[_Message] = field(default_factory=list)
    customer_wrote_at: float | None = None  # the start of Messenger's reply windows


@dataclass(frozen=True)
class _Field:
    """One item of a `fields` parameter: `name.limit(n){sub,fields}`."""

    name: str
    limit: int | None = None
    fields: tuple[_Field, ...] | None = None


_THREAD_DEFAULT = (_Field("id"), _Field("updated_time"))  # a conversation's default fields


# --- webhook deliveries ---------------------------------------------------------------------------
# --- the emulator ---------------------------------------------------------------------------------
class GraphEmulator(LoopbackServer):
    """graph.facebook.com on 127.0.0.1; the Page whose token comes with a request is its caller."""

    name = "graph"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        app_secret: str = SANDBOX_PAGE["app_secret"],
        delivery_attempts: int = 3,
        retry_pause: float = 0.0,
    ) -> None:
        super().__init__(clock=clock)
        self.app_secret = app_secret
        self.webhooks = WebhookSender(
            app_secret,
            SANDBOX_PAGE["verify_token"],
            attempts=delivery_attempts,
            pause=retry_pause,
        )
        self._numbers = itertools.count(_FIRST_NUMBER)
        self._seq = itertools.count(1)
        self._pages: dict[str, _Page] = {}
        self._tokens: dict[str, str] = {}  # token -> page id
        self._revoked: dict[str, int] = {}  # token -> error subcode
        self._users: dict[str, _User] = {}
        self._posts: dict[str, _Post] = {}
        self._comments: dict[str, _Comment] = {}  # insertion order is creation order
        self._threads: dict[tuple[str, str], _Thread] = {}
        self._messages: dict[str, _Message] = {}
        self._default_posts: dict[str, str] = {}  # page id -> the post comments go under
        self._sent_comments: list[dict[str, Any]] = []
        self._sent_messages: list[dict[str, Any]] = []
        self._private_replies: list[dict[str, Any]] = []
        self._hidden: dict[str, bool] = {}
        self._pending: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self._rate_limits: dict[str, deque[tuple[int, int | None]]] = {}
        self.page_id = SANDBOX_PAGE["page_id"]  # the default Page
        self.add_page(
            self.page_id,
            SANDBOX_PAGE_NAME,
            SANDBOX_PAGE["page_access_token"],
            username=SANDBOX_PAGE_USERNAME,
        )

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def graph_url(self) -> str:
        """What META_GRAPH_URL is set to for the emulator: its URL with a version."""
        return f"{self.base_url}/{GRAPH_VERSION}"

    # --- set-up --------------------------------------------------------------------------------
    def add_page(self, page_id: str, name: str, token: str, *, username: str | None = None) -> None:
        with self._lock:
            if page_id in self._pages or token in self._tokens:
                raise ValueError(f"page {page_id} or its token exists already")
            if not _NUMBER.fullmatch(page_id):
                raise ValueError(f"Page ids are digits, not {page_id!r}")
            self._pages[page_id] = _Page(page_id, name, token, username)
            self._tokens[token] = page_id

    def add_user(
        self, psid: str, first_name: str, last_name: str = "", *, profile: bool = True
    ) -> None:
        with self._lock:
            if psid in self._users or psid in self._pages:
                raise ValueError(f"id {psid} is taken")
            if not _NUMBER.fullmatch(psid):
                raise ValueError(f"user ids are digits, not {psid!r}")
            self._users[psid] = _User(psid, first_name, last_name, profile)

    def add_post(self, text: str, *, page: str | None = None) -> str:
        """A post of the Page (default: the default Page); returns its id "<page id>_<n>"."""
        with self._lock:
            owner = self._page(page).id
            post = _Post(f"{owner}_{self._number()}", owner, text, self.clock())
            self._posts[post.id] = post
            return post.id

    def approve_human_agent(self, page_id: str | None = None, approved: bool = True) -> None:
        """Let the Page's app use the HUMAN_AGENT tag (Meta's App Review), or take it back."""
        with self._lock:
            self._page(page_id).human_agent = approved

    def set_available(self, psid: str, available: bool) -> None:
        """Whether Messenger delivers to the user (False: they blocked the Page...)."""
        with self._lock:
            self._user(psid).available = available

    def set_subscribed_fields(self, fields: Iterable[str], *, page: str | None = None) -> None:
        """The webhook fields the app is subscribed to for the Page (none: not subscribed)."""
        with self._lock:
            self._page(page).subscribed_fields = list(fields)

    def set_permission(self, permission: str, status: str, *, page: str | None = None) -> None:
        """A permission of the Page's token: "granted", "declined" or "expired"."""
        with self._lock:
            self._page(page).permissions[permission] = status

    def revoke(self, token: str, *, subcode: int = 460) -> None:
        """Refuse the token from now on with error 190 and `subcode`: 460 (the session was
        invalidated: a password change), 463 (expired) or 458 (the app was removed)."""
        with self._lock:
            if token not in self._tokens:
                raise KeyError("no such token")
            if subcode not in _REVOKED_MESSAGES:
                raise ValueError(f"subcode is one of {sorted(_REVOKED_MESSAGES)}")
            self._revoked[token] = subcode

    def restore(self, token: str) -> None:
        with self._lock:
            if token not in self._tokens:
                raise KeyError("no such token")
            self._revoked.pop(token, None)

    # --- faults ---------------------------------------------------------------------------------
    def inject(self, key: str, fault: Fault, times: int = 1) -> None:
        _check_route_key(key)  # a typo would otherwise queue a fault that never fires
        super().inject(key, fault, times)

    def rate_limit(
        self, route_key: str, code: int = 80001, regain_minutes: int | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` requests of `route_key` with Meta's rate-limit error `code`.

        4 (app) and 17 (user) come with `X-App-Usage` (`call_count`, `total_cputime`,
        `total_time`), which says nothing of when access comes back, so they take no
        `regain_minutes`; 32, 613 and 80001 come with `X-Business-Use-Case-Usage` for the Page,
        whose `estimated_time_to_regain_access` is `regain_minutes` (default 1).
        """
        _check_route_key(route_key)
        if code not in RATE_LIMIT_CODES:
            raise ValueError(f"code is one of {RATE_LIMIT_CODES}")
        if code in (4, 17) and regain_minutes is not None:
            raise ValueError("X-App-Usage carries no estimated_time_to_regain_access")
        with self._lock:
            queue = self._rate_limits.setdefault(route_key, deque())
            queue.extend([(code, regain_minutes)] * times)

    def pending_faults(self) -> int:
        with self._lock:
            limits = sum(len(queue) for queue in self._rate_limits.values())
        return super().pending_faults() + limits

    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        """The base's faults with Graph error bodies, and a Meta rate limit a quarter of the
        time (estimated to end at once, so that a chaos run is not held for minutes)."""
        if rng.random() < 0.25:
            code = rng.choice((32, 613, 80001))
            with self._lock:
                page = self._tokens.get(_token_of(request) or "", self.page_id)
            reply = _rate_limited(code, page, 0)
            return f"rate limit {code}", Fault(reply.status, reply.body, reply.headers)
        kind, fault = super().random_fault(request, rng, timeout_after)
        if fault.status is not None and fault.status >= 500:
            body = graph_error_body(
                "An unexpected error has occurred. Please retry your request later.",
                2,
                is_transient=True,
            )
            fault = replace(fault, body=body)
        return kind, fault

    # --- customers act --------------------------------------------------------------------------
    def comment(
        self,
        user: str,
        text: str,
        *,
        post: str | None = None,
        parent: str | None = None,
        shape: str = "from",
        page: str | None = None,
    ) -> str:
        """A user's comment under a post of the Page (default: one post per Page, made on first
        use) or, with `parent`, an answer in a comment's thread; returns its id. Queues the
        `feed` webhook, naming the writer as `from{id,name}` or, with shape="sender", as the
        older `sender_id`/`sender_name`."""
        if shape not in ("from", "sender"):
            raise ValueError('shape is "from" or "sender"')
        with self._lock:
            writer = self._user(user)
            comment = self._add_comment(writer.id, writer.name, text, post, parent, page, shape)
            self._queue_feed(comment, "add")
            return comment.id

    def edit_comment(self, comment_id: str, text: str) -> None:
        with self._lock:
            comment = self._comment(comment_id)
            comment.message = text
            self._queue_feed(comment, "edited")

    def remove_comment(self, comment_id: str) -> None:
        with self._lock:
            comment = self._comment(comment_id)
            comment.removed = True
            self._queue_feed(comment, "remove")

    def mention(self, user: str, text: str, *, page: str | None = None) -> str:
        """A user's comment naming the Page, under a post of the user's own; returns the comment
        id. Meta's `mention` webhook names no author: the bot must look the comment up."""
        with self._lock:
            writer = self._user(user)
            mentioned = self._page(page)
            post = _Post(f"{writer.id}_{self._number()}", writer.id, "", self.clock())
            self._posts[post.id] = post
            comment = self._add_comment(writer.id, writer.name, text, post.id, None, None, "from")
            comment.mentions = mentioned.id
            value = {
                "message": comment.message,
                "post_id": comment.post_id,
                "comment_id": comment.id,
                "created_time": int(comment.created),
                "item": "comment",
                "verb": "add",
            }
            self._queue_change(mentioned.id, "mention", value)
            return comment.id

    def message(
        self,
        user: str,
        text: str = "",
        *,
        attachments: Sequence[tuple[str, str]] = (),
        page: str | None = None,
    ) -> str:
        """A Messenger message from the user to the Page (attachments: (type, url) pairs such
        as ("image", "https://...")); opens the reply windows; returns its mid."""
        if not text and not attachments:
            raise ValueError("a message has text or attachments")
        with self._lock:
            thread = self._thread_of(self._page(page).id, self._user(user).id)
            files = [{"type": kind, "payload": {"url": url}} for kind, url in attachments]
            return self._customer_writes(thread, text, files)

    def tap_quick_reply(self, user: str, payload: str, *, page: str | None = None) -> str:
        """The user taps the quick reply with `payload` of the Page's latest message: a message
        whose text is its title, with `quick_reply.payload`; returns its mid. Messenger shows
        quick replies under the thread's latest message only and dismisses them once one is
        tapped, so a payload not on offer there raises ValueError."""
        with self._lock:
            thread = self._thread_of(self._page(page).id, self._user(user).id)
            latest = thread.messages[-1] if thread.messages else None
            offered = latest.quick_replies if latest is not None and latest.from_page else []
            chosen = tapped_quick_reply(offered, payload)
            if latest is not None:
                latest.quick_replies = []
            return self._customer_writes(thread, str(chosen.get("title") or ""), [], payload)

    def edit_message(self, mid: str, text: str) -> None:
        with self._lock:
            message = self._message(mid)
            message.text = text
            message.edits += 1
            # num_edit is a string in Meta's payload (see messaging-message-edits.json).
            edit = {"mid": mid, "text": text, "num_edit": str(message.edits)}
            self._queue_messaging(message, {"message_edit": edit}, from_page=False)

    def react(self, mid: str, emoji: str) -> None:
        """The customer reacts to a message of their thread (usually the Page's answer)."""
        self._reaction(mid, emoji, "react")

    def unreact(self, mid: str, emoji: str = "❤") -> None:
        self._reaction(mid, emoji, "unreact")

    def delete_message(self, mid: str) -> None:
        """The customer unsends a message of theirs."""
        with self._lock:
            message = self._message(mid)
            message.deleted = True
            self._queue_messaging(
                message, {"message": {"is_deleted": True, "mid": mid}}, from_page=False
            )

    def receive_and_read(self, psid: str, *, page: str | None = None) -> None:
        """The customer's Messenger gets the Page's messages (a `message_deliveries` event with
        their ids) and the customer reads them (`message_reads`, up to a watermark)."""
        with self._lock:
            thread = self._thread_of(self._page(page).id, psid)
            ours = [m for m in thread.messages if m.from_page]
            if not ours:
                return
            watermark = int(self.clock() * 1000)
            mids = [m.mid for m in ours]
            delivery = {"delivery": {"mids": mids, "watermark": watermark, "seq": 0}}
            self._queue_messaging(ours[-1], delivery, from_page=False)
            self._queue_messaging(ours[-1], {"read": {"watermark": watermark}}, from_page=False)

    # --- the Page answers outside Carebridge (in Meta's own inbox) ---------------------------
    def page_replies_directly(self, comment_id: str, text: str) -> str:
        with self._lock:
            target = self._comment(comment_id)
            page = self._page(self._page_of_post(target.post_id))
            reply = self._add_comment(page.id, page.name, text, None, target.id, None, "from")
            self._queue_feed(reply, "add")
            return reply.id

    def page_messages_directly(self, psid: str, text: str, *, page: str | None = None) -> str:
        with self._lock:
            thread = self._thread_of(self._page(page).id, self._user(psid).id)
            message = self._add_message(thread, True, text, [], None)
            self._queue_echo(message, INBOX_APP_ID)
            return message.mid

    # --- inspection -----------------------------------------------------------------------------
    @property
    def sent_comments(self) -> list[dict[str, Any]]:
        """Comments the Pages wrote through the API, in order: id, post_id, parent_id (the
        thread), in_reply_to (as asked), message, page_id, created_time."""
        with self._lock:
            return copy.deepcopy(self._sent_comments)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """Send API messages to a user (recipient.id), in order: message_id, recipient_id,
        page_id, text, quick_replies (as given; [] for none), messaging_type, tag, metadata,
        request_json."""
        with self._lock:
            return copy.deepcopy(self._sent_messages)

    @property
    def private_replies(self) -> list[dict[str, Any]]:
        """Private replies (recipient.comment_id): message_id, comment_id, recipient_id, page_id,
        text, request_json."""
        with self._lock:
            return copy.deepcopy(self._private_replies)

    @property
    def hidden(self) -> dict[str, bool]:
        """Comment id -> hidden, for every comment the API hid or showed again."""
        with self._lock:
            return dict(self._hidden)

    def thread(self, psid: str, *, page: str | None = None) -> list[dict[str, Any]]:
        """The Messenger thread of a user and a Page, oldest first: mid, from_page, text."""
        with self._lock:
            found = self._threads.get((self._page(page).id, psid))
            messages = found.messages if found else []
            return [{"mid": m.mid, "from_page": m.from_page, "text": m.text} for m in messages]

    def calls(self, route_key: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if self.fault_key(r) == route_key]

    # --- webhook deliveries ---------------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        """The webhook payloads waiting to be delivered, oldest first (one entry each)."""
        with self._lock:
            return copy.deepcopy(self._pending)

    def clear_pending(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def deliver(
        self,
        webhook_url: str,
        *,
        batch: bool = False,
        attempts: int | None = None,
        pause: float | None = None,
        timeout: float = 20.0,
    ) -> list[Delivery]:
        """POST what is pending to `webhook_url`, signed as Meta signs: one POST per event, or
        all in one with `batch` (several entries; changes of one Page at one time in one
        entry). A POST that does not get a 200 is made again, up to `attempts` times in all,
        `pause` seconds apart; then it is given up. Events queued meanwhile (the echo of an
        answer the bot gave while handling one) wait for the next call."""
        with self._lock:
            payloads, self._pending = self._pending, []
        if batch and payloads:
            payloads = [_batched(payloads)]
        results = []
        for payload in payloads:
            body = encode(payload)
            results.append(
                self.webhooks.post(
                    webhook_url, body, attempts=attempts, pause=pause, timeout=timeout
                )
            )
        with self._lock:
            self._deliveries.extend(results)
        return results

    def deliver_raw(
        self,
        webhook_url: str,
        body: bytes,
        *,
        signature: str | None = None,
        timeout: float = 20.0,
    ) -> requests.Response:
        """POST `body` once as Meta would, with `signature` as X-Hub-Signature-256 instead of
        the right one ("" sends none): for tests of what the bot refuses."""
        return self.webhooks.post_raw(webhook_url, body, signature=signature, timeout=timeout)

    def handshake(self, webhook_url: str, *, verify_token: str | None = None) -> bool:
        """Meta's subscription check: True when the webhook echoes the challenge."""
        return self.webhooks.handshake(webhook_url, verify_token=verify_token)

    # --- LoopbackServer -------------------------------------------------------------------------
    def fault_key(self, request: Request) -> str:
        return self._route(request)[0]

    def handle(self, request: Request) -> Reply:
        key, parts = self._route(request)
        with self._lock:
            try:
                page = self._authenticate(request)
                queued = self._rate_limits.get(key)
                if queued:
                    code, minutes = queued.popleft()
                    return _rate_limited(code, page.id, minutes)
                handler = _HANDLERS.get(key)
                if handler is None:
                    raise _refuse(f"Unknown path components: /{'/'.join(parts)}", 2500)
                return handler(self, request, page, parts)
            except _Refused as refused:
                return refused.reply

    def _route(self, request: Request) -> tuple[str, list[str]]:
        path = _VERSION.sub("", request.path, count=1)
        parts = [unquote(part) for part in path.split("/") if part]
        method = request.method
        with self._lock:
            kinds = [self._kind(part) for part in parts]
        if len(parts) == 1 and method == "GET" and kinds[0] != "unknown":
            return f"GET /{{{kinds[0]}-id}}", parts
        if len(parts) == 1 and method == "POST" and kinds[0] == "comment":
            return "POST /{comment-id}", parts
        if len(parts) == 2:
            kind, edge = kinds[0], parts[1]
            if edge == "comments" and kind in ("comment", "post") and method in ("GET", "POST"):
                return f"{method} /{{object-id}}/comments", parts
            if kind == "page" and (method, edge) == ("POST", "messages"):
                return "POST /{page-id}/messages", parts
            if kind == "page" and method == "GET" and edge in ("conversations", "subscribed_apps"):
                return f"GET /{{page-id}}/{edge}", parts
            if parts == ["me", "permissions"] and method == "GET":
                return "GET /me/permissions", parts
        return f"{method} /{'/'.join(parts)}", parts

    def _kind(self, node: str) -> str:
        if node == "me" or node in self._pages:
            return "page"
        if node in self._users:
            return "user"
        if node in self._comments:
            return "comment"
        if node in self._posts:
            return "post"
        compound = _COMPOUND.fullmatch(node)
        if compound:  # an id of something never made here: by its form, as Meta's are
            owner = compound.group(1)
            return "post" if owner in self._pages or owner in self._users else "comment"
        return "user" if _NUMBER.fullmatch(node) else "unknown"

    def _authenticate(self, request: Request) -> _Page:
        token = _token_of(request)
        if not token:
            raise _refuse("An access token is required to request this resource.", 104)
        page_id = self._tokens.get(token)
        if page_id is None:
            message = "Invalid OAuth access token - Cannot parse access token"
            raise _Refused(_invalid_token(message, None))
        if token in self._revoked:
            subcode = self._revoked[token]
            raise _Refused(_invalid_token(_REVOKED_MESSAGES[subcode], subcode))
        return self._pages[page_id]

    # --- handlers: reading ----------------------------------------------------------------------
    def _get_node(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        node = page.id if parts[0] == "me" else parts[0]
        fields = _requested_fields(request)
        kind = self._kind(node)
        if kind == "page" and node in self._pages:
            return Reply(200, self._render_page(self._pages[node], fields))
        if kind == "user" and node in self._users:
            user = self._users[node]
            # A PSID is the Page's own: a user who never wrote to it is unknown to it.
            if (page.id, node) not in self._threads or not user.profile:
                raise _unsupported("GET", node)
            return Reply(200, _render_user(user, fields))
        if kind == "comment" and self._visible_comment(node, page) is not None:
            return Reply(200, self._render_comment(self._comments[node], fields))
        if kind == "post" and node in self._posts and self._can_see_post(page, self._posts[node]):
            return Reply(200, self._render_post(self._posts[node], fields))
        raise _unsupported("GET", node)

    def _get_comments(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        node = parts[0]
        if node in self._posts and self._can_see_post(page, self._posts[node]):
            stream = request.query.get("filter") == "stream"
            items = [
                c
                for c in self._comments.values()
                if c.post_id == node and (stream or c.parent_id == node)
            ]
        elif self._visible_comment(node, page) is not None:
            items = [c for c in self._comments.values() if c.parent_id == node]
        else:
            raise _unsupported("GET", node)
        items = [c for c in items if not c.removed]
        order = request.query.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological"):
            raise _invalid("param order must be one of {chronological, reverse_chronological}")
        if order == "reverse_chronological":
            items.reverse()
        limit = _limit(request.query.get("limit"), default=25, most=100)
        start = _cursor_position(request.query.get("after"))
        chosen = items[start : start + limit]
        fields = _requested_fields(request)
        body: dict[str, Any] = {"data": [self._render_comment(c, fields) for c in chosen]}
        if chosen:
            body["paging"] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(chosen) - 1)}
            }
            if start + len(chosen) < len(items):
                body["paging"]["next"] = (
                    f"{self.graph_url}/{node}/comments?limit={limit}"
                    f"&after={_cursor(start + len(chosen) - 1)}"
                )
        return Reply(200, body)

    def _get_conversations(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        platform = request.query.get("platform", "messenger")
        if platform not in ("messenger", "instagram"):
            raise _invalid("param platform must be one of {MESSENGER, INSTAGRAM}")
        user_id = request.query.get("user_id")
        threads = [
            t
            for t in self._threads.values()
            if t.page_id == page.id and platform == "messenger" and user_id in (None, t.user_id)
        ]
        threads.sort(key=lambda t: t.messages[-1].created if t.messages else 0, reverse=True)
        fields = _requested_fields(request) or _THREAD_DEFAULT
        return Reply(200, {"data": [self._render_thread(t, fields) for t in threads]})

    def _get_subscribed_apps(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        if not page.subscribed_fields:
            return Reply(200, {"data": []})
        app = {
            "category": "Business",
            "link": "https://carebridge.example/",
            "name": APP_NAME,
            "id": str(APP_ID),
            "subscribed_fields": list(page.subscribed_fields),
        }
        return Reply(200, {"data": [app]})

    def _get_permissions(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        # What Meta answers here for a Page token is not confirmed: it documents the edge for
        # user tokens, from which Page tokens inherit their permissions.
        data = [{"permission": p, "status": s} for p, s in page.permissions.items()]
        return Reply(200, {"data": data})

    # --- handlers: writing ----------------------------------------------------------------------
    def _post_comment(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        node = parts[0]
        params = _parameters(request)
        text = params.get("message")
        if node in self._posts:
            if not self._can_see_post(page, self._posts[node]):
                raise _unsupported("POST", node)
            post_id, parent_id = node, None
        elif self._visible_comment(node, page) is not None:
            post_id, parent_id = None, node
        else:
            raise _unsupported("POST", node)
        if not isinstance(text, str) or not text.strip():
            raise _invalid("Missing message or attachment")  # wording not confirmed
        if len(text) > COMMENT_TEXT_LIMIT:
            raise _invalid(
                f"Length of param message must be less than or equal to {COMMENT_TEXT_LIMIT}"
            )
        comment = self._add_comment(page.id, page.name, text, post_id, parent_id, None, "from")
        self._sent_comments.append(
            {
                "id": comment.id,
                "post_id": comment.post_id,
                "parent_id": comment.parent_id,
                "in_reply_to": node,
                "message": text,
                "page_id": page.id,
                "created_time": _time(comment.created),
            }
        )
        if self._page_of_post(comment.post_id) is not None:  # Meta reports a Page's own feed
            self._queue_feed(comment, "add")
        return Reply(200, {"id": comment.id})

    def _post_node(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        comment = self._visible_comment(parts[0], page)
        if comment is None or self._page_of_post(comment.post_id) != page.id:
            raise _unsupported("POST", parts[0])  # a Page hides comments on its own posts only
        hidden = _boolean(_parameters(request).get("is_hidden"))
        if hidden is None:
            raise _invalid("param is_hidden must be a boolean")  # wording not confirmed
        comment.hidden = hidden
        self._hidden[comment.id] = hidden
        self._queue_feed(comment, "hide" if hidden else "unhide")
        return Reply(200, {"success": True})

    def _post_message(self, request: Request, page: _Page, parts: list[str]) -> Reply:
        params = _parameters(request)
        recipient, message = params.get("recipient"), params.get("message")
        if not isinstance(recipient, dict) or not recipient:
            raise _invalid("param recipient must be non-empty.")  # wording not confirmed
        if not isinstance(message, dict):
            raise _invalid("Must send either message or sender action")
        text = message.get("text")
        if not isinstance(text, str) or not text:
            raise _invalid("param message must have text")  # the emulator sends text only
        if len(text) > MESSENGER_TEXT_LIMIT:
            raise _invalid(
                "Length of param message[text] must be less than or equal to "
                f"{MESSENGER_TEXT_LIMIT}"
            )
        metadata = message.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, str) or len(metadata) > METADATA_LIMIT
        ):
            raise _invalid(
                f"Length of param message[metadata] must be less than or equal to {METADATA_LIMIT}"
            )
        refusal = quick_reply_refusal(message.get("quick_replies"))
        if refusal is not None:
            raise _invalid(refusal)
        if "comment_id" in recipient:
            return self._private_reply(page, str(recipient["comment_id"]), text, params)
        messaging_type = params.get("messaging_type", "RESPONSE")
        tag = params.get("tag")
        if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise _invalid(
                "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG} - got "
                f'"{messaging_type}".'
            )
        if tag is not None and messaging_type != "MESSAGE_TAG":
            raise _invalid("Messaging type should be MESSAGE_TAG for tagged messages.")
        if messaging_type == "MESSAGE_TAG" and tag != "HUMAN_AGENT":
            raise _invalid("Invalid tag.")  # the emulator knows only HUMAN_AGENT
        user = self._users.get(str(recipient.get("id")))
        thread = self._threads.get((page.id, user.id)) if user else None
        if user is None or thread is None:
            raise _refuse("(#100) No matching user found", 100, subcode=2018001)
        if not user.available:
            raise _refuse("(#551) This person isn't available right now.", 551, subcode=1545041)
        if tag == "HUMAN_AGENT" and not page.human_agent:
            raise _refuse("(#10) Application does not have permission for this action", 10)
        window = HUMAN_AGENT_WINDOW if tag == "HUMAN_AGENT" else MESSENGER_WINDOW
        wrote = thread.customer_wrote_at
        if wrote is None or self.clock() - wrote > window:
            raise _refuse(_OUTSIDE_WINDOW, 10, subcode=2018278)
        sent = self._add_message(thread, True, text, [], metadata)
        sent.quick_replies = copy.deepcopy(message.get("quick_replies") or [])
        self._sent_messages.append(
            {
                "message_id": sent.mid,
                "recipient_id": user.id,
                "page_id": page.id,
                "text": text,
                "quick_replies": copy.deepcopy(sent.quick_replies),
                "messaging_type": messaging_type,
                "tag": tag,
                "metadata": metadata,
                "request_json": copy.deepcopy(params),
            }
        )
        self._queue_echo(sent, APP_ID)
        return Reply(200, {"recipient_id": user.id, "message_id": sent.mid})

    def _private_reply(
        self, page: _Page, comment_id: str, text: str, params: dict[str, Any]
    ) -> Reply:
        comment = self._visible_comment(comment_id, page)
        if comment is None:
            raise _unsupported("POST", comment_id)
        user = self._users.get(comment.from_id)
        if user is None:  # the Page's own comment
            raise _refuse("(#100) No matching user found", 100, subcode=2018001)
        if comment.private_reply is not None:
            raise _refuse("(#10900) Activity already replied to", 10900)
        if self.clock() - comment.created > PRIVATE_REPLY_WINDOW:
            raise _refuse(_OUTSIDE_WINDOW, 10, subcode=2018278)
        if not user.available:
            raise _refuse("(#551) This person isn't available right now.", 551, subcode=1545041)
        # The answer opens (or continues) the Messenger thread, but no reply window: the Page
        # may write again only once the person answers.
        sent = self._add_message(self._thread_of(page.id, user.id), True, text, [], None)
        comment.private_reply = sent.mid
        self._private_replies.append(
            {
                "message_id": sent.mid,
                "comment_id": comment.id,
                "recipient_id": user.id,
                "page_id": page.id,
                "text": text,
                "request_json": copy.deepcopy(params),
            }
        )
        self._queue_echo(sent, APP_ID)
        return Reply(200, {"recipient_id": user.id, "message_id": sent.mid})

    # --- rendering ------------------------------------------------------------------------------
    def _render_page(self, page: _Page, fields: tuple[_Field, ...]) -> dict[str, Any]:
        values = {
            "id": page.id,
            "name": page.name,
            "username": page.username,
            "category": "Retail Company",
            "link": f"https://www.facebook.com/{page.username or page.id}",
            "fan_count": 0,
        }
        return _select("Page", values, fields or (_Field("name"),))

    def _render_comment(self, comment: _Comment, fields: tuple[_Field, ...]) -> dict[str, Any]:
        parent = self._comments.get(comment.parent_id)
        conversation = None
        if comment.private_reply is not None:
            reply = self._messages[comment.private_reply]
            conversation = self._threads[(reply.page_id, reply.user_id)]
        values: dict[str, Any] = {
            "id": comment.id,
            "message": comment.message,
            "created_time": _time(comment.created),
            "from": {"name": comment.from_name, "id": comment.from_id},
            "is_hidden": comment.hidden,
            "permalink_url": f"https://www.facebook.com/{comment.post_id}?comment_id={comment.id}",
            "comment_count": sum(1 for c in self._comments.values() if c.parent_id == comment.id),
            "like_count": 0,
            "parent": (lambda sub, _: self._render_comment(parent, sub)) if parent else None,
            "can_reply_privately": self._can_reply_privately(comment),
            # The Messenger conversation its private reply opened (Page viewers only).
            "private_reply_conversation": (
                (lambda sub, _: self._render_thread(conversation, sub or _THREAD_DEFAULT))
                if conversation
                else None
            ),
        }
        default = (_Field("created_time"), _Field("from"), _Field("message"))
        return _select("Comment", values, fields or default)

    def _render_post(self, post: _Post, fields: tuple[_Field, ...]) -> dict[str, Any]:
        owner = self._pages.get(post.owner_id) or self._users.get(post.owner_id)
        values = {
            "id": post.id,
            "message": post.message or None,
            "created_time": _time(post.created),
            "from": {"name": owner.name if owner else "", "id": post.owner_id},
            "permalink_url": f"https://www.facebook.com/{post.id}",
        }
        return _select("Post", values, fields or (_Field("created_time"), _Field("message")))

    def _render_thread(self, thread: _Thread, fields: tuple[_Field, ...]) -> dict[str, Any]:
        page = self._pages[thread.page_id]
        user = self._users[thread.user_id]

        def person(pid: str, name: str) -> dict[str, str]:
            return {"name": name, "email": f"{pid}@facebook.com", "id": pid}

        def messages(sub: tuple[_Field, ...], limit: int | None) -> dict[str, Any]:
            newest_first = [m for m in reversed(thread.messages) if not m.deleted]
            chosen = newest_first[: limit or 25]
            rendered = []
            for m in chosen:
                sender, receiver = (page, user) if m.from_page else (user, page)
                values = {
                    "id": m.mid,
                    "message": m.text,
                    "created_time": _time(m.created),
                    "from": person(sender.id, sender.name),
                    "to": {"data": [person(receiver.id, receiver.name)]},
                }
                rendered.append(
                    _select("Message", values, sub or (_Field("id"), _Field("created_time")))
                )
            body: dict[str, Any] = {"data": rendered}
            if chosen:
                body["paging"] = {
                    "cursors": {"before": _cursor(0), "after": _cursor(len(chosen) - 1)}
                }
            return body

        last = thread.messages[-1].created if thread.messages else self.clock()
        values = {
            "id": thread.id,
            "updated_time": _time(last),
            "message_count": len(thread.messages),
            "link": f"/{page.id}/inbox/{thread.id}",
            "messages": messages,
        }
        return _select("PageConversation", values, fields)

    # --- internals ------------------------------------------------------------------------------
    def _number(self) -> int:
        return next(self._numbers)

    def _page(self, page_id: str | None) -> _Page:
        found = self._pages.get(page_id or self.page_id)
        if found is None:
            raise KeyError(f"no Page {page_id}; add_page() first")
        return found

    def _user(self, psid: str) -> _User:
        found = self._users.get(psid)
        if found is None:
            raise KeyError(f"no user {psid}; add_user() first")
        return found

    def _comment(self, comment_id: str) -> _Comment:
        found = self._comments.get(comment_id)
        if found is None:
            raise KeyError(f"no comment {comment_id}")
        return found

    def _message(self, mid: str) -> _Message:
        found = self._messages.get(mid)
        if found is None:
            raise KeyError(f"no message {mid}")
        return found

    def _page_of_post(self, post_id: str) -> str | None:
        post = self._posts.get(post_id)
        return post.owner_id if post and post.owner_id in self._pages else None

    def _can_reply_privately(self, comment: _Comment) -> bool:
        return (
            comment.private_reply is None
            and comment.from_id in self._users
            and self.clock() - comment.created <= PRIVATE_REPLY_WINDOW
        )

    def _can_see_post(self, page: _Page, post: _Post) -> bool:
        return post.owner_id == page.id or any(
            c.post_id == post.id and c.mentions == page.id for c in self._comments.values()
        )

    def _visible_comment(self, comment_id: str, page: _Page) -> _Comment | None:
        comment = self._comments.get(comment_id)
        if comment is None or comment.removed:
            return None
        if comment.mentions == page.id or self._page_of_post(comment.post_id) == page.id:
            return comment
        return None

    def _add_comment(
        self,
        from_id: str,
        from_name: str,
        text: str,
        post: str | None,
        parent: str | None,
        page: str | None,
        shape: str,
    ) -> _Comment:
        if parent is not None:
            target = self._comment(parent)
            # Comments nest one level: an answer to an answer joins the top-level thread.
            top = target.parent_id if target.parent_id in self._comments else target.id
            post_id = target.post_id
        else:
            post_id = post or self._default_post(page)
            if post_id not in self._posts:
                raise KeyError(f"no post {post_id}")
            top = post_id
        post_number = post_id.split("_", 1)[1]
        comment = _Comment(
            id=f"{post_number}_{self._number()}",
            post_id=post_id,
            parent_id=top,
            from_id=from_id,
            from_name=from_name,
            message=text,
            created=self.clock(),
            shape=shape,
        )
        self._comments[comment.id] = comment
        return comment

    def _default_post(self, page: str | None) -> str:
        owner = self._page(page).id
        if owner not in self._default_posts:
            post = _Post(
                f"{owner}_{self._number()}", owner, "Come possiamo aiutarti?", self.clock()
            )
            self._posts[post.id] = post
            self._default_posts[owner] = post.id
        return self._default_posts[owner]

    def _thread_of(self, page_id: str, user_id: str) -> _Thread:
        key = (page_id, user_id)
        if key not in self._threads:
            self._threads[key] = _Thread(f"t_{self._number()}", page_id, user_id)
        return self._threads[key]

    def _add_message(
        self,
        thread: _Thread,
        from_page: bool,
        text: str,
        attachments: list[dict[str, Any]],
        metadata: str | None,
    ) -> _Message:
        number = self._number()
        digest = hashlib.sha256(f"{thread.id}:{number}".encode()).digest()
        mid = "m_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        message = _Message(
            mid=mid,
            page_id=thread.page_id,
            user_id=thread.user_id,
            from_page=from_page,
            text=text,
            created=self.clock(),
            seq=next(self._seq),
            attachments=attachments,
            metadata=metadata,
        )
        thread.messages.append(message)
        self._messages[mid] = message
        return message

    def _customer_writes(
        self,
        thread: _Thread,
        text: str,
        files: list[dict[str, Any]],
        quick_reply: str | None = None,
    ) -> str:
        """The customer's message (a quick reply tapped: with its payload), which opens the
        reply windows, and its webhook."""
        message = self._add_message(thread, False, text, files, None)
        thread.customer_wrote_at = message.created
        body: dict[str, Any] = {"mid": message.mid, "seq": message.seq}
        if quick_reply is not None:
            body["quick_reply"] = {"payload": quick_reply}
        if text:
            body["text"] = text
        if files:
            body["attachments"] = copy.deepcopy(files)
        self._queue_messaging(message, {"message": body}, from_page=False)
        return message.mid

    def _reaction(self, mid: str, emoji: str, action: str) -> None:
        with self._lock:
            message = self._message(mid)
            reaction = {
                "mid": mid,
                "action": action,
                "emoji": emoji,
                "reaction": _REACTIONS.get(emoji, "other"),
            }
            self._queue_messaging(message, {"reaction": reaction}, from_page=False)

    # --- internals: the webhooks Meta sends -----------------------------------------------------
    def _queue_feed(self, comment: _Comment, verb: str) -> None:
        page = self._page_of_post(comment.post_id)
        if page is None:
            return  # Meta reports a Page's own feed only
        value: dict[str, Any] = {
            "item": "comment",
            "verb": verb,
            "comment_id": comment.id,
            "post_id": comment.post_id,
            "parent_id": comment.parent_id,
        }
        if comment.shape == "sender":
            # The older shape (v2.5): the writer's id as a number, as those payloads had it.
            value["sender_id"] = int(comment.from_id)
        else:
            value["from"] = {"id": comment.from_id, "name": comment.from_name}
        if verb != "remove":  # a removal carries no text or time (feed-comment-remove-25.json)
            value["created_time"] = int(self.clock() if verb != "add" else comment.created)
            value["message"] = comment.message
        if comment.shape == "sender":
            value["sender_name"] = comment.from_name
        self._queue_change(page, "feed", value)

    def _queue_change(self, page_id: str, field_name: str, value: dict[str, Any]) -> None:
        entry = {
            "id": page_id,
            "time": int(self.clock()),  # seconds for Page fields
            "changes": [{"field": field_name, "value": value}],
        }
        self._pending.append({"object": "page", "entry": [entry]})

    def _queue_messaging(
        self, message: _Message, event: dict[str, Any], *, from_page: bool
    ) -> None:
        page, user = message.page_id, message.user_id
        now_ms = int(self.clock() * 1000)  # milliseconds for messaging
        item = {
            "sender": {"id": page if from_page else user},
            "recipient": {"id": user if from_page else page},
            "timestamp": now_ms,
            **event,
        }
        entry = {"id": page, "time": now_ms, "messaging": [item]}
        self._pending.append({"object": "page", "entry": [entry]})

    def _queue_echo(self, message: _Message, app_id: int) -> None:
        echo: dict[str, Any] = {
            "mid": message.mid,
            "seq": message.seq,
            "text": message.text,
            "is_echo": True,
            "app_id": app_id,
        }
        if message.metadata is not None:
            echo["metadata"] = message.metadata  # only what the sender attached
        self._queue_messaging(message, {"message": echo}, from_page=True)


_Handler = Callable[[GraphEmulator, Request, _Page, list[str]], Reply]
_HANDLERS: dict[str, _Handler] = {
    "GET /{page-id}": GraphEmulator._get_node,
    "GET /{user-id}": GraphEmulator._get_node,
    "GET /{comment-id}": GraphEmulator._get_node,
    "GET /{post-id}": GraphEmulator._get_node,
    "GET /{object-id}/comments": GraphEmulator._get_comments,
    "POST /{object-id}/comments": GraphEmulator._post_comment,
    "POST /{comment-id}": GraphEmulator._post_node,
    "POST /{page-id}/messages": GraphEmulator._post_message,
    "GET /{page-id}/conversations": GraphEmulator._get_conversations,
    "GET /{page-id}/subscribed_apps": GraphEmulator._get_subscribed_apps,
    "GET /me/permissions": GraphEmulator._get_permissions,
}
assert set(_HANDLERS) == set(ROUTE_KEYS)


# --- helpers --------------------------------------------------------------------------------------
def _check_route_key(key: str) -> None:
    if key not in ROUTE_KEYS:
        raise ValueError(f"unknown Graph route key {key!r}; known: {', '.join(ROUTE_KEYS)}")


def _token_of(request: Request) -> str | None:
    scheme, _, credentials = (request.header("authorization") or "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and credentials.strip():
        return credentials.strip()
    token = request.query.get("access_token")
    if token:
        return token
    content_type = (request.header("content-type") or "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        return request.form().get("access_token") or None
    return None


def quick_reply_refusal(quick_replies: Any) -> str | None:
    """What the Send API says (after "(#100) ") of a message's `quick_replies` it refuses;
    None when it takes them. Instagram Direct takes the same. A title past 20 characters is not
    refused: Meta cuts it on screen (until 2017 it answered "(#100) Length of param
    message[quick_replies][1][title] must be less than or equal to 20")."""
    if quick_replies is None:
        return None
    if not isinstance(quick_replies, list):
        return "param message[quick_replies] must be an array."  # wording not confirmed
    if len(quick_replies) > MOST_QUICK_REPLIES:  # wording not confirmed
        return f"param message[quick_replies] must have at most {MOST_QUICK_REPLIES} elements."
    for index, item in enumerate(quick_replies):
        where = f"message[quick_replies][{index}]"
        kind = item.get("content_type") if isinstance(item, dict) else None
        if not isinstance(item, dict) or kind not in QUICK_REPLY_KINDS:
            return (
                f"param {where}[content_type] must be one of {{TEXT, USER_PHONE_NUMBER, "
                f'USER_EMAIL}} - got "{kind}".'
            )
        if kind != "text":
            continue
        image = bool(item.get("image_url"))  # an image may stand for the title and the payload
        title, payload = item.get("title"), item.get("payload")
        if not isinstance(title, str) or not (title or image):  # wording not confirmed
            return f"param {where}[title] must be a non-empty string."
        if isinstance(payload, bool) or not isinstance(payload, str | int | float):
            return f"param {where}[payload] must be a string or a number."  # not confirmed
        if payload == "" and not image:  # wording not confirmed
            return f"param {where}[payload] must be a non-empty string."
        if len(str(payload)) > QUICK_REPLY_PAYLOAD_LIMIT:
            return (
                f"Length of param {where}[payload] must be less than or equal to "
                f"{QUICK_REPLY_PAYLOAD_LIMIT}"
            )
    return None


def tapped_quick_reply(offered: Sequence[dict[str, Any]], payload: str) -> dict[str, Any]:
    """The quick reply with `payload` among those `offered`; ValueError (a test's mistake)
    when there is none."""
    for item in offered:
        if item.get("content_type") == "text" and str(item.get("payload")) == payload:
            return item
    shown = [str(item.get("payload")) for item in offered]
    raise ValueError(f"no quick reply {payload!r} on offer (offered: {shown or 'none'})")


def _invalid_token(message: str, subcode: int | None) -> Reply:
    body = graph_error_body(message, 190, subcode=subcode)
    header = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
    return Reply(400, body, {"WWW-Authenticate": header})


def _rate_limited(code: int, page_id: str, regain_minutes: int | None) -> Reply:
    status = 403 if code in (4, 17, 32) else 400  # 403 for the request-limit family
    body = graph_error_body(_RATE_LIMIT_MESSAGES[code], code, is_transient=True)
    if code in (4, 17):
        usage = {"call_count": 100, "total_cputime": 14, "total_time": 22}
        return Reply(status, body, {"X-App-Usage": json.dumps(usage)})
    business = {
        page_id: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 19,
                "estimated_time_to_regain_access": 1 if regain_minutes is None else regain_minutes,
            }
        ]
    }
    return Reply(status, body, {"X-Business-Use-Case-Usage": json.dumps(business)})


def _parameters(request: Request) -> dict[str, Any]:
    """A POST's parameters: a JSON body, or a form whose object values are JSON (as Meta's own
    SDKs send `recipient={"id":"..."}`), plus the query."""
    params: dict[str, Any] = {k: v for k, v in request.query.items() if k != "access_token"}
    content_type = (request.header("content-type") or "").lower()
    if content_type.startswith("application/json"):
        try:
            body = request.json()
        except ValueError as error:
            raise _invalid("Invalid JSON in the request body") from error  # wording not confirmed
        if not isinstance(body, dict):
            raise _invalid("Invalid JSON in the request body")
        params.update(body)
    elif request.body:
        for name, value in request.form().items():
            if name == "access_token":
                continue
            try:
                params[name] = json.loads(value) if value[:1] in ("{", "[") else value
            except ValueError:
                params[name] = value
    return params


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def _limit(raw: str | None, *, default: int, most: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise _invalid("param limit must be a positive number")  # wording not confirmed
    return min(int(raw), most)


def _cursor(position: int) -> str:
    return base64.b64encode(f"cursor:{position}".encode()).decode()


def _cursor_position(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, position = base64.b64decode(cursor).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as error:
        raise _invalid("Invalid cursor") from error
    if kind != "cursor" or not position.isdigit():
        raise _invalid("Invalid cursor")
    return int(position) + 1


def _time(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _render_user(user: _User, fields: tuple[_Field, ...]) -> dict[str, Any]:
    values = {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "name": user.name,
        "profile_pic": f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={user.id}",
    }
    default = (_Field("first_name"), _Field("last_name"), _Field("profile_pic"))
    return _select("User", values, fields or default)


def _select(node_type: str, values: Mapping[str, Any], fields: Sequence[_Field]) -> dict[str, Any]:
    """The requested fields of a node, and its id, as Graph answers them. A value that is a
    function renders a nested node or edge from the subfields and limit asked; a None value is
    a field the node has but leaves out (a Page without username)."""
    selected: dict[str, Any] = {}
    for item in fields:
        if item.name not in values:
            raise _invalid(
                f"Tried accessing nonexisting field ({item.name}) on node type ({node_type})"
            )
        value = values[item.name]
        if callable(value):
            value = value(item.fields or (), item.limit)
        elif item.fields is not None and isinstance(value, dict):
            value = {k: v for k, v in value.items() if any(f.name == k for f in item.fields)}
        if value is not None:
            selected[item.name] = copy.deepcopy(value)
    selected.setdefault("id", values["id"])
    return selected


def _requested_fields(request: Request) -> tuple[_Field, ...]:
    raw = request.query.get("fields")
    if not raw:
        return ()
    return _FieldParser(raw).parse()


class _FieldParser:
    """`a,b{c,d},e.limit(5){f}`, as the Graph API's `fields` parameter takes them."""

    _NAME = re.compile(r"[a-z_][a-z0-9_]*")
    _LIMIT = re.compile(r"\.limit\(([0-9]+)\)")

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def parse(self) -> tuple[_Field, ...]:
        fields = self._list()
        if self.position != len(self.text):
            raise self._error()
        return fields

    def _list(self) -> tuple[_Field, ...]:
        items = [self._field()]
        while self._next_is(","):
            self.position += 1
            items.append(self._field())
        return tuple(items)

    def _field(self) -> _Field:
        name = self._NAME.match(self.text, self.position)
        if name is None:
            raise self._error()
        self.position = name.end()
        limit = None
        modifier = self._LIMIT.match(self.text, self.position)
        if modifier is not None:
            limit = int(modifier.group(1))
            self.position = modifier.end()
        nested = None
        if self._next_is("{"):
            self.position += 1
            nested = self._list()
            if not self._next_is("}"):
                raise self._error()
            self.position += 1
        return _Field(name.group(), limit, nested)

    def _next_is(self, char: str) -> bool:
        return self.text[self.position : self.position + 1] == char

    def _error(self) -> _Refused:
        rest = self.text[self.position :] or "end of string"
        return _refuse(
            f'Syntax error "Expected end of string instead of "{rest[:1]}"." at character '
            f"{self.position}: {self.text}",
            2500,
        )


def _batched(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Several events in one POST, as Meta batches them: the entries in order, the `changes`
    of one Page at one time joined in one entry."""
    entries: list[dict[str, Any]] = []
    for payload in payloads:
        for entry in payload["entry"]:
            last = entries[-1] if entries else None
            joinable = (
                last is not None
                and "changes" in last
                and "changes" in entry
                and (last["id"], last["time"]) == (entry["id"], entry["time"])
            )
            if joinable and last is not None:
                last["changes"].extend(copy.deepcopy(entry["changes"]))
            else:
                entries.append(copy.deepcopy(entry))
    return {"object": "page", "entry": entries}
