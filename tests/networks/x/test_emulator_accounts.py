"""Several brand accounts on the X emulator: who is calling, as X decides it.

Each account signs with its own OAuth 1.0a credentials; the emulator verifies the HMAC-SHA1
signature and answers as that account (`users/me`, its DMs, its tweets, its rate-limit windows).
Everything goes through the real tweepy `Client`, as the bot's adapter drives X.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import tweepy
from requests_oauthlib import OAuth1

from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.networks.x.http import X_API_BASE_URL, RewritingAdapter, point_client_at
from bot.sandbox.loopback import Request
from tests.networks.x.test_emulator import FakeClock, make_client

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}

# @acmebrand shares the sandbox app with @acmecare (one developer app, several brand accounts, as
# on X) but has its own access token.
ACMEBRAND = {
    "consumer_key": SANDBOX_CREDENTIALS["consumer_key"],
    "consumer_secret": SANDBOX_CREDENTIALS["consumer_secret"],
    "access_token": "acmebrand-access-token",
    "access_token_secret": "acmebrand-access-token-secret",
}
# @acmeshop is on an app of its own.
ACMESHOP = {
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
        emulator.add_account("acmebrand", "Acme Brand", followers=5000, **ACMEBRAND)
        emulator.add_account("acmeshop", "Acme Shop", **ACMESHOP)
        yield emulator


def bot_client(emulator: XEmulator, **credentials: str) -> tweepy.Client:
    """A client built as the bot's adapter builds it (return_type=dict), with these credentials."""
    client = tweepy.Client(**credentials, return_type=dict)
    point_client_at(client, emulator.url, timeout=5)
    return client


@pytest.fixture
def care(x: XEmulator) -> tweepy.Client:
    return bot_client(x, **x.credentials("acmecare"))


@pytest.fixture
def brand(x: XEmulator) -> tweepy.Client:
    return bot_client(x, **x.credentials("acmebrand"))


def refused(call: Any) -> dict[str, Any]:
    """Run `call`, which must fail with 401 through tweepy; the body X sent."""
    with pytest.raises(tweepy.Unauthorized) as caught:
        call()
    return caught.value.response.json()


# --- who is calling ----------------------------------------------------------------------------
def test_the_sandbox_settings_sign_as_the_default_brand(x: XEmulator) -> None:
    # The literal values of bot/sandbox/world.py, not taken from the emulator.
    client = bot_client(
        x,
        consumer_key="sandbox-consumer-key",
        consumer_secret="sandbox-consumer-secret",
        access_token="sandbox-access-token",
        access_token_secret="sandbox-access-token-secret",
    )
    assert client.get_me(user_auth=True) == {
        "data": {"id": "1000000000000000001", "name": "Acme Care", "username": "acmecare"}
    }
    assert x.credentials("acmecare") == dict(SANDBOX_CREDENTIALS)


def test_each_account_sees_itself_in_users_me(
    x: XEmulator, care: tweepy.Client, brand: tweepy.Client
) -> None:
    shop = bot_client(x, **ACMESHOP)
    me = {
        name: client.get_me(user_auth=True, user_fields=["public_metrics"])["data"]
        for name, client in (("care", care), ("brand", brand), ("shop", shop))
    }
    assert {name: data["username"] for name, data in me.items()} == {
        "care": "acmecare",
        "brand": "acmebrand",
        "shop": "acmeshop",
    }
    assert me["brand"]["id"] == x.user("acmebrand")["id"] != x.brand_id
    assert me["brand"]["name"] == "Acme Brand"
    assert me["brand"]["public_metrics"]["followers_count"] == 5000


def test_each_account_lists_and_sends_only_its_own_dms(
    x: XEmulator, care: tweepy.Client, brand: tweepy.Client, clock: FakeClock
) -> None:
    alice = x.add_user("alice")
    bob = x.add_user("bob")
    brand_id = x.user("acmebrand")["id"]
    x.send_dm("alice", "to acmecare: where is my refund?")  # the default recipient
    clock.advance(1)
    x.send_dm("bob", "to acmebrand: hello", recipient="acmebrand")
    clock.advance(1)

    def texts(client: tweepy.Client, **options: Any) -> list[str]:
        body = client.get_direct_message_events(user_auth=True, **options)
        return [event["text"] for event in body.get("data", [])]

    assert texts(care) == ["to acmecare: where is my refund?"]
    assert texts(brand) == ["to acmebrand: hello"]

    # The per-conversation listings give nothing for a conversation the caller is not in.
    care_alice = f"{x.brand_id}-{alice['id']}"
    assert texts(brand, dm_conversation_id=care_alice) == []
    assert texts(brand, participant_id=alice["id"]) == []
    assert texts(care, dm_conversation_id=care_alice) == ["to acmecare: where is my refund?"]

    # Sending: the sender is the caller, and only into its own conversations.
    sent = brand.create_direct_message(participant_id=bob["id"], text="Hi Bob", user_auth=True)
    assert sent["data"]["dm_conversation_id"] == f"{brand_id}-{bob['id']}"
    with pytest.raises(tweepy.Forbidden):
        brand.create_direct_message(dm_conversation_id=care_alice, text="not mine", user_auth=True)
    group = brand.create_direct_message_conversation(
        text="Both of you", participant_ids=[alice["id"], bob["id"]], user_auth=True
    )
    assert [(d["text"], d["sender_id"]) for d in x.sent_dms] == [
        ("Hi Bob", brand_id),
        ("Both of you", brand_id),
    ]

    assert texts(brand) == ["Both of you", "Hi Bob", "to acmebrand: hello"]
    assert texts(care) == ["to acmecare: where is my refund?"]  # unchanged
    group_id = group["data"]["dm_conversation_id"]
    assert texts(care, dm_conversation_id=group_id) == []


