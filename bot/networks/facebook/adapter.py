"""A Facebook Page through the Graph API: comment replies, Messenger answers (with quick replies
to tap: `meta.send_api`), private replies to comments, hiding comments, and the lookups that
fill in what Meta's webhooks leave out.

Nothing is polled: Meta pushes comments and messages to the webhook (`webhook.py`), so
`streams` is empty. Every call goes through `meta.graph.GraphClient` with the Page token, which
turns Meta's refusals into the domain's delivery errors.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.clock import Clock
from bot.domain.delivery import DeliveryError, PermanentError, TransientError
from bot.domain.model import InboundMessage, SentMessage, Visibility
from bot.networks.base import AccountIdentity, Batch
from bot.networks.meta.graph import (
    AlreadyReplied,
    GraphClient,
    NotReachable,
    Refusals,
    created_id,
    graph_time,
    items,
)
from bot.networks.meta.send_api import SendApiMessages, message_request

log = structlog.get_logger(__name__)

__all__ = ["AlreadyReplied", "FacebookChannel", "NotReachable"]

UNKNOWN_NAME = "Facebook user"  # what a customer is called when Meta will not say
NAMES_CACHED = 10_000  # profile names kept in memory per Page (the most recent ones)
FOUND_PER_PAGE = 100  # how far back find_sent looks: an earlier attempt is minutes old
# Page, user and comment ids are digits, a post or comment id "<digits>_<digits>". Anything else
# (an id from a tampered payload, "../me") must never become a Graph path.
_NODE_ID = re.compile(r"[0-9]{1,32}(?:_[0-9]{1,32})?")

_STANDARD_WINDOW = Refusals(messenger_window=timedelta(hours=24), network="Facebook")
_HUMAN_AGENT_WINDOW = Refusals(
    messenger_window=timedelta(days=7),
    not_permitted=(
        "Facebook refused the Human Agent tag: the Page's app is not approved for it (apply "
        "for the Human Agent permission in the Meta app, or turn META_HUMAN_AGENT off)"
    ),
    network="Facebook",
)
_PRIVATE_REPLY_WINDOW = Refusals(
    outside_window=(
        "Facebook allows a private reply only within 7 days of the comment: reply publicly instead"
    ),
    network="Facebook",
)


class FacebookChannel(SendApiMessages):
    streams: tuple[str, ...] = ()  # Meta pushes by webhook

    def __init__(
        self,
        *,
        graph_url: str,
        page_id: str,
        page_access_token: str,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")  # with the version: https://graph.../v25.0
        self.page_id = page_id
        self.clock = clock
        self.timeout = timeout
        self._graph = GraphClient(graph_url, page_access_token, clock, timeout, "Facebook")
        self._names: OrderedDict[str, str] = OrderedDict()  # psid -> "first last"
        self._names_lock = threading.Lock()

    def __repr__(self) -> str:  # ids only, never the token
        return f"FacebookChannel(page_id={self.page_id!r}, graph_url={self.graph_url!r})"

    # --- the account ---------------------------------------------------------------------------
    def identify(self) -> AccountIdentity:
        page = self._call(
            "GET", _node(self.page_id), "looking up the Page", params={"fields": "id,name,username"}
        )
        page_id, name, username = page.get("id"), page.get("name"), page.get("username")
        if not isinstance(page_id, str) or not isinstance(name, str):
            raise TransientError("Facebook sent a malformed answer while looking up the Page")
        handle = username if isinstance(username, str) and username else name
        return AccountIdentity(page_id, handle, name)

    def subscribed_fields(self) -> list[str]:
        """The webhook fields the Page's apps are subscribed to. The Page token does not say
        which app is ours, so this is the union over the apps listed (usually just ours)."""
        body = self._call(
            "GET", f"{_node(self.page_id)}/subscribed_apps", "reading the webhook subscription"
        )
        fields: list[str] = []
        for app in items(body):
            for name in app.get("subscribed_fields") or []:
                if isinstance(name, str) and name not in fields:
                    fields.append(name)
        return fields

    def permissions(self) -> dict[str, str]:
        """Permission -> status ("granted", "declined", "expired") of the token."""
        body = self._call("GET", "me/permissions", "reading the token's permissions")
        return {
            item["permission"]: item["status"]
            for item in items(body)
            if isinstance(item.get("permission"), str) and isinstance(item.get("status"), str)
        }

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        raise ValueError(f"Facebook has no stream {stream!r}: Meta pushes by webhook")

    def complete(self, message: InboundMessage) -> InboundMessage:
        """Fill in the author Meta's webhook left out: a Messenger sender's name from their
        profile (cached), a mention's author (and text) from the comment itself. A lookup that
        fails leaves the customer called "Facebook user": a name is no reason to lose a
        message."""
        author = message.author
        try:
            if message.visibility is Visibility.PUBLIC and not (author.external_id and author.name):
                return self._complete_comment(message)
            if not author.name and author.external_id:
                name = self._profile_name(author.external_id)
                return replace(message, author=replace(author, name=name))
        except Exception as error:  # never raise: see the docstring
            log.warning(
                "facebook.lookup_failed",
                message_id=message.external_id,
                error=type(error).__name__,
                reason=error.reason if isinstance(error, DeliveryError) else None,
            )
        if author.name:
            return message
        return replace(message, author=replace(author, name=UNKNOWN_NAME))

    def _complete_comment(self, message: InboundMessage) -> InboundMessage:
        comment = self._call(
            "GET",
            _node(message.external_id),
            "looking up the comment",
            params={"fields": "from,message"},
        )
        writer = comment.get("from")
        writer = writer if isinstance(writer, dict) else {}
        author = message.author
        if not author.external_id and isinstance(writer.get("id"), str):
            author = replace(author, external_id=writer["id"])
        name = writer.get("name")
        author = replace(author, name=author.name or (name if isinstance(name, str) else ""))
        text = comment.get("message")
        if not message.text and isinstance(text, str):
            message = replace(message, text=text)
        return replace(message, author=replace(author, name=author.name or UNKNOWN_NAME))

    def _profile_name(self, psid: str) -> str:
        with self._names_lock:
            if psid in self._names:
                self._names.move_to_end(psid)
                return self._names[psid]
        # Looked up outside the lock: two threads may both ask Meta once, which is harmless.
        profile = self._call(
            "GET",
            _node(psid),
            "looking up the customer's Messenger profile",
            params={"fields": "first_name,last_name"},
        )
        parts = [profile.get("first_name"), profile.get("last_name")]
        name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if not name:
            return UNKNOWN_NAME  # not cached: the profile may be readable later
        with self._names_lock:
            self._names[psid] = name
            while len(self._names) > NAMES_CACHED:
                self._names.popitem(last=False)
        return name

    # --- outbound ------------------------------------------------------------------------------
    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        answer = self._call(
            "POST", f"{_node(in_reply_to)}/comments", "posting the reply", body={"message": text}
        )
        return SentMessage(
            created_id(answer, "id", "posting the reply", "Facebook"), _permalink(answer)
        )

    def _send_message(
        self, recipient_id: str, message: dict[str, Any], extended: bool, marker: str | None
    ) -> SentMessage:
        path, doing = f"{_node(self.page_id)}/messages", "sending the Messenger message"
        body = message_request(_node(recipient_id), message, extended=extended, marker=marker)
        refusals = _HUMAN_AGENT_WINDOW if extended else _STANDARD_WINDOW
        answer = self._call("POST", path, doing, body=body, refusals=refusals)
        return SentMessage(created_id(answer, "message_id", doing, "Facebook"))

    def reply_privately(self, text: str, in_reply_to: str) -> SentMessage:
        """A private reply to a comment: one Messenger message to its writer, once per comment,
        within 7 days of it (Meta's rules; `AlreadyReplied` / `NotReachable` otherwise)."""
        body = {"recipient": {"comment_id": _node(in_reply_to)}, "message": {"text": text}}
        doing = "sending the private reply"
        path = f"{_node(self.page_id)}/messages"
        answer = self._call("POST", path, doing, body=body, refusals=_PRIVATE_REPLY_WINDOW)
        # The writer's Messenger id, which is not the id their comment showed.
        recipient = answer.get("recipient_id")
        return SentMessage(
            created_id(answer, "message_id", doing, "Facebook"),
            recipient_id=recipient if isinstance(recipient, str) else "",
        )

    def hide(self, external_id: str, hidden: bool) -> None:
        doing = "hiding the comment" if hidden else "showing the comment again"
        answer = self._call("POST", _node(external_id), doing, body={"is_hidden": hidden})
        if answer.get("success") is not True:
            raise PermanentError(f"Facebook did not confirm {doing}")

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        # Meta's times have whole seconds: an attempt made at 10:00:00.7 is listed as 10:00:00.
        since = since.replace(microsecond=0)
        if in_reply_to is not None:
            return self._find_comment_reply(text, in_reply_to, since)
        if recipient_id is not None:
            return self._find_message(text, recipient_id, since)
        return None

    def _find_comment_reply(
        self, text: str, in_reply_to: str, since: datetime
    ) -> SentMessage | None:
        """A reply to the comment, public (in its thread) or private (in the Messenger
        conversation its private reply opened): the outbox retries both with `in_reply_to`."""
        doing = "looking for an earlier attempt of the reply"
        comment = self._call(
            "GET",
            _node(in_reply_to),
            doing,
            params={
                "fields": "id,parent{id},private_reply_conversation{messages.limit("
                f"{FOUND_PER_PAGE}){{id,message,from,created_time}}}}"
            },
        )
        conversation = comment.get("private_reply_conversation")
        if isinstance(conversation, dict):
            found = self._ours(conversation.get("messages"), text, since)
            if found is not None:
                return SentMessage(found["id"])
        # Comments nest one level: a reply to a reply is filed under the top-level comment.
        parent = comment.get("parent")
        thread = in_reply_to
        if isinstance(parent, dict) and isinstance(parent.get("id"), str):
            thread = _node(parent["id"])
        replies = self._call(
            "GET",
            f"{thread}/comments",
            doing,
            params={
                "fields": "id,message,from,created_time",
                "order": "reverse_chronological",
                "limit": str(FOUND_PER_PAGE),
            },
        )
        found = self._ours(replies, text, since)
        return SentMessage(found["id"], _permalink(found)) if found is not None else None

    def _find_message(self, text: str, recipient_id: str, since: datetime) -> SentMessage | None:
        conversations = self._call(
            "GET",
            f"{_node(self.page_id)}/conversations",
            "looking for an earlier attempt of the message",
            params={
                "platform": "messenger",
                "user_id": _node(recipient_id),
                "fields": f"messages.limit({FOUND_PER_PAGE}){{id,message,from,created_time}}",
            },
        )
        for conversation in items(conversations):
            found = self._ours(conversation.get("messages"), text, since)
            if found is not None:
                return SentMessage(found["id"])
        return None

    def _ours(self, listing: Any, text: str, since: datetime) -> dict[str, Any] | None:
        """The Page's own item with `text`, written at `since` or later, in a Graph listing."""
        for item in items(listing if isinstance(listing, dict) else {}):
            writer = item.get("from")
            created = graph_time(item.get("created_time"))
            if (
                isinstance(item.get("id"), str)
                and isinstance(writer, dict)
                and writer.get("id") == self.page_id
                and item.get("message") == text
                and created is not None
                and created >= since
            ):
                return item
        return None

    # --- plumbing ------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        refusals: Refusals | None = None,
    ) -> dict[str, Any]:
        return self._graph.call(method, path, doing, params=params, body=body, refusals=refusals)


def _node(external_id: str) -> str:
    if not _NODE_ID.fullmatch(external_id):
        raise PermanentError("that is not a Facebook id: the message cannot be answered there")
    return external_id


def _permalink(comment: dict[str, Any]) -> str:
    return f"https://www.facebook.com/{comment['id']}" if isinstance(comment.get("id"), str) else ""
