"""X (Twitter) through tweepy's API v2 client: mentions and DMs in (bot/networks/x/inbound.py),
listening through search (bot/networks/x/search.py), replies and DMs out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import tweepy

from bot.clock import Clock
from bot.domain.model import InboundMessage, SentMessage
from bot.networks.base import AccountIdentity, Batch
from bot.networks.x import payloads as read
from bot.networks.x.errors import translated
from bot.networks.x.http import point_client_at
from bot.networks.x.inbound import DM_FIELDS, NETWORK, Inbound
from bot.networks.x.payloads import MalformedPage
from bot.networks.x.search import Listening, SearchBatch

__all__ = ["NETWORK", "PAGES_PER_POLL", "XChannel", "private_message_link"]
PAGES_PER_POLL = 50  # then the next poll goes on: one poll never holds the bot for long


class XChannel:
    # The brand's own replies are read too: those written in X's app count as answers.
    streams: tuple[str, ...] = ("mentions", "dms", "replies")

    def __init__(
        self, client: tweepy.Client, clock: Clock, *, pages_per_poll: int = PAGES_PER_POLL
    ) -> None:
        self.client = client
        self.clock = clock
        self._me: AccountIdentity | None = None
        self.inbound = Inbound(client, lambda: self.me, clock, pages_per_poll)
        self.listening = Listening(client, lambda: self.me, clock, pages_per_poll)

    @classmethod
    def default(
        cls,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        bearer_token: str | None,
        api_url: str,
        clock: Clock,
        timeout: float = 10.0,
        pages_per_poll: int = PAGES_PER_POLL,
    ) -> XChannel:
        client = tweepy.Client(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,  # the outbox and the poller wait; a thread must not block
        )
        point_client_at(client, api_url, timeout=timeout)
        return cls(client, clock, pages_per_poll=pages_per_poll)

    # --- identity ------------------------------------------------------------------------------
    def identify(self) -> AccountIdentity:
        with translated("looking up the brand account"):
            data = read.as_dict(self.client.get_me(user_auth=True)).get("data")
            if not isinstance(data, dict) or not read.is_id(data.get("id")):
                raise MalformedPage("users/me without an id")
        self._me = AccountIdentity(data["id"], str(data.get("username", "")), data.get("name", ""))
        return self._me

    @property
    def me(self) -> AccountIdentity:
        return self._me or self.identify()

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        return self.inbound.fetch(stream, cursor, since)

    # --- listening -----------------------------------------------------------------------------
    def search(
        self, query: str, cursor: str | None, since: datetime, *, max_posts: int | None = None
    ) -> Iterator[SearchBatch]:
        """Public posts matching `query` (X's search syntax) newer than `cursor`, or since `since`
        with no cursor; each batch says how many posts X returned (and bills). See
        bot/networks/x/search.py."""
        return self.listening.search(query, cursor, since, max_posts=max_posts)

    # --- outbound ------------------------------------------------------------------------------
    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        me = self.me  # before posting: a failed lookup after it would hide a sent reply
        with translated("posting the reply"):
            data = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True
            )["data"]
        return SentMessage(data["id"], f"https://x.com/{me.handle}/status/{data['id']}")

    def complete(self, message: InboundMessage) -> InboundMessage:
        return message  # X sends whole user objects with every message

    def send_private(
        self, recipient_id: str, text: str, *, extended: bool = False, marker: str | None = None
    ) -> SentMessage:
        # X has no reply window (extended is never asked) and no echo to mark.
        with translated("sending the DM"):
            data = self.client.create_direct_message(
                participant_id=recipient_id, text=text, user_auth=True
            )["data"]
        return SentMessage(
            data["dm_event_id"], f"https://x.com/messages/{data['dm_conversation_id']}"
        )

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        with translated("looking for an earlier attempt"):
            if in_reply_to is not None:
                body = self.client.get_users_tweets(
                    self.me.external_id,
                    start_time=read.iso(since),
                    max_results=100,
                    tweet_fields=["referenced_tweets", "created_at"],
                    user_auth=True,
                )
                for tweet in body.get("data", []):
                    replied = {
                        r.get("id")
                        for r in tweet.get("referenced_tweets", [])
                        if r.get("type") == "replied_to"
                    }
                    if tweet.get("text") == text and in_reply_to in replied:
                        return SentMessage(
                            tweet["id"], f"https://x.com/{self.me.handle}/status/{tweet['id']}"
                        )
                return None
            body = self.client.get_direct_message_events(
                participant_id=recipient_id,
                event_types="MessageCreate",
                max_results=100,
                dm_event_fields=DM_FIELDS,
                user_auth=True,
            )
        for event in body.get("data", []):
            created = read.parse_time(event.get("created_at"))
            mine = event.get("sender_id") == self.me.external_id
            if mine and event.get("text") == text and (created is None or created >= since):
                link = f"https://x.com/messages/{event.get('dm_conversation_id', '')}"
                return SentMessage(event["id"], link)
        return None


def private_message_link(account: AccountIdentity) -> str:
    return f"https://x.com/messages/compose?recipient_id={account.external_id}"