def test_each_account_tweets_as_itself(
    x: XEmulator, care: tweepy.Client, brand: tweepy.Client
) -> None:
    x.add_user("alice")
    mention = x.post_tweet("alice", "@acmebrand @acmecare my parcel?")
    brand_id = x.user("acmebrand")["id"]

    care.create_tweet(text="We are on it", in_reply_to_tweet_id=mention["id"], user_auth=True)
    # The same text from another account is no duplicate: the check is per author.
    reply = brand.create_tweet(
        text="We are on it", in_reply_to_tweet_id=mention["id"], user_auth=True
    )
    assert [(t["text"], t["author_id"]) for t in x.sent_tweets] == [
        ("We are on it", x.brand_id),
        ("We are on it", brand_id),
    ]
    assert x.sent_tweets[1]["in_reply_to_user_id"] == mention["author_id"]
    assert [t["id"] for t in x.tweets_by("acmebrand")] == [reply["data"]["id"]]
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        brand.create_tweet(text="We are on it", user_auth=True)

    # Only the author deletes a tweet.
    with pytest.raises(tweepy.Forbidden):
        care.delete_tweet(reply["data"]["id"], user_auth=True)
    assert brand.delete_tweet(reply["data"]["id"], user_auth=True) == {"data": {"deleted": True}}
    assert x.tweets_by("acmebrand") == []

    [call] = x.calls("POST /2/tweets", account="acmecare")
    assert x.authenticated_user(call)["username"] == "acmecare"
    assert len(x.calls("POST /2/tweets", account=brand_id)) == 2  # the refused one counts too


# --- refusals ----------------------------------------------------------------------------------
# An account's credentials, and what is wrong with them.
WRONG_CREDENTIALS = {
    "wrong consumer secret": (ACMEBRAND, {"consumer_secret": "not-the-secret"}),
    "wrong token secret": (ACMEBRAND, {"access_token_secret": "not-the-secret"}),
    "unknown token": (ACMEBRAND, {"access_token": "nobody-access-token"}),
    "unknown consumer key": (ACMEBRAND, {"consumer_key": "nobody-consumer-key"}),
    # @acmeshop's token with the sandbox app, right secrets all along: a token belongs to the
    # app it was issued to.
    "token of another app": (
        ACMESHOP,
        {
            "consumer_key": SANDBOX_CREDENTIALS["consumer_key"],
            "consumer_secret": SANDBOX_CREDENTIALS["consumer_secret"],
        },
    ),
}


@pytest.mark.parametrize(
    ("account", "wrong"), WRONG_CREDENTIALS.values(), ids=WRONG_CREDENTIALS.keys()
)
def test_wrong_credentials_are_unauthorized(
    x: XEmulator, account: dict[str, str], wrong: dict[str, str]
) -> None:
    client = bot_client(x, **{**account, **wrong})
    assert refused(lambda: client.get_me(user_auth=True)) == UNAUTHORIZED
    assert refused(lambda: client.create_tweet(text="hello", user_auth=True)) == UNAUTHORIZED
    assert x.sent_tweets == []
    assert x.calls("POST /2/tweets", account=x.brand_id) == []
    # The account's own credentials work: it is the wrong part that was refused.
    right = bot_client(x, **account).get_me(user_auth=True)["data"]
    assert right["username"] in ("acmebrand", "acmeshop")


