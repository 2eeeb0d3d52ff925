"""Listening: `XChannel.search` through the real tweepy client against the X emulator over HTTP.

What is checked is what the listening service relies on: pages followed, a since_id cursor, the
first search starting at `since`, what each page cost (X bills every post it returns), the read
budget, and X's failures as the domain's errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain.delivery import PermanentError, RateLimited, TransientError
from bot.domain.model import InboundMessage, Visibility
from bot.networks.x.adapter import XChannel
from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.networks.x.emulator_search import first_id_after
from bot.networks.x.search import SearchBatch
from bot.sandbox.loopback import Fault
from tests.conftest import START

QUERY = "(acme OR #acmecare) -is:retweet -from:acmecare"
SEARCH = "GET /2/tweets/search/recent"
APP = SANDBOX_CREDENTIALS["consumer_key"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def x(clock: ManualClock) -> Iterator[XEmulator]:
    with XEmulator(clock=clock.timestamp) as emulator:
        emulator.add_user("giulia", "Giulia R.", followers=1200, verified=True)
        emulator.add_user("bob")
        yield emulator


@pytest.fixture
def channel(x: XEmulator, clock: ManualClock) -> XChannel:
    return XChannel.default(
        **SANDBOX_CREDENTIALS, bearer_token=None, api_url=x.url, clock=clock, timeout=5
    )


def post_many(x: XEmulator, clock: ManualClock, count: int, text: str = "acme {n}") -> list[str]:
    ids = []
    for n in range(count):
        clock.advance(1)
        ids.append(x.post_tweet("bob", text.format(n=n))["id"])
    return ids


def ids(batches: list[SearchBatch]) -> list[str]:
    return [m.external_id for batch in batches for m in batch.messages]


def test_a_first_search_starts_at_since_and_follows_every_page(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    post_many(x, clock, 3, "acme too old {n}")
    clock.advance(3600)
    since = clock.now()
    clock.advance(1)
    posted = post_many(x, clock, 120)
    x.post_tweet("bob", "nothing to do with the brand")
    clock.advance(60)

    batches = list(channel.search(QUERY, None, since))

    assert [len(b.messages) for b in batches] == [100, 20]
    # Oldest first in each page; the pages themselves come newest first, as X lists them.
    assert ids(batches) == posted[20:] + posted[:20]
    assert [b.posts_read for b in batches] == [100, 20]
    assert [b.users_read for b in batches] == [1, 1]  # one author, expanded once a page
    assert batches[-1].cursor == posted[-1]  # since_id for the next search
    first, second = x.calls(SEARCH)
    assert first.query["start_time"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "since_id" not in first.query
    assert first.query["query"] == QUERY
    assert first.query["max_results"] == "100"
    assert second.query["until_id"] == posted[20]  # below the oldest of the first page
    assert x.posts_served(APP) == 120


def test_a_search_with_a_cursor_returns_only_newer_posts(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    since = clock.now()
    post_many(x, clock, 5)
    clock.advance(60)
    [first] = channel.search(QUERY, None, since)
    assert first.cursor is not None

    later = post_many(x, clock, 3, "acme later {n}")
    clock.advance(60)
    [second] = channel.search(QUERY, first.cursor, since)

    assert [m.external_id for m in second.messages] == later
    assert second.cursor == later[-1]
    request = x.calls(SEARCH)[-1]
    assert request.query["since_id"] == first.cursor
    assert "start_time" not in request.query
    clock.advance(60)
    [nothing] = channel.search(QUERY, second.cursor, since)
    assert (nothing.messages, nothing.cursor, nothing.posts_read) == ([], later[-1], 0)


def test_posts_become_messages_like_mentions(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    since = clock.now()
    clock.advance(5)
    post = x.post_tweet("giulia", "Acme ha perso il mio pacco #AcmeCare", lang="it")
    clock.advance(60)

    [batch] = channel.search(QUERY, None, since)

    [message] = batch.messages
    assert isinstance(message, InboundMessage)
    assert message.network == "x"
    assert message.external_id == post["id"]
    assert message.text == post["text"]
    assert message.visibility is Visibility.PUBLIC
    assert message.created_at == clock.now() - timedelta(seconds=60)
    assert message.permalink == f"https://x.com/giulia/status/{post['id']}"
    author = message.author
    assert (author.handle, author.name, author.followers, author.verified) == (
        "giulia",
        "Giulia R.",
        1200,
        True,
    )
    assert author.profile_url == "https://x.com/giulia"
    assert message.attachments == ()


def test_retweets_and_the_brands_own_posts_are_read_and_counted_but_not_kept(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    since = clock.now()
    clock.advance(1)
    customer = x.post_tweet("giulia", "acme where is my order")
    clock.advance(1)
    x.retweet("bob", customer["id"])
    clock.advance(1)
    x.post_tweet("acmecare", "acme: our summer sale")
    clock.advance(60)

    # A query that lets both through, so that X bills them: the read count must say so.
    [batch] = channel.search("acme", None, since)

    assert [m.external_id for m in batch.messages] == [customer["id"]]
    assert batch.posts_read == 3
    assert x.posts_served(APP, route=SEARCH) == 3


def test_the_read_budget_sizes_the_pages_and_a_later_search_goes_on_where_it_stopped(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    since = clock.now()
    posted = post_many(x, clock, 60)
    clock.advance(60)

    [first] = channel.search(QUERY, None, since, max_posts=25)
    assert first.posts_read == 25
    assert [m.external_id for m in first.messages] == posted[35:]
    assert x.calls(SEARCH)[-1].query["max_results"] == "25"
    # Not a plain id: the walk through the backlog is not over.
    assert json.loads(first.cursor or "")["resume"] == posted[35]

    # Less than one page (X's minimum is 10) left: nothing is read, the cursor stays.
    assert list(channel.search(QUERY, first.cursor, since, max_posts=9)) == []
    assert len(x.calls(SEARCH)) == 1

    rest = list(channel.search(QUERY, first.cursor, since))
    assert ids(rest) == posted[:35]
    assert rest[-1].cursor == posted[-1]
    assert x.posts_served(APP) == 60  # no post read twice
    assert x.posts_billed(APP) == 60


def test_the_page_limit_leaves_the_rest_for_the_next_search(
    x: XEmulator, clock: ManualClock
) -> None:
    channel = XChannel.default(
        **SANDBOX_CREDENTIALS,
        bearer_token=None,
        api_url=x.url,
        clock=clock,
        timeout=5,
        pages_per_poll=1,
    )
    since = clock.now()
    posted = post_many(x, clock, 130)
    clock.advance(60)
    [first] = channel.search(QUERY, None, since)
    later = post_many(x, clock, 2, "acme meanwhile {n}")
    clock.advance(60)
    [second] = channel.search(QUERY, first.cursor, since)
    assert [m.external_id for m in second.messages] == posted[:30]
    # The walk fixed its window when it started: the first search's start_time, again.
    assert x.calls(SEARCH)[-1].query["start_time"] == x.calls(SEARCH)[0].query["start_time"]
    [third] = channel.search(QUERY, second.cursor, since)
    assert [m.external_id for m in third.messages] == later
    assert third.cursor == later[-1]


def test_a_cursor_older_than_seven_days_goes_on_from_what_x_still_has(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    stale = str(first_id_after(clock.now() - timedelta(days=8)))
    posted = post_many(x, clock, 2)
    clock.advance(60)

    [batch] = channel.search(QUERY, stale, clock.now() - timedelta(days=30))

    assert [m.external_id for m in batch.messages] == posted
    request = x.calls(SEARCH)[-1]
    assert "since_id" not in request.query  # X refuses a since_id made over seven days ago
    start = request.query["start_time"]
    assert start == (clock.now() - timedelta(days=7, minutes=-10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_since_in_the_last_seconds_is_moved_back_as_x_requires(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    assert list(channel.search(QUERY, None, clock.now())) == [
        SearchBatch([], None, posts_read=0, users_read=0)
    ]
    start = x.calls(SEARCH)[-1].query["start_time"]
    assert start == (clock.now() - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_rate_limit_is_rate_limited_until_xs_reset(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    x.rate_limit(SEARCH, reset_in=120)
    with pytest.raises(RateLimited) as caught:
        list(channel.search(QUERY, None, clock.now() - timedelta(hours=1)))
    assert caught.value.retry_at == clock.now() + timedelta(seconds=120)


def test_a_server_error_is_transient(x: XEmulator, channel: XChannel, clock: ManualClock) -> None:
    x.inject(SEARCH, Fault.server_error(503))
    with pytest.raises(TransientError, match="503 while searching posts"):
        list(channel.search(QUERY, None, clock.now() - timedelta(hours=1)))


def test_a_malformed_query_is_permanent_with_xs_reason(
    x: XEmulator, channel: XChannel, clock: ManualClock
) -> None:
    with pytest.raises(PermanentError) as caught:
        list(channel.search("acme and care", None, clock.now() - timedelta(hours=1)))
    assert caught.value.reason == (
        "X refused (400) while searching posts: There were errors processing your request: "
        "Ambiguous use of and as a keyword. Use a space to logically join two clauses, or "
        '"and" to find occurrences of and in text (at position 6)'
    )
