"""Meta's webhook for Instagram professional accounts: comments and mentions on the account's
media, and Instagram Direct messages, turned into Carebridge's events.

Deliveries come on the app's one webhook URL with `object: "instagram"`; an entry is one
Instagram account (its id). `changes` carry comments (`from` with the commenter's id and
@username; the account's own replies are answers given on Instagram) and mentions (only ids:
the adapter reads the comment). `messaging` carries Direct messages in Messenger's shape, the
account's own ones flagged `is_echo`. A part of a shape this parser does not know is logged by
field name and left out, never the whole delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from bot.domain.model import (
    AnsweredElsewhere,
    Attachment,
    AttachmentKind,
    Author,
    InboundMessage,
    NetworkEvent,
    Visibility,
)
from bot.networks.base import AccountConfig, Pushed
from bot.networks.meta.messaging import Messaging
from bot.networks.meta.signing import Signed
from bot.networks.meta.values import (
    Unexpected,
    an_id,
    an_object,
    delivery,
    entries,
    entry_id,
    optional_id,
    seconds,
    string,
)

log = structlog.get_logger(__name__)

NETWORK = "instagram"  # the package's NETWORK, repeated: the package imports this module
SKIPPED = "instagram.webhook.skipped"
KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "file": AttachmentKind.FILE,
    "share": AttachmentKind.FILE,  # a post shared into the conversation: its link
    "ig_reel": AttachmentKind.VIDEO,
    "reel": AttachmentKind.VIDEO,
    "ig_post": AttachmentKind.IMAGE,
    "story_mention": AttachmentKind.STORY,
}
NOBODY = Author(external_id="", handle="", name="")  # the adapter looks the author up


class InstagramReceiver(Signed):
    """The `instagram` deliveries of one Meta app, for the accounts Carebridge serves."""

    def __init__(
        self,
        account_ids: Sequence[str],
        app_secrets: Sequence[str],
        verify_tokens: Sequence[str],
    ) -> None:
        super().__init__(app_secrets, verify_tokens)
        self.account_ids = frozenset(a for a in account_ids if a)

    @classmethod
    def for_accounts(cls, accounts: Sequence[AccountConfig]) -> InstagramReceiver:
        def values(key: str) -> list[str]:
            return [str(a.value(key)) for a in accounts if a.value(key) is not None]

        return cls(values("account_id"), values("app_secret"), values("verify_token"))

    def parse(self, body: bytes) -> list[Pushed]:
        parsed = delivery(body)
        if parsed.get("object") != "instagram":
            return []  # a Page's or WhatsApp's, on the same path
        pushed: list[Pushed] = []
        for entry in entries(parsed):
            account = entry_id(entry)
            if account is None:
                log.warning(SKIPPED, part="entry", reason="not an entry with an account id")
            elif account not in self.account_ids:
                log.warning("instagram.webhook.unknown_account", account=account)
            else:
                pushed += [Pushed(account, event) for event in _events(account, entry)]
        return pushed


def _events(account: str, entry: dict[str, Any]) -> list[NetworkEvent]:
    events: list[NetworkEvent] = []
    for key in ("changes", "messaging"):
        items = entry.get(key, [])
        if not isinstance(items, list):
            log.warning(SKIPPED, account=account, part=key, reason="not a list")
            continue
        for item in items:
            try:
                if key == "changes":
                    event = _change(account, entry.get("time"), item)
                else:
                    event = DIRECT.event(account, entry.get("time"), an_object(item, "event"))
            except Unexpected as error:
                log.warning(SKIPPED, account=account, part=key, reason=str(error))
                continue
            if event is not None:
                events.append(event)
    return events


# --- comments and mentions (entry time in seconds) -----------------------------------------
def _change(account: str, entry_time: Any, change: Any) -> NetworkEvent | None:
    change = an_object(change, "change")
    value = an_object(change.get("value"), f"{string(change.get('field')) or 'change'} value")
    if change.get("field") == "comments":
        return _comment(account, entry_time, value)
    if change.get("field") == "mentions":
        # A comment (or a caption) elsewhere that mentions the account: ids only.
        mentioned = optional_id(value.get("comment_id"), "comment_id")
        external_id = mentioned or an_id(value.get("media_id"), "media_id")
        return _public(external_id, NOBODY, "", seconds(entry_time))
    return None  # story insights, live comments... fields Carebridge does not use


def _comment(account: str, entry_time: Any, value: dict[str, Any]) -> NetworkEvent:
    comment_id = an_id(value.get("id"), "comment id")
    text = string(value.get("text"))
    at = seconds(value.get("timestamp"), entry_time)
    writer = value.get("from")
    if writer is None:  # older payloads: the adapter reads who wrote it
        return _public(comment_id, NOBODY, text, at)
    writer = an_object(writer, "from")
    author_id = an_id(writer.get("id"), "from.id")
    if author_id == account:
        # The account commenting: an answer given on Instagram (or Carebridge's own, come
        # back). A reply to a comment names it as its parent.
        return AnsweredElsewhere(
            network=NETWORK,
            external_id=comment_id,
            customer_external_id="",
            text=text,
            at=at,
            visibility=Visibility.PUBLIC,
            in_reply_to=optional_id(value.get("parent_id"), "parent_id"),
        )
    username = string(writer.get("username"))
    author = Author(author_id, username, username, profile_url=_profile(username))
    return _public(comment_id, author, text, at)


def _public(external_id: str, author: Author, text: str, at: datetime) -> InboundMessage:
    return InboundMessage(
        network=NETWORK,
        external_id=external_id,
        author=author,
        text=text,
        created_at=at,
        visibility=Visibility.PUBLIC,
        # Instagram links media by shortcode, not by id: the adapter reads the post's link.
        permalink="",
    )


def _profile(username: str) -> str:
    return f"https://www.instagram.com/{username}/" if username else ""


# --- Direct messages (entry time in milliseconds) -------------------------------------------------
def _attachment(item: Any) -> Attachment:
    # One odd attachment is shown as "unsupported" rather than costing the customer's message.
    if not isinstance(item, dict):
        return Attachment(AttachmentKind.UNSUPPORTED)
    payload = item["payload"] if isinstance(item.get("payload"), dict) else {}
    url = string(payload.get("url"))
    kind = KINDS.get(string(item.get("type")), AttachmentKind.UNSUPPORTED)
    title = "mentioned you in their story" if kind is AttachmentKind.STORY else ""
    return Attachment(kind, url, title or string(payload.get("title")))


def _replied_story(message: dict[str, Any]) -> list[Attachment]:
    """A reply to the account's story: the story it answers, with its link (which expires
    with the story, after 24 hours)."""
    reply_to = message.get("reply_to")
    if not isinstance(reply_to, dict) or not isinstance(reply_to.get("story"), dict):
        return []
    story = reply_to["story"]
    return [Attachment(AttachmentKind.STORY, string(story.get("url")), "replied to your story")]


DIRECT = Messaging(NETWORK, _attachment, _replied_story)