class Tampering(RewritingAdapter):
    """Sends requests to the emulator after replacing `old` with `new` in the signed URL: what
    a proxy altering a request in flight would do."""

    def __init__(self, base_url: str, old: str, new: str) -> None:
        super().__init__(base_url, timeout=5)
        self.old, self.new = old, new

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert self.old in (request.url or "")
        request.url = (request.url or "").replace(self.old, self.new)
        return super().send(request, **kwargs)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("since_id=5", "since_id=6"),  # a query value
        ("since_id=5", "since_id=5&max_results=5"),  # an added parameter
        ("/2/users/1000000000000000001/", "/2/users/1000000000000000002/"),  # the path
    ],
)
def test_a_request_altered_after_signing_is_unauthorized(
    x: XEmulator, care: tweepy.Client, old: str, new: str
) -> None:
    x.add_user("other", user_id="1000000000000000002")
    care.session.mount(X_API_BASE_URL + "/", Tampering(x.url, old, new))

    def mentions() -> dict[str, Any]:
        return care.get_users_mentions(x.brand_id, since_id="5", user_auth=True)

    assert refused(mentions) == UNAUTHORIZED
    # The same request, not altered, is served.
    care.session.mount(X_API_BASE_URL + "/", Tampering(x.url, old, old))
    assert mentions() == {"meta": {"result_count": 0}}


def test_a_revoked_token_is_unauthorized_until_restored(
    x: XEmulator, care: tweepy.Client, brand: tweepy.Client
) -> None:
    x.revoke(ACMEBRAND["access_token"])
    assert refused(lambda: brand.get_me(user_auth=True)) == UNAUTHORIZED
    assert refused(lambda: brand.get_direct_message_events(user_auth=True)) == UNAUTHORIZED
    assert refused(lambda: brand.get_users_mentions(x.brand_id, user_auth=True)) == UNAUTHORIZED
    # Another token of the same app is not affected.
    assert care.get_me(user_auth=True)["data"]["username"] == "acmecare"
    # Refused, but still sent by @acmebrand: calls() finds it.
    [refused_call] = x.calls("GET /2/users/me", account="acmebrand")
    assert x.authenticated_user(refused_call)["username"] == "acmebrand"

    x.restore(ACMEBRAND["access_token"])
    assert brand.get_me(user_auth=True)["data"]["username"] == "acmebrand"
    with pytest.raises(KeyError):
        x.revoke("nobody-access-token")


def oauth1_session(emulator: XEmulator) -> requests.Session:
    session = requests.Session()
    session.mount(X_API_BASE_URL + "/", RewritingAdapter(emulator.url, timeout=5))
    return session


def oauth1(credentials: dict[str, str], **client_options: Any) -> OAuth1:
    """requests-oauthlib's signer (what tweepy uses), for what tweepy offers no option for."""
    return OAuth1(
        credentials["consumer_key"],
        credentials["consumer_secret"],
        credentials["access_token"],
        credentials["access_token_secret"],
        **client_options,
    )


def test_a_stale_timestamp_is_unauthorized(x: XEmulator) -> None:
    session = oauth1_session(x)
    url = X_API_BASE_URL + "/2/users/me"
    stale = session.get(url, auth=oauth1(ACMEBRAND, timestamp=str(int(time.time()) - 301)))
    assert (stale.status_code, stale.json()) == (401, UNAUTHORIZED)
    recent = session.get(url, auth=oauth1(ACMEBRAND, timestamp=str(int(time.time()) - 60)))
    assert recent.status_code == 200
    assert recent.json()["data"]["username"] == "acmebrand"


def test_a_form_encoded_body_is_part_of_the_signature(x: XEmulator) -> None:
    session = oauth1_session(x)
    url = X_API_BASE_URL + "/2/tweets"
    # Signed over the body: authenticated, then refused for not being JSON (400, not 401).
    signed = session.post(url, data={"text": "hello"}, auth=oauth1(ACMEBRAND))
    assert signed.status_code == 400
    assert signed.json()["detail"] == "The request body is not a JSON object."

    prepared = session.prepare_request(
        requests.Request("POST", url, data={"text": "hello"}, auth=oauth1(ACMEBRAND))
    )
    prepared.body = "text=bye"
    prepared.headers["Content-Length"] = str(len(prepared.body))
    altered = session.send(prepared)
    assert (altered.status_code, altered.json()) == (401, UNAUTHORIZED)


def test_signature_matches_the_example_in_the_x_documentation(x: XEmulator) -> None:
    # The worked example of X's "Creating a signature" page: a form-encoded POST with a query.
    x.add_account(
        "docs",
        consumer_key="xvz1evFS4wEEPTGEFPHBog",
        consumer_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        access_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        access_token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )

    def request(signature: str) -> Request:
        header = (
            'OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", '
            'oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", '
            f'oauth_signature="{signature}", oauth_signature_method="HMAC-SHA1", '
            'oauth_timestamp="1318622958", '
            'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", '
            'oauth_version="1.0"'
        )
        return Request(
            method="POST",
            path="/1.1/statuses/update.json",
            query={"include_entities": "true"},
            headers={
                "authorization": header,
                "content-type": "application/x-www-form-urlencoded",
            },
            body=b"status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21",
            received_at=0.0,
        )

    signer = x.authenticated_user(request("hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"))
    assert signer is not None and signer["username"] == "docs"
    assert x.authenticated_user(request("hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3E")) is None


