"""The X emulator's recent search: its query matcher on a table of queries, the endpoint through
the real tweepy client (pages, meta, the seven days, X's refusals, rate limits), the posts it
counts as read per app, and the recorded real exchange
(`shared/fixtures/x-api-v2/test_client_search_recent_tweets.json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import tweepy

from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.networks.x.emulator_search import QueryRefused, first_id_after, parse, post_view
from tests.networks.x.test_emulator import BRAND, FIXTURES, FakeClock, make_client, seed

SEARCH = "GET /2/tweets/search/recent"
SHOP = {
    "consumer_key": "shop-consumer-key",
    "consumer_secret": "shop-consumer-secret",
    "access_token": "acmeshop-access-token",
    "access_token_secret": "acmeshop-access-token-secret",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XEmulator]:
    with XEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def raw(x: XEmulator) -> tweepy.Client:
    return make_client(x, return_type=dict)


def minutes_ago(clock: FakeClock, minutes: float) -> str:
    moment = datetime.fromtimestamp(clock.now - minutes * 60, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(tweepy.BadRequest) as caught:
        call()
    body: dict[str, Any] = caught.value.response.json()
    assert body["title"] == "Invalid Request"
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["detail"] == "One or more parameters to your request was invalid."
    return body


# --- the matcher --------------------------------------------------------------------------------
@pytest.fixture
def corpus(x: XEmulator) -> dict[str, dict[str, Any]]:
    """Posts by label; none of them but "reply" is addressed to the brand."""
    x.add_user("giulia")
    x.add_user("bob")
    x.add_user("carl")
    x.add_user("erin", verified=True)
    posts = {
        "it": x.post_tweet("giulia", "Acme ha perso il mio pacco #AcmeCare", lang="it"),
        "en": x.post_tweet("bob", "acme delivery was late again"),
        "brand": x.post_tweet("acmecare", "Acme summer sale!"),
        "accent": x.post_tweet("giulia", "Il caffè di Acmé è ottimo", lang="it"),
        "verified": x.post_tweet("erin", "Customer Service at ACME was fantastic"),
        "other": x.post_tweet("carl", "nothing to see here"),
    }
    posts["rt"] = x.retweet("carl", posts["en"]["id"])
    posts["reply"] = x.post_tweet(
        "bob", "@acmecare my coca-cola arrived frozen", in_reply_to_tweet_id=posts["brand"]["id"]
    )
    return posts


MATCHES = [
    ("acme", {"it", "en", "brand", "accent", "verified", "rt"}),  # case and accents ignored
    ("acme -is:retweet", {"it", "en", "brand", "accent", "verified"}),
    ("acme -from:acmecare -is:retweet", {"it", "en", "accent", "verified"}),
    ("acme lang:it", {"it", "accent"}),
    ("#acmecare", {"it"}),
    ("#acme", set()),  # a hashtag is an exact match, not a prefix
    ("@acmecare", {"reply"}),
    ("to:acmecare", {"reply"}),
    ("from:bob", {"en", "reply"}),
    ('"customer service"', {"verified"}),
    ('"service customer"', set()),
    ('"coca cola"', {"reply"}),  # tokens: punctuation only separates
    ("coca-cola frozen", {"reply"}),
    ("acme is:verified", {"verified"}),
    ("frozen is:reply", {"reply"}),
    ("retweets_of:bob", {"rt"}),
    ("late OR frozen", {"en", "rt", "reply"}),
    # AND binds before OR: "late OR (frozen -is:reply)".
    ("late OR frozen -is:reply", {"en", "rt"}),
    ("(late OR frozen) -is:retweet", {"en", "reply"}),
    ("acme -(late OR sale OR pacco)", {"accent", "verified"}),  # the retweet is late too
    ("acme has:hashtags", {"it"}),
    ("acme -has:mentions", {"it", "en", "brand", "accent", "verified"}),
    ("acme place_country:IT", set()),  # documented, not emulated: matches nothing
]


@pytest.mark.parametrize(("query", "expected"), MATCHES)
def test_the_matcher_on_a_table_of_queries(
    x: XEmulator, corpus: dict[str, dict[str, Any]], query: str, expected: set[str]
) -> None:
    users = {uid: x.user(uid) for uid in {p["author_id"] for p in corpus.values()}}
    tweets = {p["id"]: p for p in corpus.values()}
    node = parse(query)
    found = {
        label for label, post in corpus.items() if node.matches(post_view(post, users, tweets))
    }
    assert found == expected


REFUSED = [
    ("acme and care", 'Ambiguous use of and as a keyword. Use a space to logically join two '
     'clauses, or "and" to find occurrences of and in text (at position 6)'),
    ("(pepsi OR cola OR 'coca cola')", "no viable alternative at character ''' (at position 19)"),
    ("is:retweet lang:en", "is/has/lang cannot be used as a standalone operator (at position 1)"),
    ("-acme -is:retweet", "Rules must contain a non-negation term (at position 1), Rules must "
     "contain at least one positive, non-stopword clause (at position 1)"),
    ("a", "Rules must contain at least one positive, non-stopword clause (at position 1)"),
    ("acme)", "missing EOF at ')' (at position 5)"),
    ("filter:replies acme", "Reference to invalid operator 'filter'. Operator is not available "
     "in current product or product packaging. (at position 1)"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "message"), REFUSED)
def test_queries_x_refuses_are_refused_in_xs_words(
    raw: tweepy.Client, query: str, message: str
) -> None:
    body = refusal(lambda: raw.search_recent_tweets(query, user_auth=True))
    assert body["errors"] == [
        {
            "parameters": {"query": [query]},
            "message": f"There were errors processing your request: {message}",
        }
    ]


def test_a_query_over_512_characters_is_refused(raw: tweepy.Client) -> None:
    assert raw.search_recent_tweets("a" * 510 + " b", user_auth=True) == {
        "meta": {"result_count": 0}
    }
    body = refusal(lambda: raw.search_recent_tweets("a" * 511 + " b", user_auth=True))
    assert body["errors"][0]["parameters"] == {"query": ["a" * 511 + " b"]}
    with pytest.raises(QueryRefused):
        parse("(acme")


# --- the endpoint -------------------------------------------------------------------------------
def test_results_newest_first_with_meta_pages_and_expansions(
    x: XEmulator, raw: tweepy.Client, clock: FakeClock
) -> None:
    x.add_user("giulia", "Giulia R.", followers=12)
    posted = []
    for n in range(25):
        clock.advance(1)
        posted.append(x.post_tweet("giulia", f"acme question {n}")["id"])
    x.post_tweet("giulia", "unrelated")

    first = raw.search_recent_tweets(
        "acme",
        max_results=10,
        expansions=["author_id"],
        tweet_fields=["created_at", "author_id", "lang"],
        user_fields=["public_metrics", "verified"],
        user_auth=True,
    )
    assert [t["id"] for t in first["data"]] == posted[::-1][:10]
    assert set(first["data"][0]) == {
        "id", "text", "edit_history_tweet_ids", "created_at", "author_id", "lang",
    }  # fmt: skip
    assert set(first["meta"]) == {"newest_id", "oldest_id", "result_count", "next_token"}
    assert (first["meta"]["newest_id"], first["meta"]["oldest_id"]) == (posted[24], posted[15])
    [giulia] = first["includes"]["users"]
    assert giulia["public_metrics"]["followers_count"] == 12
    assert set(giulia) == {"id", "name", "username", "public_metrics", "verified"}

    pages = [first]
    while "next_token" in pages[-1]["meta"]:
        pages.append(
            raw.search_recent_tweets(
                "acme", max_results=10, next_token=pages[-1]["meta"]["next_token"], user_auth=True
            )
        )
    assert [p["meta"]["result_count"] for p in pages] == [10, 10, 5]
    assert [t["id"] for p in pages for t in p["data"]] == posted[::-1]
    # Search pages forward only: no previous_token, unlike the timelines.
    assert all("previous_token" not in p["meta"] for p in pages)

    newer = raw.search_recent_tweets("acme", since_id=posted[20], user_auth=True)
    assert [t["id"] for t in newer["data"]] == posted[:20:-1]
    window = raw.search_recent_tweets(
        "acme", start_time=minutes_ago(clock, 0.25), end_time=minutes_ago(clock, 1 / 6),
        user_auth=True,
    )  # fmt: skip
    # start_time inclusive, end_time exclusive: 15 s to 10 s ago is five posts.
    assert len(window["data"]) == 5


@pytest.mark.parametrize("max_results", [9, 101])
def test_max_results_out_of_range_is_xs_400(raw: tweepy.Client, max_results: int) -> None:
    body = refusal(
        lambda: raw.search_recent_tweets("acme", max_results=max_results, user_auth=True)
    )
    assert body["errors"] == [
        {
            "parameters": {"max_results": [str(max_results)]},
            "message": f"The `max_results` query parameter value [{max_results}] is not between "
            "10 and 100",
        }
    ]


def test_only_the_last_seven_days_are_searched(
    x: XEmulator, raw: tweepy.Client, clock: FakeClock
) -> None:
    x.add_user("bob")
    x.post_tweet("bob", "acme long ago", created_at=clock.now - 8 * 86400)
    recent = x.post_tweet("bob", "acme recently", created_at=clock.now - 6 * 86400)
    found = raw.search_recent_tweets("acme", user_auth=True)
    assert [t["id"] for t in found["data"]] == [recent["id"]]

    eight_days_ago = datetime.fromtimestamp(clock.now - 8 * 86400, UTC)
    oldest = datetime.fromtimestamp(clock.now - 7 * 86400, UTC).strftime("%Y-%m-%dT%H:%MZ")
    body = refusal(
        lambda: raw.search_recent_tweets(
            "acme", start_time=eight_days_ago.strftime("%Y-%m-%dT%H:%M:%SZ"), user_auth=True
        )
    )
    shown = eight_days_ago.strftime("%Y-%m-%dT%H:%MZ")
    assert body["errors"] == [
        {
            "parameters": {"start_time": [shown]},
            "message": f"Invalid 'start_time':'{shown}'. 'start_time' must be on or after {oldest}",
        }
    ]
    old_id = str(first_id_after(eight_days_ago))
    body = refusal(lambda: raw.search_recent_tweets("acme", since_id=old_id, user_auth=True))
    [error] = body["errors"]
    assert error["parameters"] == {"since_id": [old_id]}
    assert error["message"].startswith(f"'since_id' must be a tweet id created after {oldest}.")
    assert "Please use a 'since_id' that is larger than " in error["message"]

    body = refusal(
        lambda: raw.search_recent_tweets("acme", end_time=minutes_ago(clock, 0), user_auth=True)
    )
    assert body["errors"][0]["message"].endswith(
        "'end_time' must be a minimum of 10 seconds prior to the request time."
    )


def test_posts_are_found_some_seconds_after_they_were_posted(clock: FakeClock) -> None:
    with XEmulator(clock=clock, search_delay=20) as x:
        x.add_user("bob")
        raw = make_client(x, return_type=dict)
        x.post_tweet("bob", "acme just now")
        assert raw.search_recent_tweets("acme", user_auth=True) == {"meta": {"result_count": 0}}
        clock.advance(20)
        assert raw.search_recent_tweets("acme", user_auth=True)["meta"]["result_count"] == 1


def test_rate_limit_headers_and_429(x: XEmulator, clock: FakeClock) -> None:
    client = make_client(x, return_type=requests.Response)
    answer = client.search_recent_tweets("acme", user_auth=True)
    assert answer.headers["x-rate-limit-limit"] == "450"
    assert answer.headers["x-rate-limit-remaining"] == "449"
    assert int(answer.headers["x-rate-limit-reset"]) == int(clock.now) + 15 * 60

    x.rate_limit(SEARCH, reset_in=90)
    with pytest.raises(tweepy.TooManyRequests) as caught:
        client.search_recent_tweets("acme", user_auth=True)
    assert int(caught.value.response.headers["x-rate-limit-reset"]) == int(clock.now) + 90


# --- what X bills -------------------------------------------------------------------------------
def test_posts_read_are_counted_per_app_and_billed_once_a_day(
    x: XEmulator, raw: tweepy.Client, clock: FakeClock
) -> None:
    x.add_account("acmeshop", **SHOP)
    shop = make_client(x, "acmeshop", return_type=dict)
    x.add_user("bob")
    for n in range(3):
        x.post_tweet("bob", f"@acmecare acme {n}")
    brand_app = SANDBOX_CREDENTIALS["consumer_key"]

    raw.search_recent_tweets("acme", user_auth=True)
    raw.search_recent_tweets("acme", user_auth=True)
    raw.get_users_mentions(x.brand_id, user_auth=True)  # the same posts, by another route
    shop.search_recent_tweets("acme", max_results=10, user_auth=True)
    raw.search_recent_tweets("nothing", user_auth=True)
    with pytest.raises(tweepy.BadRequest):
        raw.search_recent_tweets("acme and", user_auth=True)  # a refusal reads nothing

    assert x.posts_served(brand_app) == 9
    assert x.posts_served(brand_app, route=SEARCH) == 6
    assert x.posts_billed(brand_app) == 3  # each post once a day, whatever the route
    assert (x.posts_served(SHOP["consumer_key"]), x.posts_billed(SHOP["consumer_key"])) == (3, 3)
    clock.advance(86400)
    raw.search_recent_tweets("acme", user_auth=True)
    assert x.posts_billed(brand_app) == 6  # a new day: billed again
    assert x.posts_billed() == 9


# --- the recorded exchange ----------------------------------------------------------------------
def test_the_answer_has_the_shape_of_the_recorded_one() -> None:
    [exchange] = json.loads((FIXTURES / "test_client_search_recent_tweets.json").read_text())
    recorded = exchange["response_json"]
    with XEmulator(**BRAND) as x:
        seed(x, "test_client_search_recent_tweets.json", [exchange])
        client = make_client(x, return_type=requests.Response)
        answer = client.request("GET", exchange["path"], params=exchange["query"], user_auth=True)
    body = answer.json()
    assert answer.status_code == exchange["status"]
    assert {k: v for k, v in answer.headers.items() if k.startswith("x-rate-limit")}.keys() == (
        exchange["rate_limit"].keys()
    )
    assert answer.headers["x-rate-limit-limit"] == exchange["rate_limit"]["x-rate-limit-limit"]
    assert set(body) == set(recorded) == {"data", "meta"}
    assert set(body["meta"]) == set(recorded["meta"])
    assert body["meta"]["result_count"] == recorded["meta"]["result_count"] == 10
    assert [t["id"] for t in body["data"]] == [t["id"] for t in recorded["data"]]
    assert body["data"] == recorded["data"]  # the same posts, the same default fields
    assert (body["meta"]["newest_id"], body["meta"]["oldest_id"]) == (
        recorded["meta"]["newest_id"],
        recorded["meta"]["oldest_id"],
    )
    assert isinstance(body["meta"]["next_token"], str)


def test_the_recorded_query_finds_posts_the_way_x_did() -> None:
    """The recording searched "Tweepy" and found posts saying "tweepy": case is ignored."""
    [exchange] = json.loads((FIXTURES / "test_client_search_recent_tweets.json").read_text())
    assert exchange["query"] == {"query": "Tweepy"}
    assert all("tweepy" in t["text"] for t in exchange["response_json"]["data"])
    assert parse("Tweepy").matches(
        post_view(
            {"author_id": "1", "text": exchange["response_json"]["data"][0]["text"]},
            {"1": {"id": "1", "username": "TweepyDev"}},
            {},
        )
    )
