"""A loopback emulator of the Graph API for one Instagram professional account, and of the
`instagram` webhooks Meta sends for it.

It keeps the account, customers, comments and Direct threads in memory and answers the routes
the adapter uses as Meta does (shapes checked against `shared/fixtures/meta/instagram/`): any
`/vNN.N` prefix, the linked Page's token as a Bearer header, Graph error bodies. Meta's rules
run on the emulator's clock: Direct answers within 24 hours of the customer's last message (7
days with the HUMAN_AGENT tag, once `approve_human_agent()`), one private reply per comment
within 7 days of it, 1,000 characters in a Direct message and 2,200 in a comment, quick replies
as Messenger takes them (at most 13; a title past 20 characters is cut on screen, as Instagram's
documentation says, not refused).

Customers act with `comment`, `mention`, `message`, `tap_quick_reply`, `story_reply`,
`story_mention` and `delete_message`; each queues the delivery Meta would send, and so do the
account's own answers (a `comments` change from the account, an `is_echo` message with the
metadata given). `deliver()` POSTs them signed as Meta signs, again while the answer is not 200.

A customer made with `customer(..., business=True)` is a business or creator account: Business
Discovery on the account (`GET /{account}?fields=business_discovery.username(x){...}`) answers
its followers_count, name, username and id; for anyone else, Meta's refusal (code 110, subcode
2207013, "Invalid user id"), as for a personal account or a username that does not exist. Its
fault key is `GET /{account} business_discovery`, apart from the account's own lookup.

Simplifications: a customer has one id on comments and in Direct (Meta scopes them); only the
first page of an edge is served.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import requests

from bot.networks.facebook.emulator import (
    graph_error_body,
    quick_reply_refusal,
    tapped_quick_reply,
)
from bot.networks.meta.webhook_sender import Delivery, WebhookSender, encode
from bot.sandbox.loopback import LoopbackServer, Reply, Request

# The default account and the app's secrets: the settings of the bot's sandbox account (the
# keys are the Instagram spec's setting keys; add "graph_url": emulator.graph_url).
SANDBOX_ACCOUNT: Mapping[str, str] = MappingProxyType(
    {
        "account_id": "17841400000000001",
        "page_access_token": "sandbox-page-token",
        "app_secret": "sandbox-app-secret",
        "verify_token": "sandbox-verify-token",
    }
)
SANDBOX_USERNAME, SANDBOX_NAME = "acme.italia", "Acme Italia"
GRAPH_VERSION = "v25.0"
DIRECT_WINDOW = 24 * 3600
HUMAN_AGENT_WINDOW = 7 * 24 * 3600
PRIVATE_REPLY_WINDOW = 7 * 24 * 3600
DIRECT_TEXT_LIMIT = 1_000
COMMENT_TEXT_LIMIT = 2_200
_VERSION = re.compile(r"^/v[0-9]+\.[0-9]+(?=/|$)")
_DISCOVERY = re.compile(r"business_discovery\.username\(([^()]*)\)(?:\{(.*)\})?")


@dataclass
class Customer:
    id: str
    username: str
    name: str
    followers: int = 0
    verified: bool = False
    business: bool = False  # a business or creator account: Business Discovery shows it
    last_message_at: float | None = None  # Direct: when they last wrote to the account


@dataclass
class Comment:
    id: str
    author: str  # a customer's id, or the account's
    text: str
    at: float
    media_id: str
    parent_id: str | None = None
    hidden: bool = False
    privately_replied: bool = False
    replies: list[str] = field(default_factory=list)


class InstagramEmulator(LoopbackServer):
    """graph.facebook.com for one Instagram account on 127.0.0.1."""

    name = "instagram"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        app_secret: str = SANDBOX_ACCOUNT["app_secret"],
        delivery_attempts: int = 3,
    ) -> None:
        super().__init__(clock=clock)
        self.app_secret = app_secret
        self.webhooks = WebhookSender(
            app_secret, SANDBOX_ACCOUNT["verify_token"], attempts=delivery_attempts
        )
        self.account_id = SANDBOX_ACCOUNT["account_id"]
        self.token = SANDBOX_ACCOUNT["page_access_token"]
        self.human_agent = False
        self._numbers = itertools.count(18_000_000_000_000_001)
        self._customers: dict[str, Customer] = {}  # by id
        self._comments: dict[str, Comment] = {}
        self._messages: dict[str, dict[str, Any]] = {}  # mid -> {from, to, text, at}
        self._pending: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self.sent_replies: list[dict[str, Any]] = []
        self.sent_messages: list[dict[str, Any]] = []  # Direct, private replies included

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/{GRAPH_VERSION}"

    # --- set-up and customers' actions ----------------------------------------------------------
    def approve_human_agent(self, approved: bool = True) -> None:
        self.human_agent = approved

    def customer(
        self, username: str, *, name: str = "", followers: int = 0, business: bool = False
    ) -> Customer:
        """The customer called `username`, made on first use (later arguments are ignored)."""
        with self._lock:
            for known in self._customers.values():
                if known.username == username:
                    return known
            made = Customer(
                str(next(self._numbers)), username, name or username, followers, business=business
            )
            self._customers[made.id] = made
            return made

    def comment(self, username: str, text: str, *, parent: str | None = None) -> str:
        """`username` comments on the account's post (or replies to comment `parent`)."""
        writer = self.customer(username)
        with self._lock:
            return self._add_comment(writer.id, text, parent)

    def mention(self, username: str, text: str) -> str:
        """`username` mentions the account in a comment under their own post: Meta sends ids
        only (`mentions`); the adapter reads the comment."""
        writer = self.customer(username)
        with self._lock:
            comment = Comment(str(next(self._numbers)), writer.id, text, self.clock(), "0")
            comment.media_id = str(next(self._numbers))
            self._comments[comment.id] = comment
            value = {"comment_id": comment.id, "media_id": comment.media_id}
            self._queue_change("mentions", value)
            return comment.id

    def message(
        self, username: str, text: str, *, attachments: list[dict[str, Any]] | None = None
    ) -> str:
        writer = self.customer(username)
        with self._lock:
            return self._add_message(writer, {"text": text, "attachments": attachments or []})

    def tap_quick_reply(self, username: str, payload: str) -> str:
        """`username` taps the quick reply with `payload` of the account's latest message to
        them: a message whose text is its title, with `quick_reply.payload`. Quick replies show
        under the conversation's latest message only and go once one is tapped, so a payload
        not on offer there raises ValueError."""
        writer = self.customer(username)
        with self._lock:
            ours = [m for m in self._messages.values() if writer.id in (m["from"], m["to"])]
            latest = ours[-1] if ours else {}
            offered = latest.get("quick_replies", []) if latest.get("from") != writer.id else []
            chosen = tapped_quick_reply(offered, payload)
            latest["quick_replies"] = []
            title = str(chosen.get("title") or "")
            return self._add_message(writer, {"text": title, "quick_reply": {"payload": payload}})

    def story_reply(self, username: str, text: str) -> str:
        story = {"story": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}
        writer = self.customer(username)
        with self._lock:
            return self._add_message(writer, {"text": text, "reply_to": story})

    def story_mention(self, username: str) -> str:
        url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2"
        attachment = {"type": "story_mention", "payload": {"url": url}}
        writer = self.customer(username)
        with self._lock:
            return self._add_message(writer, {"attachments": [attachment]})

    def delete_message(self, mid: str) -> None:
        with self._lock:
            sender = self._messages[mid]["from"]
            self._queue_messaging(sender, {"mid": mid, "is_deleted": True})

    # --- what happened --------------------------------------------------------------------------
    def hidden(self) -> dict[str, bool]:
        with self._lock:
            return {c.id: c.hidden for c in self._comments.values() if c.hidden}

    def pending(self) -> list[dict[str, Any]]:
        """The webhook payloads waiting to be delivered, oldest first."""
        with self._lock:
            return list(self._pending)

    def clear_pending(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def deliver(self, webhook_url: str, *, timeout: float = 20.0) -> list[Delivery]:
        """POST what is pending to `webhook_url`, signed as Meta signs, each again while it
        does not get a 200 (up to the sender's attempts in all)."""
        with self._lock:
            payloads, self._pending = self._pending, []
        made = [self.webhooks.post(webhook_url, encode(p), timeout=timeout) for p in payloads]
        with self._lock:
            self._deliveries.extend(made)
        return made

    def deliver_raw(
        self, webhook_url: str, body: bytes, *, signature: str | None = None
    ) -> requests.Response:
        """POST `body` once, signed with `signature` instead of the right one ("" sends none):
        for tests of what the bot refuses."""
        return self.webhooks.post_raw(webhook_url, body, signature=signature)

    def handshake(self, webhook_url: str, *, verify_token: str | None = None) -> bool:
        """Meta's subscription check: True when the webhook echoes the (digits) challenge."""
        return self.webhooks.handshake(webhook_url, verify_token=verify_token)

    # --- the Graph API --------------------------------------------------------------------------
    def fault_key(self, request: Request) -> str:
        key = f"{request.method} {self._shape(self._parts(request))}"
        if key == "GET /{account}" and "business_discovery" in request.query.get("fields", ""):
            return f"{key} business_discovery"
        return key

    def handle(self, request: Request) -> Reply:
        if request.header("authorization") != f"Bearer {self.token}":
            message = "Invalid OAuth access token - Cannot parse access token"
            return Reply(400, graph_error_body(message, 190))
        parts = self._parts(request)
        with self._lock:
            try:
                return self._route(request, parts)
            except KeyError:
                return _unsupported(request.method, "/".join(parts))

    def _route(self, request: Request, parts: list[str]) -> Reply:
        shape = f"{request.method} {self._shape(parts)}"
        if shape == "GET /{account}":
            return self._account(request.query.get("fields"))
        if shape == "GET /{customer}":
            return Reply(200, _profile(self._customers[parts[0]]))
        if shape == "GET /{comment}":
            return Reply(200, self._render(self._comments[parts[0]]))
        if shape == "GET /{comment}/replies":
            replies = [self._render(self._comments[r]) for r in self._comments[parts[0]].replies]
            return Reply(200, {"data": replies})
        if shape == "POST /{comment}/replies":
            return self._reply(parts[0], _body(request))
        if shape == "POST /{comment}":
            comment = self._comments[parts[0]]
            comment.hidden = _body(request).get("hide") in (True, "true")
            return Reply(200, {"success": True})
        if shape == "POST /me/messages":
            return self._send(_body(request))
        if shape == "GET /me/conversations":
            return Reply(200, self._conversations(request.query.get("user_id", "")))
        raise KeyError(shape)

    def _account(self, fields: str | None) -> Reply:
        own = {"id": self.account_id, "username": SANDBOX_USERNAME, "name": SANDBOX_NAME}
        if fields is None:
            return Reply(200, own)
        answer: dict[str, Any] = {}
        for field_name in _top_level(fields):
            if field_name.startswith("business_discovery"):
                found = _DISCOVERY.fullmatch(field_name)
                if found is None:
                    return _invalid("business_discovery needs a username: .username(name)")
                username, subfields = found.group(1), found.group(2) or "id"
                discovered = self._discovered(username, _top_level(subfields))
                if isinstance(discovered, Reply):
                    return discovered
                answer["business_discovery"] = discovered
            elif field_name in own:
                answer[field_name] = own[field_name]
            else:
                return _nonexisting_field(field_name)
        return Reply(200, {**answer, "id": self.account_id})

    def _discovered(self, username: str, subfields: list[str]) -> dict[str, Any] | Reply:
        """Business Discovery of `username`: its public fields if it is a business or creator
        account (or the account itself), Meta's refusal otherwise."""
        wanted = username.lower()
        if wanted == SANDBOX_USERNAME:
            account = Customer(self.account_id, SANDBOX_USERNAME, SANDBOX_NAME, business=True)
        else:
            known = [c for c in self._customers.values() if c.username.lower() == wanted]
            account = known[0] if known else Customer("", username, "")
        if not account.business:
            return _not_discoverable(username)
        public = {
            "id": account.id,
            "username": account.username,
            "name": account.name,
            "followers_count": account.followers,
        }
        for name in subfields:
            if name not in public:
                return _nonexisting_field(name)
        return {**{name: public[name] for name in subfields}, "id": account.id}

    def _reply(self, comment_id: str, body: dict[str, Any]) -> Reply:
        comment, text = self._comments[comment_id], str(body.get("message") or "")
        if not text or len(text) > COMMENT_TEXT_LIMIT:
            return _invalid(f"The comment is empty or longer than {COMMENT_TEXT_LIMIT} characters")
        reply_id = self._add_comment(self.account_id, text, comment.id)
        self.sent_replies.append({"id": reply_id, "in_reply_to": comment.id, "text": text})
        return Reply(200, {"id": reply_id})

    def _send(self, body: dict[str, Any]) -> Reply:
        recipient, message = _part(body, "recipient"), _part(body, "message")
        text = str(message.get("text") or "")
        if not text or len(text) > DIRECT_TEXT_LIMIT:
            return _invalid(f"The message is empty or longer than {DIRECT_TEXT_LIMIT} characters")
        refusal = quick_reply_refusal(message.get("quick_replies"))
        if refusal is not None:
            return _invalid(refusal)
        quick_replies = copy.deepcopy(message.get("quick_replies") or [])
        now = self.clock()
        if "comment_id" in recipient:  # a private reply to a comment
            comment = self._comments[str(recipient["comment_id"])]
            if comment.privately_replied:
                return Reply(400, graph_error_body("(#10900) Activity already replied to", 10900))
            if now - comment.at > PRIVATE_REPLY_WINDOW:
                return _outside_window()
            comment.privately_replied = True
            customer = self._customers[comment.author]
        else:
            customer = self._customers[str(recipient.get("id"))]
            last = customer.last_message_at
            tagged = (
                body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
            )
            if tagged and not self.human_agent:
                return Reply(
                    400,
                    graph_error_body(
                        "(#10) Application does not have permission for this action", 10
                    ),
                )
            allowed = HUMAN_AGENT_WINDOW if tagged else DIRECT_WINDOW
            if last is None or now - last > allowed:
                return _outside_window()
        mid = f"aWdf{next(self._numbers)}"
        self._messages[mid] = {
            "from": self.account_id,
            "to": customer.id,
            "text": text,
            "at": now,
            "quick_replies": quick_replies,
        }
        self.sent_messages.append(
            {
                "mid": mid,
                "to": customer.username,
                "text": text,
                **recipient,
                "quick_replies": copy.deepcopy(quick_replies),
                "request_json": copy.deepcopy(body),
            }
        )
        echo: dict[str, Any] = {"mid": mid, "text": text, "is_echo": True}
        if isinstance(message.get("metadata"), str):
            echo["metadata"] = message["metadata"]
        self._queue_messaging(self.account_id, echo, recipient=customer.id)
        return Reply(200, {"recipient_id": customer.id, "message_id": mid})

    def _conversations(self, user_id: str) -> dict[str, Any]:
        messages = [
            {
                "id": mid,
                "message": m["text"],
                "from": {"id": m["from"]},
                "created_time": _graph_time(m["at"]),
            }
            for mid, m in reversed(self._messages.items())
            if user_id in (m["from"], m["to"])
        ]
        return {"data": [{"messages": {"data": messages}}] if messages else []}

    # --- plumbing -------------------------------------------------------------------------------
    def _parts(self, request: Request) -> list[str]:
        path = _VERSION.sub("", request.path, count=1)
        return [unquote(part) for part in path.split("/") if part]

    def _shape(self, parts: list[str]) -> str:
        def kind(part: str) -> str:
            if part == self.account_id:
                return "{account}"
            if part in self._customers:
                return "{customer}"
            if part in self._comments:
                return "{comment}"
            return part

        return "/" + "/".join(kind(p) for p in parts)

    def _add_comment(self, author: str, text: str, parent: str | None) -> str:
        comment = Comment(str(next(self._numbers)), author, text, self.clock(), "0", parent)
        comment.media_id = self._comments[parent].media_id if parent else "17900000000000001"
        self._comments[comment.id] = comment
        if parent:
            self._comments[parent].replies.append(comment.id)
        writer = {"id": author, "username": self._username(author)}
        value: dict[str, Any] = {
            "from": writer,
            "media": {"id": comment.media_id, "media_product_type": "FEED"},
            "id": comment.id,
            "text": text,
        }
        if parent:
            value["parent_id"] = parent
        self._queue_change("comments", value)
        return comment.id

    def _add_message(self, writer: Customer, content: dict[str, Any]) -> str:
        mid = f"aWdf{next(self._numbers)}"
        now = self.clock()
        writer.last_message_at = now
        self._messages[mid] = {
            "from": writer.id,
            "to": self.account_id,
            "text": content.get("text", ""),
            "at": now,
        }
        message = {"mid": mid, **{k: v for k, v in content.items() if v}}
        self._queue_messaging(writer.id, message)
        return mid

    def _username(self, user_id: str) -> str:
        return SANDBOX_USERNAME if user_id == self.account_id else self._customers[user_id].username

    def _render(self, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "text": comment.text,
            "timestamp": _graph_time(comment.at),
            "from": {"id": comment.author, "username": self._username(comment.author)},
            "hidden": comment.hidden,
            "media": {"id": comment.media_id},
        }

    def _queue_change(self, field_name: str, value: dict[str, Any]) -> None:
        entry = {
            "id": self.account_id,
            "time": int(self.clock()),
            "changes": [{"field": field_name, "value": value}],
        }
        self._pending.append({"object": "instagram", "entry": [entry]})

    def _queue_messaging(
        self, sender: str, message: dict[str, Any], *, recipient: str | None = None
    ) -> None:
        at = int(self.clock() * 1000)
        event = {
            "sender": {"id": sender},
            "recipient": {"id": recipient or self.account_id},
            "timestamp": at,
            "message": message,
        }
        entry = {"time": at, "id": self.account_id, "messaging": [event]}
        self._pending.append({"object": "instagram", "entry": [entry]})


def _profile(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "username": customer.username,
        "follower_count": customer.followers,
        "is_verified_user": customer.verified,
        "id": customer.id,
    }


def _part(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _body(request: Request) -> dict[str, Any]:
    try:
        parsed = request.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return dict(request.form())


def _graph_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _invalid(message: str) -> Reply:
    return Reply(400, graph_error_body(f"(#100) {message}", 100))


def _outside_window() -> Reply:
    message = "(#10) This message is sent outside of allowed window."
    return Reply(400, graph_error_body(message, 10, subcode=2018278))


def _top_level(fields: str) -> list[str]:
    """The fields of a `fields` expression, split at the commas outside (...) and {...}."""
    found, depth, start = [], 0, 0
    for at, char in enumerate(fields):
        depth += 1 if char in "({" else -1 if char in ")}" else 0
        if char == "," and depth == 0:
            found.append(fields[start:at].strip())
            start = at + 1
    found.append(fields[start:].strip())
    return [f for f in found if f]


def _not_discoverable(username: str) -> Reply:
    """Meta's answer to Business Discovery of a personal account or an unknown username."""
    body = graph_error_body("Invalid user id", 110, subcode=2207013, is_transient=False)
    error = body["error"]
    trace = error.pop("fbtrace_id")
    error["error_user_title"] = "Cannot find User"
    error["error_user_msg"] = f"The user with username: {username} cannot be found."
    error["fbtrace_id"] = trace
    return Reply(400, body)


def _nonexisting_field(name: str) -> Reply:
    return _invalid(f"Tried accessing nonexisting field ({name}) on node type (IGUser)")


def _unsupported(method: str, node: str) -> Reply:
    message = (
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation."
    )
    return Reply(400, graph_error_body(message, 100, subcode=33, type_="GraphMethodException"))
