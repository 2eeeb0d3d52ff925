"""Listening: what people say about the brand without addressing it. An account's
`LISTEN_QUERY` is searched every `LISTEN_POLL_SECONDS`; the posts found go to the listening
channel (`LISTEN_CHANNEL_ID`) as compact cards with **Engage** (a normal support conversation
in the account's channel) and **Dismiss**.

X bills every post read, so the posts read are counted per account and month, and with
`X_READ_BUDGET` listening stops before the budget is spent (never the support streams), saying
so once in the listening channel. A post already in a conversation (it mentions the brand) is
not listed twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.delivery import DeliveryError, RateLimited, rate_limit_until
from bot.domain.events import EventKind
from bot.domain.facts import ListeningPaused, ListeningSummary
from bot.domain.model import Author, InboundMessage, NetworkEvent, Visibility
from bot.domain.sentiment import sentiment
from bot.domain.spike_alert import NegativePost, top_words
from bot.networks.base import Listens
from bot.services.accounts import Account
from bot.services.context import Context, UnknownConversation
from bot.services.ingest import Ingest
from storage import repositories as repo
from storage.models import ChannelAccount, ListenedPost, PostReads

log = structlog.get_logger(__name__)
STREAM = "listen"  # the account's cursor of its listening search
FIRST_LOOK = timedelta(hours=1)  # how far back the very first search looks
SMALLEST_PAGE = 10  # X returns pages of 10 to 100: less budget than that cannot be used
# Cards per minute in the listening channel; past that, a flood: the rest of the minute's posts
# go into one summary card instead of a card each.
CARDS_PER_MINUTE = 6
EXAMPLES = 3


class Listener:
    def __init__(self, context: Context, ingest: Ingest, channel: str | None) -> None:
        self.context = context
        self.ingest = ingest
        self.channel = channel
        self._blocked_until: dict[str, datetime] = {}

    def listening(self) -> list[Account]:
        """The accounts with a query, on a network that can search, when there is a channel."""
        if self.channel is None:
            return []
        return [
            account
            for account in self.context.accounts
            if account.config.value("listen_query") and isinstance(account.channel, Listens)
        ]

    def poll_once(self) -> int:
        return sum(self.poll(account) for account in self.listening())

    def poll(self, account: Account) -> int:
        """One search of one account; the posts found, stored. Failures wait for the next poll
        (a rate limit until X's reset)."""
        now = self.context.clock.now()
        if self._blocked_until.get(account.name, now) > now:
            return 0
        self.context.accounts.identify(account)
        account_id, channel = account.account_id, account.channel
        assert account_id is not None and isinstance(channel, Listens)
        room = self._room(account, account_id, now)
        if room is not None and room < SMALLEST_PAGE:
            return 0
        with self.context.database.reading() as session:
            row = session.get(ChannelAccount, account_id)
            cursor = (row.cursors or {}).get(STREAM) if row is not None else None
        query = str(account.config.value("listen_query"))
        found = 0
        try:
            for batch in channel.search(query, cursor, now - FIRST_LOOK, max_posts=room):
                with self.context.transaction() as session:
                    _count(session, account_id, now, batch.posts_read)
                    found += self._store(session, account_id, batch.messages)
                    row = session.get(ChannelAccount, account_id)
                    if row is not None and batch.cursor is not None:
                        row.cursors = {**(row.cursors or {}), STREAM: batch.cursor}
        except RateLimited as limited:
            self._blocked_until[account.name] = rate_limit_until(limited.retry_at, now)
            log.warning("listen.rate_limited", account=account.name)
        except DeliveryError as error:
            log.warning("listen.failed", account=account.name, reason=error.reason)
        if found:
            log.info("listen.found", account=account.name, posts=found)
        return found

    def _room(self, account: Account, account_id: int, now: datetime) -> int | None:
        """The posts the budget still allows this month (None: no budget); when it is spent,
        the listening channel hears it once."""
        budget = account.config.value("read_budget")
        if not budget:
            return None
        with self.context.transaction() as session:
            reads = _month(session, account_id, now)
            room = int(budget) - reads.posts
            if room < SMALLEST_PAGE and not reads.paused_said and self.channel:
                reads.paused_said = True
                fact = ListeningPaused(account.label, account.name, reads.posts, int(budget))
                key = f"listen-paused:{account_id}:{reads.month}"
                self.context.outbox.channel(session, self.channel, key, fact)
                log.warning("listen.budget_spent", account=account.name, read=reads.posts)
        return room

    def _store(self, session: Session, account_id: int, events: Sequence[NetworkEvent]) -> int:
        assert self.channel is not None
        posts = [e for e in events if isinstance(e, InboundMessage)]
        ids = [p.external_id for p in posts]
        network = posts[0].network if posts else ""
        seen = repo.stored_message_ids(session, network, ids) | set(
            session.scalars(
                select(ListenedPost.external_id).where(
                    ListenedPost.network == network, ListenedPost.external_id.in_(ids)
                )
            )
        )
        now = self.context.clock.now()
        carded = _cards_since(session, now - timedelta(minutes=1))
        stored = 0
        for post in posts:
            if post.external_id in seen:
                continue  # a conversation already, or listed before
            seen.add(post.external_id)
            flood = carded >= CARDS_PER_MINUTE
            row = ListenedPost(
                account_id=account_id,
                network=post.network,
                external_id=post.external_id,
                author_id=post.author.external_id,
                handle=post.author.handle,
                name=post.author.name,
                followers=post.author.followers,
                verified=post.author.verified,
                text=post.text,
                permalink=post.permalink,
                posted_at=post.created_at,
                sentiment=str(sentiment(post.text).label),
                status="batched" if flood else "new",
                found_at=now,
            )
            session.add(row)
            session.flush()
            if not flood:
                self.context.outbox.listen_card(session, self.channel, row.id)
                carded += 1
            stored += 1
        return stored

    def summarise(self) -> int:
        """The posts a flood batched, as one summary card per account; what was summarised."""
        if self.channel is None:
            return 0
        with self.context.transaction() as session:
            batched = list(
                session.scalars(
                    select(ListenedPost)
                    .where(ListenedPost.status == "batched")
                    .order_by(ListenedPost.id)
                )
            )
            by_account: dict[int, list[ListenedPost]] = {}
            for post in batched:
                by_account.setdefault(post.account_id, []).append(post)
                post.status = "summarised"
            for posts in by_account.values():
                self._summary(session, posts)
        return len(batched)

    def _summary(self, session: Session, posts: list[ListenedPost]) -> None:
        assert self.channel is not None
        account = self.context.accounts.find(
            account_id=posts[0].account_id,
            network=posts[0].network,
            external_id=posts[0].account.external_id,
            name=posts[0].account.name,
        )
        query = str(account.config.value("listen_query") or "") if account else ""
        seen = [  # the spike alert's post type: top_words reads any post
            NegativePost(p.posted_at, p.text, p.verified, p.permalink, p.network, p.followers)
            for p in posts
        ]
        # The words searched for say nothing new: the brand's name is in every post.
        searched = [posts[0].account.handle or "", *re.findall(r"\w+", query)]
        fact = ListeningSummary(
            self.context.label(posts[0].network),
            query,
            len(posts),
            sum(p.sentiment == "negative" for p in posts),
            top_words(seen, ignored_words=searched),
            tuple(p.permalink for p in posts if p.permalink)[:EXAMPLES],
        )
        key = f"listen-summary:{posts[0].id}-{posts[-1].id}"
        self.context.outbox.channel(session, self.channel, key, fact)

    # --- the card's buttons --------------------------------------------------------------------
    def engage(self, post_id: int, user: str) -> None:
        """A support conversation from the post, in its account's channel, owned by whoever
        engaged; the listening card says who."""
        with self.context.transaction() as session:
            post = session.get(ListenedPost, post_id)
            if post is None:
                raise UnknownConversation(f"no listened post {post_id}")
            if post.status != "new":
                return  # a double click, or somebody else was first
            spec = self.context.accounts.spec(post.network)
            handles = spec.handles if spec else None
            profile = (
                handles.profile_url(post.handle) if handles and handles.valid(post.handle) else ""
            )
            inbound = _inbound(post, profile)
            self.ingest.ingest(session, post.account, [inbound], self.ingest.read([inbound]))
            message = repo.message_by_external_id(session, post.network, post.external_id)
            post.status, post.decided_by = "engaged", user
            if message is not None:
                post.conversation_id = message.conversation_id
                if repo.claim(session, message.conversation_id, user):
                    self.context.events.emit(
                        session, EventKind.CLAIMED, message.conversation, by=user, via="listening"
                    )
                message.conversation.by_hand = spec is not None and not spec.answers_listened_posts
            repo.audit(
                session, post.conversation_id, user, "listen_engage", self.context.clock.now()
            )
            self.context.outbox.listen_card(session, self.channel or "", post.id, update=True)

    def dismiss(self, post_id: int, user: str) -> None:
        with self.context.transaction() as session:
            post = session.get(ListenedPost, post_id)
            if post is None or post.status != "new":
                return
            post.status, post.decided_by = "dismissed", user
            self.context.outbox.listen_card(session, self.channel or "", post.id, update=True)


def reads_this_month(context: Context) -> tuple[tuple[str, int, int | None], ...]:
    """Per account with a LISTEN_QUERY: the posts read this month, and its budget."""
    month = _month_key(context.clock.now())
    figures = []
    with context.database.reading() as session:
        for account in context.accounts:
            if not account.config.value("listen_query") or account.account_id is None:
                continue
            row = session.get(PostReads, (account.account_id, month))
            budget = account.config.value("read_budget")
            figures.append((account.name, row.posts if row else 0, int(budget) if budget else None))
    return tuple(figures)


def _inbound(post: ListenedPost, profile_url: str) -> InboundMessage:
    author = Author(
        post.author_id, post.handle, post.name, post.followers, post.verified, profile_url
    )
    return InboundMessage(
        post.network, post.external_id, author, post.text, post.posted_at, Visibility.PUBLIC,
        permalink=post.permalink,
    )  # fmt: skip


def _cards_since(session: Session, since: datetime) -> int:
    """Cards the listening channel got since `since` (engaged or dismissed ones included)."""
    query = select(func.count(ListenedPost.id)).where(
        ListenedPost.found_at >= since,
        ListenedPost.status.in_(("new", "engaged", "dismissed")),
    )
    return int(session.scalar(query) or 0)


def _month_key(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")  # X's billing month is UTC's


def _month(session: Session, account_id: int, now: datetime) -> PostReads:
    key = (account_id, _month_key(now))
    row = session.get(PostReads, key)
    if row is None:
        row = PostReads(account_id=account_id, month=key[1], posts=0, paused_said=False)
        session.add(row)
        session.flush()
    return row


def _count(session: Session, account_id: int, now: datetime, posts: int) -> None:
    _month(session, account_id, now).posts += posts
