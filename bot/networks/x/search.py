"""Listening: posts anyone writes that match the brand's query, through X's recent search, page by
page, each page with what it cost.

X bills every post it returns ("Posts: Read", pay-per-use, counted per app against a monthly cap:
docs.x.com/x-api/fundamentals/post-cap), so each batch says how many posts X returned, the ones
Carebridge leaves out included (retweets, the brand's own posts, malformed ones), and `search`
takes the most posts it may read. X bills a post once per UTC day however often it is returned,
so counting what it returned never undercounts.

The cursor is the mentions' (bot/networks/x/inbound.py, `Walk`): the newest id stored, used as
since_id; while a backlog is walked over several polls, where the walk stands. Recent search
reaches seven days back and refuses older bounds (a start_time, or a since_id made, more than
seven days ago): a cursor that old, after a pause, goes on from the oldest post X still has
instead of failing every poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
import tweepy

from bot.clock import Clock
from bot.domain.model import NetworkEvent
from bot.networks.base import AccountIdentity, Batch
from bot.networks.x import payloads as read
from bot.networks.x.errors import translated
from bot.networks.x.inbound import TWEET_FIELDS, USER_FIELDS, Walk, public_post

log = structlog.get_logger(__name__)

# docs.x.com/x-api/posts/search/introduction: recent search covers the last seven days.
RECENT_WINDOW = timedelta(days=7)
# Kept inside X's seven days, for clock skew and the request's own time.
WINDOW_MARGIN = timedelta(minutes=10)
# X refuses a start_time less than 10 seconds before the request (and serves posts some
# seconds after they were posted anyway).
NEWEST_START = timedelta(seconds=30)
# max_results of recent search: 10 to 100 (docs.x.com/x-api/posts/recent-search).
PAGE_MIN, PAGE_MAX = 10, 100
SEARCH_TWEET_FIELDS = [*TWEET_FIELDS, "referenced_tweets"]  # to tell retweets


@dataclass(frozen=True)
class SearchBatch(Batch):
    """A page of search results: the customers' posts (oldest first) and the cursor to keep once
    they are stored, as any Batch; and what X returned in the page, which is what it bills."""

    posts_read: int = 0  # posts X returned (data and includes.tweets), kept or not
    users_read: int = 0  # user objects it returned with them (includes.users, the authors)


class Listening:
    def __init__(
        self,
        client: tweepy.Client,
        me: Callable[[], AccountIdentity],
        clock: Clock,
        pages_per_poll: int,
    ) -> None:
        self.client = client
        self.me = me  # the brand account, looked up once
        self.clock = clock
        self.pages_per_poll = pages_per_poll

    def search(
        self, query: str, cursor: str | None, since: datetime, *, max_posts: int | None = None
    ) -> Iterator[SearchBatch]:
        """Posts matching `query` newer than `cursor`; with no cursor, those since `since`.

        Reads at most `max_posts` posts (None: no limit): X answers 10 to 100 a page, so the
        search stops when less than 10 are left. Pages are fetched as the caller iterates; a
        caller that stops iterating reads no more. Raises RateLimited, CredentialsRefused,
        TransientError or PermanentError (a query X refuses, with X's reason).
        """
        now = self.clock.now()
        oldest = now - RECENT_WINDOW + WINDOW_MARGIN
        walk = _usable(Walk.of(cursor), oldest)
        if walk.known and read.posted_at(walk.known) > oldest:
            window: dict[str, Any] = {"since_id": walk.known}
        else:  # a first search, or a cursor X no longer takes: a window, fixed while it is walked
            start = read.parse_time(walk.start_time) or (oldest if walk.known else since)
            start = min(max(start, oldest), now - NEWEST_START)
            walk = replace(walk, start_time=read.iso(start))
            window = {"start_time": walk.start_time}
        newest, until = walk.newest, walk.resume
        remaining = max_posts
        for number in range(1, self.pages_per_poll + 1):
            size = PAGE_MAX if remaining is None else min(PAGE_MAX, remaining)
            if size < PAGE_MIN:
                log.info("x.search.budget_spent", page=number, left=remaining)
                return  # the cursor stays where the last batch left it
            with translated("searching posts"):
                body = read.page(
                    self.client.search_recent_tweets(
                        query,
                        max_results=size,
                        until_id=until,
                        expansions=["author_id"],
                        tweet_fields=SEARCH_TWEET_FIELDS,
                        user_fields=USER_FIELDS,
                        user_auth=True,
                        **window,
                    )
                )
            includes = read.as_dict(body.get("includes"))
            posts_read = len(body.get("data") or []) + _count(includes.get("tweets"))
            users_read = _count(includes.get("users"))
            remaining = None if remaining is None else remaining - posts_read
            meta = read.as_dict(body.get("meta"))
            # As for mentions: what X should not have sent is left out, so that a cursor never
            # moves back nor a walk loops.
            tweets = [t for t in read.items(body) if read.within(t.get("id"), walk.known, until)]
            if newest is None and read.within(meta.get("newest_id"), walk.known, until):
                newest = meta["newest_id"]
            for tweet in tweets:
                newest = read.max_id(newest, tweet["id"])
            events = read.oldest_first(self._posts({**body, "data": tweets}))
            log.info("x.search.page", page=number, read=posts_read, kept=len(events))
            oldest_seen = min((t["id"] for t in tweets), key=int, default=None)
            if oldest_seen is None or not isinstance(meta.get("next_token"), str):
                yield SearchBatch(events, walk.finished(newest), posts_read, users_read)
                return
            # Older ones wait: go on below the oldest seen, in this poll or the next.
            until = oldest_seen
            yield SearchBatch(events, walk.stopped_at(newest, until), posts_read, users_read)

    def _posts(self, body: dict[str, Any]) -> list[NetworkEvent]:
        users = read.users_by_id(body)
        me = self.me().external_id
        found: list[NetworkEvent] = []
        for tweet in read.items(body):
            author_id = tweet.get("author_id")
            author = users.get(author_id) if read.is_id(author_id) else None
            if not read.is_id(tweet.get("id")) or author is None or not read.has_text(tweet):
                log.warning("x.item_skipped", stream="search", reason="malformed tweet")
                continue
            if author.external_id == me or _retweet(tweet):
                continue  # the brand's own post; a retweet repeats a post, not a customer
            found.append(public_post(tweet, author, self.clock))
        return found


def _usable(walk: Walk, oldest: datetime) -> Walk:
    """The walk, without what X would refuse: ids that are not ids, and a walk whose next posts
    are older than X's seven days (nothing is left to fetch below it)."""
    if walk.known is not None and not read.is_id(walk.known):
        return Walk()
    if walk.resume is not None and (
        not read.is_id(walk.resume) or read.posted_at(walk.resume) <= oldest
    ):
        return Walk.of(walk.finished(walk.newest))
    return walk


def _retweet(tweet: dict[str, Any]) -> bool:
    references = tweet.get("referenced_tweets")
    return isinstance(references, list) and any(
        isinstance(r, dict) and r.get("type") == "retweeted" for r in references
    )


def _count(items: Any) -> int:
    return len(items) if isinstance(items, list) else 0
