"""An Instagram professional account through the Graph API and its linked Page's token: replies
to comments, Direct messages, private replies to comments, hiding comments, and the lookups
that fill in what Meta's webhooks leave out: a Direct sender's profile (with followers), a
mention's comment, and a business or creator commenter's followers by Business Discovery
(`discovery.py`; a personal account's are not public, so they stay 0).

Nothing is polled: Meta pushes comments and messages to the webhook (`webhook.py`). Direct
messages go through the Page (`me/messages` with the Page token), as Messenger's do, quick
replies included (`meta.send_api`).
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
from bot.domain.model import Author, InboundMessage, SentMessage, Visibility
from bot.networks.base import AccountIdentity, Batch
from bot.networks.instagram.discovery import BusinessDiscovery
from bot.networks.meta.graph import GraphClient, Refusals, created_id, graph_time, items
from bot.networks.meta.send_api import SendApiMessages, message_request

log = structlog.get_logger(__name__)

UNKNOWN_NAME = "Instagram user"  # what a customer is called when Meta will not say
PROFILES_CACHED = 10_000  # profiles kept in memory per account (the most recent ones)
FOUND_PER_PAGE = 100  # how far back find_sent looks: an earlier attempt is minutes old
# Account, user and comment ids are digits. Anything else (an id from a tampered payload,
# "../me") must never become a Graph path.
_NODE_ID = re.compile(r"[0-9]{1,32}")
LABEL, DIRECT = "Instagram", "Instagram Direct"

_STANDARD_WINDOW = Refusals(
    messenger_window=timedelta(hours=24), network=LABEL, private_name=DIRECT
)
_HUMAN_AGENT_WINDOW = Refusals(
    messenger_window=timedelta(days=7),
    not_permitted=(
        "Instagram refused the Human Agent tag: the app is not approved for it (apply for the "
        "Human Agent permission in the Meta app, or turn META_HUMAN_AGENT off)"
    ),
    network=LABEL,
    private_name=DIRECT,
)
_PRIVATE_REPLY_WINDOW = Refusals(
    outside_window=(
        "Instagram allows a private reply only within 7 days of the comment: reply publicly"
    ),
    network=LABEL,
    private_name=DIRECT,
)


class InstagramChannel(SendApiMessages):
    streams: tuple[str, ...] = ()  # Meta pushes by webhook

    def __init__(
        self,
        *,
        graph_url: str,
        account_id: str,
        page_access_token: str,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        self.account_id = account_id
        self.clock = clock
        self._graph = GraphClient(graph_url, page_access_token, clock, timeout, LABEL)
        self._profiles: OrderedDict[str, Author] = OrderedDict()  # IGSID -> who they are
        self._profiles_lock = threading.Lock()
        self._discovery = BusinessDiscovery(self._graph, account_id, clock)

    def __repr__(self) -> str:  # ids only, never the token
        return f"InstagramChannel(account_id={self.account_id!r}, graph={self._graph!r})"

    # --- the account ---------------------------------------------------------------------------
    def identify(self) -> AccountIdentity:
        account = self._graph.call(
            "GET",
            _node(self.account_id),
            "looking up the Instagram account",
            params={"fields": "id,username,name"},
        )
        found, username, name = account.get("id"), account.get("username"), account.get("name")
        if not isinstance(found, str) or not isinstance(username, str) or not username:
            raise TransientError("Instagram sent a malformed answer about the account")
        return AccountIdentity(
            found, username, name if isinstance(name, str) and name else username
        )

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        raise ValueError(f"Instagram has no stream {stream!r}: Meta pushes by webhook")

    def complete(self, message: InboundMessage) -> InboundMessage:
        """Fill in who wrote: a Direct sender's profile (name, @username, followers; cached),
        a mention's comment (its writer and text), a business or creator commenter's followers
        and name (Business Discovery; cached). A lookup that fails leaves the customer called
        "Instagram user", or with 0 followers: neither is a reason to lose a message."""
        try:
            if message.visibility is Visibility.PUBLIC and not message.author.external_id:
                message = self._complete_comment(message)
            elif message.visibility is Visibility.PRIVATE and not message.author.name:
                message = replace(message, author=self._profile(message.author.external_id))
        except Exception as error:  # never raise: see the docstring
            log.warning(
                "instagram.lookup_failed",
                message_id=message.external_id,
                error=type(error).__name__,
                reason=error.reason if isinstance(error, DeliveryError) else None,
            )
        author = message.author
        if message.visibility is Visibility.PUBLIC and author.handle and not author.followers:
            found = self._discovery.lookup(author.handle, message_id=message.external_id)
            if found is not None:
                author = replace(author, followers=found.followers, name=found.name or author.name)
        if not author.name:
            author = replace(author, name=author.handle or UNKNOWN_NAME)
        return message if author == message.author else replace(message, author=author)

    def _complete_comment(self, message: InboundMessage) -> InboundMessage:
        comment = self._graph.call(
            "GET",
            _node(message.external_id),
            "looking up the comment",
            params={"fields": "id,text,timestamp,from{id,username}"},
        )
        writer = comment.get("from")
        writer = writer if isinstance(writer, dict) else {}
        username, writer_id = _text(writer.get("username")), _text(writer.get("id"))
        text = comment.get("text")
        author = Author(writer_id, username, username or UNKNOWN_NAME, profile_url=_url(username))
        return replace(
            message,
            author=author,
            text=message.text or (text if isinstance(text, str) else ""),
        )

    def _profile(self, igsid: str) -> Author:
        with self._profiles_lock:
            if igsid in self._profiles:
                self._profiles.move_to_end(igsid)
                return self._profiles[igsid]
        # Looked up outside the lock: two threads may both ask Meta once, which is harmless.
        profile = self._graph.call(
            "GET",
            _node(igsid),
            "looking up the customer's Instagram profile",
            params={"fields": "name,username,follower_count,is_verified_user"},
        )
        username, name = _text(profile.get("username")), _text(profile.get("name"))
        followers = profile.get("follower_count")
        author = Author(
            external_id=igsid,
            handle=username,
            name=name.strip() or username or UNKNOWN_NAME,
            followers=followers if isinstance(followers, int) and followers >= 0 else 0,
            verified=profile.get("is_verified_user") is True,
            profile_url=_url(username),
        )
        with self._profiles_lock:
            self._profiles[igsid] = author
            while len(self._profiles) > PROFILES_CACHED:
                self._profiles.popitem(last=False)
        return author

    # --- outbound ------------------------------------------------------------------------------
    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        doing = "posting the reply"
        answer = self._graph.call(
            "POST", f"{_node(in_reply_to)}/replies", doing, body={"message": text}
        )
        return SentMessage(created_id(answer, "id", doing, "Instagram"))

    def _send_message(
        self, recipient_id: str, message: dict[str, Any], extended: bool, marker: str | None
    ) -> SentMessage:
        body = message_request(_node(recipient_id), message, extended=extended, marker=marker)
        refusals = _HUMAN_AGENT_WINDOW if extended else _STANDARD_WINDOW
        doing = "sending the Instagram message"
        answer = self._graph.call("POST", "me/messages", doing, body=body, refusals=refusals)
        return SentMessage(created_id(answer, "message_id", doing, "Instagram"))

    def reply_privately(self, text: str, in_reply_to: str) -> SentMessage:
        """A private reply to a comment: one Direct message to its writer, once per comment,
        within 7 days of it."""
        body = {"recipient": {"comment_id": _node(in_reply_to)}, "message": {"text": text}}
        doing = "sending the private reply"
        answer = self._graph.call(
            "POST", "me/messages", doing, body=body, refusals=_PRIVATE_REPLY_WINDOW
        )
        recipient = answer.get("recipient_id")
        return SentMessage(
            created_id(answer, "message_id", doing, "Instagram"),
            recipient_id=recipient if isinstance(recipient, str) else "",
        )

    def hide(self, external_id: str, hidden: bool) -> None:
        doing = "hiding the comment" if hidden else "showing the comment again"
        answer = self._graph.call("POST", _node(external_id), doing, body={"hide": hidden})
        if answer.get("success") is not True:
            raise PermanentError(f"Instagram did not confirm {doing}")

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        # Meta's times have whole seconds: an attempt made at 10:00:00.7 is listed as 10:00:00.
        since = since.replace(microsecond=0)
        doing = "looking for an earlier attempt of the answer"
        if in_reply_to is not None:
            replies = self._graph.call(
                "GET",
                f"{_node(in_reply_to)}/replies",
                doing,
                params={"fields": "id,text,timestamp,from{id}", "limit": str(FOUND_PER_PAGE)},
            )
            found = self._ours(items(replies), "text", "timestamp", text, since)
            return SentMessage(found) if found else None
        if recipient_id is not None:
            conversations = self._graph.call(
                "GET",
                "me/conversations",
                doing,
                params={
                    "platform": "instagram",
                    "user_id": _node(recipient_id),
                    "fields": f"messages.limit({FOUND_PER_PAGE}){{id,message,from,created_time}}",
                },
            )
            for conversation in items(conversations):
                listing = conversation.get("messages")
                messages = items(listing) if isinstance(listing, dict) else []
                found = self._ours(messages, "message", "created_time", text, since)
                if found:
                    return SentMessage(found)
        return None

    def _ours(
        self, items: list[dict[str, Any]], text_key: str, time_key: str, text: str, since: datetime
    ) -> str | None:
        """The id of the account's own item with `text`, written at `since` or later."""
        for item in items:
            writer = item.get("from")
            created = graph_time(item.get(time_key))
            if (
                isinstance(item.get("id"), str)
                and isinstance(writer, dict)
                and writer.get("id") == self.account_id
                and item.get(text_key) == text
                and created is not None
                and created >= since
            ):
                return str(item["id"])
        return None


def _node(external_id: str) -> str:
    if not _NODE_ID.fullmatch(external_id):
        raise PermanentError("that is not an Instagram id: the message cannot be answered there")
    return external_id


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _url(username: str) -> str:
    return f"https://www.instagram.com/{username}/" if username else ""