def test_authenticated_user_of_app_only_and_unsigned_requests_is_none(
    x: XEmulator, care: tweepy.Client
) -> None:
    app = tweepy.Client(bearer_token="app-token")
    point_client_at(app, x.url)
    app.get_users_mentions(x.brand_id)
    care.get_users_mentions(x.brand_id, user_auth=True)
    app_call, care_call = x.calls("GET /2/users/:id/mentions")
    assert x.authenticated_user(app_call) is None
    assert x.authenticated_user(care_call)["id"] == x.brand_id
    with pytest.raises(ValueError, match="no credentials"):
        x.calls("GET /2/users/:id/mentions", account=x.add_user("alice")["id"])


# --- accounts ----------------------------------------------------------------------------------
def test_add_account_rules(x: XEmulator) -> None:
    # The sandbox app already serves @acmecare and @acmebrand; a third account may join it.
    joined = x.add_account(
        "acmejobs", **{**ACMEBRAND, "access_token": "jobs", "access_token_secret": "s"}
    )
    assert bot_client(x, **x.credentials("acmejobs")).get_me(user_auth=True)["data"] == {
        "id": joined["id"],
        "name": "acmejobs",
        "username": "acmejobs",
    }
    with pytest.raises(ValueError, match="another secret"):
        x.add_account("acmefood", **{**ACMESHOP, "consumer_secret": "other", "access_token": "t2"})
    with pytest.raises(ValueError, match="access token"):
        x.add_account("acmefood", **ACMESHOP)
    with pytest.raises(KeyError):
        x.user("acmefood")  # a refused account leaves no user behind


# --- rate limits per account -------------------------------------------------------------------
def test_an_injected_429_for_one_account_leaves_the_other_alone(
    x: XEmulator, care: tweepy.Client, brand: tweepy.Client, clock: FakeClock
) -> None:
    x.rate_limit("GET /2/users/me", reset_in=120, account="acmebrand")
    assert care.get_me(user_auth=True)["data"]["username"] == "acmecare"
    assert x.pending_faults() == 1
    with pytest.raises(tweepy.TooManyRequests) as caught:
        brand.get_me(user_auth=True)
    assert int(caught.value.response.headers["x-rate-limit-reset"]) == int(clock.now) + 120
    assert x.pending_faults() == 0
    assert brand.get_me(user_auth=True)["data"]["username"] == "acmebrand"

    # Without an account, the next caller, whoever it is, gets it.
    x.rate_limit("GET /2/users/me")
    with pytest.raises(tweepy.TooManyRequests):
        brand.get_me(user_auth=True)
    assert care.get_me(user_auth=True)["data"]["username"] == "acmecare"

    with pytest.raises(ValueError, match="no credentials"):
        x.rate_limit("GET /2/users/me", account=x.add_user("alice")["username"])
    with pytest.raises(KeyError):
        x.rate_limit("GET /2/users/me", account="nobody")


def test_rate_limit_windows_are_counted_per_account(x: XEmulator, clock: FakeClock) -> None:
    care = make_client(x, return_type=requests.Response)
    brand = make_client(x, "acmebrand", return_type=requests.Response)
    for _ in range(75):
        care.get_me()
    with pytest.raises(tweepy.TooManyRequests):
        care.get_me()
    first = brand.get_me()
    assert first.headers["x-rate-limit-limit"] == "75"
    assert first.headers["x-rate-limit-remaining"] == "74"

    clock.advance(15 * 60)
    assert care.get_me().headers["x-rate-limit-remaining"] == "74"


def test_app_only_and_each_account_count_their_own_mentions_window(x: XEmulator) -> None:
    care = make_client(x, return_type=requests.Response)
    brand = make_client(x, "acmebrand", return_type=requests.Response)
    app = tweepy.Client(bearer_token="app-token", return_type=requests.Response)
    point_client_at(app, x.url)

    def remaining(response: requests.Response) -> str:
        return response.headers["x-rate-limit-remaining"]

    assert remaining(care.get_users_mentions(x.brand_id, user_auth=True)) == "449"
    assert remaining(care.get_users_mentions(x.brand_id, user_auth=True)) == "448"
    assert remaining(brand.get_users_mentions(x.brand_id, user_auth=True)) == "449"
    assert remaining(app.get_users_mentions(x.brand_id)) == "449"
