"""A loopback emulator of the X (Twitter) API v2, for driving the real tweepy `Client` in tests.

It keeps users, tweets and direct-message events in memory and answers the v2 endpoints
Carebridge uses the way the real API does (checked against the recordings in
`shared/fixtures/x-api-v2/`): ids are strings, only requested fields are sent, expansions go
into `includes`, an empty page is `{"meta": {"result_count": 0}}` without `data`, creations
answer 201, errors use the v2 problem bodies, and every authenticated answer of a known route
carries the `x-rate-limit-limit/-remaining/-reset` headers (15-minute windows per route and
caller, reset in Unix seconds, no Retry-After; a used-up window answers 429 until it resets).

Who is calling is checked the way X checks it. Every brand account has OAuth 1.0a user-context
credentials: the default brand made by the constructor has the sandbox ones the bot's sandbox
settings use (`SANDBOX_CREDENTIALS`), `add_account` adds more (an app, i.e. a consumer key and
secret, may serve several accounts). An `Authorization: OAuth ...` request must carry a known
consumer key, an access token issued to that app, `oauth_signature_method="HMAC-SHA1"`, a nonce,
a timestamp and a valid HMAC-SHA1 signature (RFC 5849) over the method,
`https://api.twitter.com` + path (the URL the client signed before `point_client_at` sent the
request here), the query, the oauth_* parameters and a form-encoded body (tweepy's JSON bodies
are not signed). Anything else, a token `revoke()`d (an expired or revoked token on X), or an
oauth_timestamp more than `TIMESTAMP_TOLERANCE` seconds away from the real `time.time()` answers
401. The timestamp is compared with the real time, not the emulator's clock, because tweepy
signs with the real time while tests move a fake clock. Nonces are not remembered (X refuses a
replayed one; nothing here resends a signed request). The query is seen as parsed, the last
value of each name, so a request repeating a query parameter fails verification; tweepy never
repeats one. Bearer tokens (app-only) are not checked: any one is accepted on the routes that
allow app-only authentication.

The signing account is the authenticated user: `users/me`, the DM listings (only the
conversations it is in), the author of created tweets (replies and the duplicate-content check
are per author) and the sender of created DMs. Rate-limit windows are counted per route and
authenticated user, as X counts them; app-only requests share one window per route.

Routes (fault keys in brackets are what `inject()` and `rate_limit()` take):

- `GET /2/users/me`, `GET /2/users/:id`, `GET /2/users/by/username/:username`, `GET /2/users/by`
- `GET /2/users/:id/mentions`, `GET /2/users/:id/tweets`, `GET /2/tweets/search/recent`
- `POST /2/tweets`, `DELETE /2/tweets/:id`
- `GET /2/dm_events`, `GET /2/dm_conversations/with/:participant_id/dm_events`,
  `GET /2/dm_conversations/:dm_conversation_id/dm_events`
- `POST /2/dm_conversations/with/:participant_id/messages`,
  `POST /2/dm_conversations/:dm_conversation_id/messages`, `POST /2/dm_conversations`

Recent search (bot/networks/x/emulator_search.py) matches a practical subset of X's query
language, over the last seven days only, and refuses what X refuses (a query over 512 characters,
one it cannot parse, a start_time or since_id older than seven days, a start_time or end_time
less than 10 seconds ago) with X's 400 bodies. X serves a post to search some seconds after it
was posted; `search_delay` says how many (0 by default, so tests need not wait).

X bills the posts it returns (pay-per-use, counted per app against a monthly cap, each post once a
UTC day). `posts_served` and `posts_billed` count them per app, so tests can compare with what
the bot counted.

Tests set state up with `add_user`, `add_account`, `post_tweet` (any post: a mention, or one
addressed to nobody for search to find), `retweet` and `send_dm`, take an account's client
credentials from `credentials`, cut an account off with `revoke`/`restore`, and inspect what the
bot did with `sent_tweets`, `sent_dms`, `tweets_by`, `calls`, `authenticated_user`,
`posts_served` and `posts_billed`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import math
import random
import re
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from bot.networks.x.emulator_search import (
    QUERY_LIMIT,
    SEARCH_WINDOW,
    QueryRefused,
    parse,
    post_view,
    window_errors,
)
from bot.sandbox.loopback import Fault, LoopbackServer, Reply, Request

WINDOW_SECONDS = 15 * 60
MAX_TWEET_LENGTH = 280
MAX_DM_LENGTH = 10_000
# The base URL clients sign: `point_client_at` rewrites it to the emulator's only after signing.
SIGNED_BASE_URL = "https://api.twitter.com"
# How far oauth_timestamp may be from the real time (X refuses stale timestamps).
TIMESTAMP_TOLERANCE = 300
# The default brand's credentials, the ones the bot's sandbox settings use; tweepy.Client kwargs.
SANDBOX_CREDENTIALS: Mapping[str, str] = MappingProxyType(
    {
        "consumer_key": "sandbox-consumer-key",
        "consumer_secret": "sandbox-consumer-secret",
        "access_token": "sandbox-access-token",
        "access_token_secret": "sandbox-access-token-secret",
    }
)

# Ids are snowflakes: milliseconds since the Twitter epoch shifted left by 22 bits. They never go
# below _FIRST_ID, so they look like ids of today even under a fake clock set in the past.
_TWITTER_EPOCH_MS = 1288834974657
_FIRST_ID = 1860000000000000000

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
RESOURCE_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
UNSUPPORTED_AUTHENTICATION = "https://api.twitter.com/2/problems/unsupported-authentication"

TWEET_FIELDS = (
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "text", "withheld",
)  # fmt: skip
USER_FIELDS = (
    "affiliation", "connection_status", "created_at", "description", "entities", "id",
    "location", "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url",
    "profile_image_url", "protected", "public_metrics", "receives_your_dm", "subscription_type",
    "url", "username", "verified", "verified_type", "withheld",
)  # fmt: skip
DM_EVENT_FIELDS = (
    "attachments", "created_at", "dm_conversation_id", "entities", "event_type", "id",
    "participant_ids", "referenced_tweets", "sender_id", "text",
)  # fmt: skip
TWEET_EXPANSIONS = (
    "article.cover_media", "article.media_entities", "attachments.media_keys",
    "attachments.media_source_tweet", "attachments.poll_ids", "author_id",
    "edit_history_tweet_ids", "entities.mentions.username", "geo.place_id",
    "in_reply_to_user_id", "entities.note.mentions.username", "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id",
)  # fmt: skip
USER_EXPANSIONS = ("affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id")
DM_EXPANSIONS = ("attachments.media_keys", "participant_ids", "referenced_tweets.id", "sender_id")
EVENT_TYPES = ("MessageCreate", "ParticipantsJoin", "ParticipantsLeave")

# Fields every object carries whatever `*.fields` asks for.
_DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
_DEFAULT_USER_FIELDS = ("id", "name", "username")
_DEFAULT_DM_FIELDS = ("id", "event_type", "text")

# Accepted and ignored: the emulator has no media, places or polls.
_IGNORED_FIELD_PARAMS = ("media.fields", "place.fields", "poll.fields")
_USER_LOOKUP_PARAMS = ("expansions", "tweet.fields", "user.fields")
_TIMELINE_PARAMS = (
    "end_time", "expansions", "max_results", "pagination_token", "since_id", "start_time",
    "tweet.fields", "until_id", "user.fields", *_IGNORED_FIELD_PARAMS,
)  # fmt: skip
_DM_LIST_PARAMS = (
    "dm_event.fields", "event_types", "expansions", "max_results", "media.fields",
    "pagination_token", "tweet.fields", "user.fields",
)  # fmt: skip

_SNOWFLAKE = re.compile(r"[0-9]{1,19}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_OAUTH_PARAMETER = re.compile(r'\s*([^\s=,"]+)="([^"]*)"\s*')
_OAUTH_REQUIRED = (
    "oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature",
    "oauth_timestamp", "oauth_nonce",
)  # fmt: skip
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})(?!\w)")
_URL = re.compile(r"https?://\S+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    handler: str
    limit: int  # requests per 15-minute window, as the real API reports in x-rate-limit-limit
    # True: OAuth 1.0a user context only, so the handler always gets the caller's user id;
    # False: an app Bearer token works too, and the handler gets None for it.
    user_context: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", self.template) + "$")


# Order matters: literal segments ("me", "by", "with") before the ":id" that would also match them.
_ROUTES = (
    _Route("GET", "/2/users/me", "_get_me", 75, True),
    _Route("GET", "/2/users/by/username/:username", "_get_user_by_username", 300, False),
    _Route("GET", "/2/users/by", "_get_users_by", 300, False),
    _Route("GET", "/2/users/:id/mentions", "_get_mentions", 450, False),
    _Route("GET", "/2/users/:id/tweets", "_get_user_tweets", 900, False),
    _Route("GET", "/2/users/:id", "_get_user", 300, False),
    _Route("GET", "/2/tweets/search/recent", "_search_recent", 450, False),
    _Route("POST", "/2/tweets", "_post_tweet", 200, True),
    _Route("DELETE", "/2/tweets/:id", "_delete_tweet", 50, True),
    _Route("GET", "/2/dm_events", "_get_dm_events", 300, True),
    _Route("GET", "/2/dm_conversations/with/:participant_id/dm_events", "_get_dm_with", 300, True),
    _Route(
        "GET",
        "/2/dm_conversations/:dm_conversation_id/dm_events",
        "_get_dm_conversation",
        300,
        True,
    ),
    _Route("POST", "/2/dm_conversations/with/:participant_id/messages", "_post_dm_with", 200, True),
    _Route(
        "POST",
        "/2/dm_conversations/:dm_conversation_id/messages",
        "_post_dm_in_conversation",
        200,
        True,
    ),
    _Route("POST", "/2/dm_conversations", "_post_dm_group", 200, True),
)
_COMPILED_ROUTES = tuple((route, route.pattern) for route in _ROUTES)


# Routes whose answers list posts: what X bills as "Posts: Read".
_POST_READING_ROUTES = (
    "GET /2/users/:id/mentions", "GET /2/users/:id/tweets", "GET /2/tweets/search/recent",
)  # fmt: skip


@dataclass(frozen=True)
class _PostsRead:
    app: str  # the consumer key; an app-only request counts under its bearer token
    route: str
    post_ids: tuple[str, ...]
    day: date  # UTC: X bills a post once a day however often it is read


@dataclass(frozen=True)
class _AccessToken:
    secret: str
    consumer_key: str  # the app the token was issued to: it signs only with that app's key
    user_id: str


class XEmulator(LoopbackServer):
    """The X API v2 on 127.0.0.1; the account whose token signed a request is its caller."""

    name = "x"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        brand_username: str = "acmecare",
        brand_name: str = "Acme Care",
        brand_id: str = "1000000000000000001",
        search_delay: float = 0.0,
    ) -> None:
        super().__init__(clock=clock)
        self.search_delay = search_delay  # seconds before a post can be found by search
        self._posts_read: list[_PostsRead] = []
        self._last_id = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._tweets: dict[str, dict[str, Any]] = {}  # insertion order is creation order
        self._dm_events: list[dict[str, Any]] = []
        self._conversations: dict[str, list[str]] = {}  # dm_conversation_id -> participant ids
        self._sent_tweets: list[dict[str, Any]] = []
        self._sent_dms: list[dict[str, Any]] = []
        # Users who accept DMs only from accounts they follow: a DM the brand starts is refused
        # until they write to it first.
        self._closed_dms: set[str] = set()
        self._apps: dict[str, str] = {}  # consumer key -> consumer secret
        self._tokens: dict[str, _AccessToken] = {}  # access token -> its secret, app and user
        self._revoked: set[str] = set()  # access tokens
        # (route key, caller's user id, None for app-only) -> [reset at, remaining]
        self._windows: dict[tuple[str, str | None], list[int]] = {}
        # (route key, account's user id, None for every caller) -> injected 429s (reset_in)
        self._rate_limits: dict[tuple[str, str | None], deque[float]] = {}
        brand = self.add_account(
            brand_username,
            brand_name,
            user_id=brand_id,
            consumer_key=SANDBOX_CREDENTIALS["consumer_key"],
            consumer_secret=SANDBOX_CREDENTIALS["consumer_secret"],
            access_token=SANDBOX_CREDENTIALS["access_token"],
            access_token_secret=SANDBOX_CREDENTIALS["access_token_secret"],
        )
        self.brand_id: str = brand["id"]  # the default brand: send_dm's default recipient

    # --- LoopbackServer -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.base_url

    def fault_key(self, request: Request) -> str:
        found = _match_route(request)
        return found[0].key if found else f"{request.method} {request.path}"

    def handle(self, request: Request) -> Reply:
        found = _match_route(request)
        if found is None:
            return _problem(404, "Not Found Error", "Sorry, that page does not exist.")
        route, params = found
        with self._lock:
            caller = self._authenticate(request, route)
            if isinstance(caller, Reply):
                return caller
            now = self.clock()
            injected = self._next_injected_429(route.key, caller)
            if injected is not None:
                reset_at = int(now + injected)
                return _too_many_requests(_rate_headers(route.limit, 0, reset_at))
            reset_at, remaining = self._spend_request(route, caller, now)
            if remaining is None:
                return _too_many_requests(_rate_headers(route.limit, 0, reset_at))
            reply: Reply = getattr(self, route.handler)(request, caller, **params)
            if route.key in _POST_READING_ROUTES and reply.status == 200:
                self._count_posts_read(request, route.key, reply.body, now)
            headers = {**reply.headers, **_rate_headers(route.limit, remaining, reset_at)}
            return Reply(reply.status, reply.body, headers)

    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        found = _match_route(request)
        if found is not None and rng.random() < 0.25:
            reset_at = math.ceil(self.clock()) + rng.choice((1, 2))
            headers = _rate_headers(found[0].limit, 0, reset_at)
            return "429", Fault(429, _too_many_requests(headers).body, headers)
        return super().random_fault(request, rng, timeout_after)

    def pending_faults(self) -> int:
        with self._lock:
            injected = sum(len(queue) for queue in self._rate_limits.values())
        return super().pending_faults() + injected

    # --- faults ---------------------------------------------------------------------------------
    def inject(self, key: str, fault: Fault, times: int = 1) -> None:
        _check_route_key(key)  # a typo would otherwise queue a fault that never fires
        super().inject(key, fault, times)

    def rate_limit(
        self,
        route_key: str,
        reset_in: float = 60,
        times: int = 1,
        *,
        account: str | None = None,
    ) -> None:
        """Answer the next `times` requests of `route_key` with 429, reset `reset_in` s later.

        With `account` (a username or id of an account with credentials), only that account's
        requests get them; without, the next requests of any caller do. An account's own 429s
        are served before the ones for every caller.
        """
        _check_route_key(route_key)
        with self._lock:
            who = self._account_id(account) if account is not None else None
            self._rate_limits.setdefault((route_key, who), deque()).extend([reset_in] * times)

    # --- state for tests ------------------------------------------------------------------------
    def close_dms(self, username: str) -> None:
        """The user's DMs are open only to accounts they follow (X's default)."""
        with self._lock:
            self._closed_dms.add(self._user(username)["id"])

    def add_user(
        self,
        username: str,
        name: str | None = None,
        *,
        followers: int = 0,
        verified: bool = False,
        user_id: str | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        """Create a user; returns the full user object (every field the emulator knows)."""
        with self._lock:
            if self._find_user(username) is not None:
                raise ValueError(f"username {username!r} is taken")
            uid = str(user_id) if user_id is not None else self._new_id()
            if uid in self._users:
                raise ValueError(f"user id {uid} is taken")
            self._note_id(uid)
            user = {
                "id": uid,
                "name": name if name is not None else username,
                "username": username,
                "created_at": _iso(self.clock()),
                "description": description,
                "profile_image_url": (
                    f"https://pbs.twimg.com/profile_images/{uid}/{username}_normal.jpg"
                ),
                "protected": False,
                "public_metrics": {
                    "followers_count": followers,
                    "following_count": 0,
                    "tweet_count": 0,
                    "listed_count": 0,
                    "like_count": 0,
                    "media_count": 0,
                },
                "verified": verified,
                "verified_type": "blue" if verified else "none",
                "url": "",
            }
            self._users[uid] = user
            return copy.deepcopy(user)

    def add_account(
        self,
        username: str,
        name: str | None = None,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        user_id: str | None = None,
        followers: int = 0,
    ) -> dict[str, Any]:
        """Create a brand account: a user with OAuth 1.0a user-context credentials.

        The app (`consumer_key`, `consumer_secret`) may be shared with other accounts, as on X;
        the access token is this account's own. Returns the full user object.
        """
        with self._lock:
            known_secret = self._apps.get(consumer_key)
            if known_secret is not None and known_secret != consumer_secret:
                raise ValueError(f"consumer key {consumer_key!r} has another secret")
            if access_token in self._tokens:
                raise ValueError(f"access token {access_token!r} is taken")
            # Checked before creating the user, so that a refused account leaves nothing behind.
            user = self.add_user(username, name, followers=followers, user_id=user_id)
            self._apps[consumer_key] = consumer_secret
            self._tokens[access_token] = _AccessToken(access_token_secret, consumer_key, user["id"])
            return user

    def credentials(self, account: str) -> dict[str, str]:
        """An account's credentials (username or id), as `tweepy.Client` keyword arguments."""
        with self._lock:
            uid = self._account_id(account)
            token, found = next((t, f) for t, f in self._tokens.items() if f.user_id == uid)
            return {
                "consumer_key": found.consumer_key,
                "consumer_secret": self._apps[found.consumer_key],
                "access_token": token,
                "access_token_secret": found.secret,
            }

    def revoke(self, access_token: str) -> None:
        """Answer 401 to every later request signed with `access_token`, as X does once a token
        expired or its user revoked the app."""
        with self._lock:
            if access_token not in self._tokens:
                raise KeyError(f"no access token {access_token!r}")
            self._revoked.add(access_token)

    def restore(self, access_token: str) -> None:
        """Undo `revoke(access_token)`."""
        with self._lock:
            if access_token not in self._tokens:
                raise KeyError(f"no access token {access_token!r}")
            self._revoked.discard(access_token)

    def user(self, user: str) -> dict[str, Any]:
        """The full user object for an id or a username (with or without "@")."""
        with self._lock:
            return copy.deepcopy(self._user(user))

    @property
    def brand(self) -> dict[str, Any]:
        """The default brand account, the one the constructor made."""
        return self.user(self.brand_id)

    def post_tweet(
        self,
        author: str,
        text: str,
        *,
        in_reply_to_tweet_id: str | None = None,
        created_at: float | datetime | str | None = None,
        tweet_id: str | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """A tweet by anyone (id or username), as if posted on X; returns the full tweet object.

        `tweet_id` is for replaying recorded material; ids are otherwise generated, increasing.
        """
        with self._lock:
            parent = None
            if in_reply_to_tweet_id is not None:
                parent = self._tweets.get(str(in_reply_to_tweet_id))
                if parent is None:
                    raise KeyError(f"no tweet {in_reply_to_tweet_id}")
            tweet = self._create_tweet(
                self._user(author)["id"], text, parent, created_at, tweet_id, lang
            )
            return copy.deepcopy(tweet)

    def retweet(
        self, user: str, tweet_id: str, *, created_at: float | datetime | str | None = None
    ) -> dict[str, Any]:
        """`user` (id or username) retweets a tweet; returns the retweet, as X shows one: its text
        is "RT @author: " and the original's, its referenced tweet the original."""
        with self._lock:
            original = self._tweets.get(str(tweet_id))
            if original is None:
                raise KeyError(f"no tweet {tweet_id}")
            author = self._users[original["author_id"]]["username"]
            text = f"RT @{author}: {original['text']}"
            retweet = self._create_tweet(
                self._user(user)["id"], text, None, created_at, None, original["lang"]
            )
            retweet["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
            original["public_metrics"]["retweet_count"] += 1
            return copy.deepcopy(retweet)

    def delete_tweet(self, tweet_id: str) -> None:
        """Delete a tweet, as its author would (e.g. a customer deleting a mention)."""
        with self._lock:
            self._tweets.pop(str(tweet_id))

    def tweet(self, tweet_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._tweets.get(str(tweet_id))
            return copy.deepcopy(found) if found else None

    def tweets_by(self, user: str) -> list[dict[str, Any]]:
        """Every live tweet of `user` (id or username), oldest first."""
        with self._lock:
            uid = self._user(user)["id"]
            return [copy.deepcopy(t) for t in self._tweets.values() if t["author_id"] == uid]

    def send_dm(
        self,
        sender: str,
        text: str,
        *,
        recipient: str | None = None,
        created_at: float | datetime | str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A 1:1 MessageCreate event from `sender` to `recipient` (default: the default brand)."""
        with self._lock:
            sender_id = self._user(sender)["id"]
            recipient_id = self._user(recipient)["id"] if recipient is not None else self.brand_id
            conversation = _one_to_one(sender_id, recipient_id)
            self._conversations.setdefault(conversation, sorted({sender_id, recipient_id}))
            event = self._create_dm_event(sender_id, conversation, text, created_at, event_id)
            return copy.deepcopy(event)

    def dm_events(self) -> list[dict[str, Any]]:
        """Every DM event, oldest first."""
        with self._lock:
            return copy.deepcopy(self._dm_events)

    @property
    def sent_tweets(self) -> list[dict[str, Any]]:
        """Tweets created through POST /2/tweets, in order: tweet object + "request_json"."""
        with self._lock:
            return copy.deepcopy(self._sent_tweets)

    @property
    def sent_dms(self) -> list[dict[str, Any]]:
        """DM events created through the POST endpoints, in order: event + "request_json"."""
        with self._lock:
            return copy.deepcopy(self._sent_dms)

    def calls(self, route_key: str, *, account: str | None = None) -> list[Request]:
        """The requests received for a route key such as "GET /2/users/:id/mentions"; with
        `account` (username or id), only those it signed (see `authenticated_user`)."""
        with self._lock:
            found = [r for r in self.requests if self.fault_key(r) == route_key]
            if account is None:
                return found
            uid = self._account_id(account)
            return [r for r in found if self._signer_id(r) == uid]

    def authenticated_user(self, request: Request) -> dict[str, Any] | None:
        """The full user object of the account whose credentials signed `request` (a recorded
        one, e.g. from `calls`), or None: app-only, unsigned, or not validly signed.

        It says who sent the request, not whether it was served: a request refused because its
        token was revoked or its timestamp was stale still names its account.
        """
        with self._lock:
            uid = self._signer_id(request)
            return copy.deepcopy(self._users[uid]) if uid is not None else None

    def posts_served(self, app: str | None = None, *, route: str | None = None) -> int:
        """Posts the emulator returned (in `data` and `includes.tweets` of the listing routes) to
        `app` (a consumer key; an app-only request counts under its bearer token), or to every
        app; with `route` (e.g. "GET /2/tweets/search/recent"), of that route only."""
        with self._lock:
            return sum(
                len(read.post_ids)
                for read in self._posts_read
                if (app is None or read.app == app) and (route is None or read.route == route)
            )

    def posts_billed(self, app: str | None = None) -> int:
        """What X would bill `app` (or every app) for: each post once per UTC day and app,
        whichever routes returned it."""
        with self._lock:
            return len(
                {
                    (read.app, post_id, read.day)
                    for read in self._posts_read
                    if app is None or read.app == app
                    for post_id in read.post_ids
                }
            )

    # --- internals: state -----------------------------------------------------------------------
    def _new_id(self) -> str:
        derived = (int(self.clock() * 1000) - _TWITTER_EPOCH_MS) << 22
        self._last_id = max(self._last_id + 1, derived, _FIRST_ID)
        return str(self._last_id)

    def _note_id(self, given: str) -> None:
        if not _SNOWFLAKE.fullmatch(given):
            raise ValueError(f"ids are 1 to 19 digits, not {given!r}")
        # A generated id must stay above every id seen, so numeric order stays creation order.
        self._last_id = max(self._last_id, int(given))

    def _find_user(self, user: str) -> dict[str, Any] | None:
        if user in self._users:
            return self._users[user]
        name = user.removeprefix("@").lower()
        return next((u for u in self._users.values() if u["username"].lower() == name), None)

    def _user(self, user: str) -> dict[str, Any]:
        found = self._find_user(str(user))
        if found is None:
            raise KeyError(f"no user {user!r}; add_user() first")
        return found

    def _account_id(self, account: str) -> str:
        """The user id of an account with credentials; other users never make a request, so
        naming one is a mistake (a 429 for it would never fire)."""
        uid = self._user(account)["id"]
        if not any(token.user_id == uid for token in self._tokens.values()):
            raise ValueError(f"{account!r} has no credentials; add_account() makes accounts")
        return uid

    def _create_tweet(
        self,
        author_id: str,
        text: str,
        parent: dict[str, Any] | None,
        created_at: float | datetime | str | None,
        tweet_id: str | None,
        lang: str,
    ) -> dict[str, Any]:
        if tweet_id is not None:
            if str(tweet_id) in self._tweets:
                raise ValueError(f"tweet id {tweet_id} is taken")
            self._note_id(str(tweet_id))
        tid = str(tweet_id) if tweet_id is not None else self._new_id()
        tweet: dict[str, Any] = {
            "id": tid,
            "text": text,
            "edit_history_tweet_ids": [tid],
            "created_at": _iso(created_at if created_at is not None else self.clock()),
            "author_id": author_id,
            "conversation_id": parent["conversation_id"] if parent else tid,
            "lang": lang,
            "possibly_sensitive": False,
            "reply_settings": "everyone",
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
        }
        if parent is not None:
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            parent["public_metrics"]["reply_count"] += 1
        entities = self._entities(text)
        if entities:
            tweet["entities"] = entities
        self._tweets[tid] = tweet
        self._users[author_id]["public_metrics"]["tweet_count"] += 1
        return tweet

    def _entities(self, text: str) -> dict[str, list[dict[str, Any]]]:
        mentions = []
        for match in _MENTION.finditer(text):
            mention: dict[str, Any] = {
                "start": match.start(),
                "end": match.end(),
                "username": match.group(1),
            }
            known = self._find_user(match.group(1))
            if known is not None:
                mention["id"] = known["id"]
            mentions.append(mention)
        urls = [
            {
                "start": m.start(),
                "end": m.end(),
                "url": m.group(0),
                "expanded_url": m.group(0),
                "display_url": m.group(0).split("://", 1)[1][:26],
            }
            for m in _URL.finditer(text)
        ]
        hashtags = [
            {"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)
        ]
        found = {"mentions": mentions, "urls": urls, "hashtags": hashtags}
        return {kind: items for kind, items in found.items() if items}

    def _create_dm_event(
        self,
        sender_id: str,
        conversation: str,
        text: str,
        created_at: float | datetime | str | None,
        event_id: str | None,
    ) -> dict[str, Any]:
        if event_id is not None:
            self._note_id(str(event_id))
        event = {
            "id": str(event_id) if event_id is not None else self._new_id(),
            "event_type": "MessageCreate",
            "text": text,
            "created_at": _iso(created_at if created_at is not None else self.clock()),
            "sender_id": sender_id,
            "dm_conversation_id": conversation,
        }
        self._dm_events.append(event)
        return event

    def _repeats_latest_tweet(self, author_id: str, text: str) -> bool:
        """True when `text` repeats the author's latest tweet (X refuses duplicate content)."""
        own = [t for t in self._tweets.values() if t["author_id"] == author_id]
        latest = max(own, key=lambda t: int(t["id"]), default=None)
        return latest is not None and latest["text"] == text

    # --- internals: authentication and rate limits ----------------------------------------------
    def _authenticate(self, request: Request, route: _Route) -> Reply | str | None:
        """The caller's user id, None for an app-only (Bearer) request, or the refusal."""
        scheme, _, credentials = (request.header("authorization") or "").partition(" ")
        if scheme == "OAuth":
            signed = self._verify(request)
            if signed is None:
                return _unauthorized()
            token, timestamp = signed
            # Real time, not self.clock: the client signs with the real time.
            if token in self._revoked or abs(timestamp - time.time()) > TIMESTAMP_TOLERANCE:
                return _unauthorized()
            return self._tokens[token].user_id
        # tweepy sends "Bearer None" when a call goes app-only on a client without a bearer token.
        if scheme == "Bearer" and credentials.strip() not in ("", "None"):
            if not route.user_context:
                return None
            detail = (
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
                "Supported authentication types are "
                "[OAuth 1.0a User Context, OAuth 2.0 User Context]."
            )
            return _problem(403, "Unsupported Authentication", detail, UNSUPPORTED_AUTHENTICATION)
        return _unauthorized()

    def _verify(self, request: Request) -> tuple[str, int] | None:
        """(access token, oauth_timestamp) when `request` carries a valid OAuth 1.0a HMAC-SHA1
        signature by a registered app and one of its tokens; None otherwise. Revocation and the
        timestamp's age are left to the caller."""
        oauth = _oauth_parameters(request.header("authorization") or "")
        if oauth is None or any(name not in oauth for name in _OAUTH_REQUIRED):
            return None
        if (
            oauth["oauth_signature_method"] != "HMAC-SHA1"
            or oauth.get("oauth_version", "1.0") != "1.0"
        ):
            return None
        if not _TIMESTAMP.fullmatch(oauth["oauth_timestamp"]):
            return None
        consumer_secret = self._apps.get(oauth["oauth_consumer_key"])
        token = self._tokens.get(oauth["oauth_token"])
        if consumer_secret is None or token is None:
            return None
        if token.consumer_key != oauth["oauth_consumer_key"]:
            return None  # a token works only with the app it was issued to
        form = _form_parameters(request)
        if form is None:
            return None
        signed = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        base = _signature_base_string(
            request.method, request.path, [*request.query.items(), *signed, *form]
        )
        key = f"{_pct(consumer_secret)}&{_pct(token.secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(expected, oauth["oauth_signature"].encode()):
            return None
        return oauth["oauth_token"], int(oauth["oauth_timestamp"])

    def _signer_id(self, request: Request) -> str | None:
        signed = self._verify(request)
        return self._tokens[signed[0]].user_id if signed is not None else None

    def _count_posts_read(self, request: Request, route_key: str, body: Any, now: float) -> None:
        body = body if isinstance(body, dict) else {}
        listed = [*body.get("data", []), *body.get("includes", {}).get("tweets", [])]
        scheme, _, credentials = (request.header("authorization") or "").partition(" ")
        oauth = _oauth_parameters(request.header("authorization") or "") or {}
        app = oauth.get("oauth_consumer_key", "") if scheme == "OAuth" else credentials.strip()
        day = datetime.fromtimestamp(now, UTC).date()
        read = _PostsRead(app, route_key, tuple(t["id"] for t in listed), day)
        self._posts_read.append(read)

    def _next_injected_429(self, route_key: str, caller: str | None) -> float | None:
        """Take the next injected 429 (its reset_in) for this caller: its own, then anyone's."""
        for who in dict.fromkeys((caller, None)):
            queue = self._rate_limits.get((route_key, who))
            if queue:
                return queue.popleft()
        return None

    def _spend_request(
        self, route: _Route, caller: str | None, now: float
    ) -> tuple[int, int | None]:
        """Spend one request of the caller's window of the route: (reset at, remaining after
        this one), remaining None when the window was used up already."""
        key = (route.key, caller)
        window = self._windows.get(key)
        if window is None or now >= window[0]:
            window = self._windows[key] = [int(now) + WINDOW_SECONDS, route.limit]
        if window[1] <= 0:
            return window[0], None
        window[1] -= 1
        return window[0], window[1]

    # --- internals: rendering -------------------------------------------------------------------
    def _render_user(self, user: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
        return _select(user, (*_DEFAULT_USER_FIELDS, *fields))

    def _render_tweet(self, tweet: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
        return _select(tweet, (*_DEFAULT_TWEET_FIELDS, *fields))

    def _tweet_includes(
        self,
        tweets: Sequence[dict[str, Any]],
        expansions: Sequence[str],
        tweet_fields: Sequence[str],
        user_fields: Sequence[str],
    ) -> dict[str, list[dict[str, Any]]]:
        user_ids: list[str] = []
        referenced: list[dict[str, Any]] = []
        for tweet in tweets:
            if "author_id" in expansions:
                user_ids.append(tweet["author_id"])
            if "in_reply_to_user_id" in expansions and "in_reply_to_user_id" in tweet:
                user_ids.append(tweet["in_reply_to_user_id"])
            if "entities.mentions.username" in expansions:
                mentions = tweet.get("entities", {}).get("mentions", [])
                user_ids.extend(m["id"] for m in mentions if "id" in m)
            for ref in tweet.get("referenced_tweets", []):
                target = self._tweets.get(ref["id"])  # a deleted tweet is simply not included
                if target is None:
                    continue
                if "referenced_tweets.id" in expansions and target not in referenced:
                    referenced.append(target)
                if "referenced_tweets.id.author_id" in expansions:
                    user_ids.append(target["author_id"])
        return self._includes(user_ids, user_fields, referenced, tweet_fields)

    def _includes(
        self,
        user_ids: Iterable[str],
        user_fields: Sequence[str],
        tweets: Sequence[dict[str, Any]],
        tweet_fields: Sequence[str],
    ) -> dict[str, list[dict[str, Any]]]:
        includes: dict[str, list[dict[str, Any]]] = {}
        unique = [uid for uid in dict.fromkeys(user_ids) if uid in self._users]
        if unique:
            includes["users"] = [self._render_user(self._users[uid], user_fields) for uid in unique]
        if tweets:
            includes["tweets"] = [self._render_tweet(t, tweet_fields) for t in tweets]
        return includes

    # --- handlers: users ------------------------------------------------------------------------
    def _user_lookup(
        self,
        request: Request,
        users: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        *,
        many: bool = False,
    ) -> Reply:
        query = _Query(
            request, (*_USER_LOOKUP_PARAMS, "usernames") if many else _USER_LOOKUP_PARAMS
        )
        user_fields = query.csv("user.fields", USER_FIELDS)
        query.csv("tweet.fields", TWEET_FIELDS)
        query.csv("expansions", USER_EXPANSIONS)  # no pinned tweets here: accepted, no effect
        if query.errors:
            return _invalid(query.errors)
        body: dict[str, Any] = {}
        if users:
            rendered = [self._render_user(u, user_fields) for u in users]
            body["data"] = rendered if many else rendered[0]
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    def _get_me(self, request: Request, me: str) -> Reply:
        return self._user_lookup(request, [self._users[me]], [])

    def _get_user(self, request: Request, caller: str | None, id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(id):
            return _invalid([_pattern_error("id", id)])
        user = self._users.get(id)
        if user is None:
            return self._user_lookup(request, [], [_not_found("id", id)])
        return self._user_lookup(request, [user], [])

    def _get_user_by_username(self, request: Request, caller: str | None, username: str) -> Reply:
        user = self._find_user(username) if "@" not in username else None
        errors = [] if user else [_not_found("username", username)]
        return self._user_lookup(request, [user] if user else [], errors)

    def _get_users_by(self, request: Request, caller: str | None) -> Reply:
        names = [n for n in request.query.get("usernames", "").split(",") if n]
        if not names:
            message = "The `usernames` query parameter can not be empty"
            return _invalid([_param_error("usernames", "", message)])
        found, errors = [], []
        for name in names:
            user = self._find_user(name) if "@" not in name else None
            if user is None:
                errors.append(_not_found("username", name))
            else:
                found.append(user)
        return self._user_lookup(request, found, errors, many=True)

    # --- handlers: tweets -----------------------------------------------------------------------
    def _get_mentions(self, request: Request, caller: str | None, id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(id):
            return _invalid([_pattern_error("id", id)])
        user = self._users.get(id)
        if user is None:
            return Reply(200, {"errors": [_not_found("id", id)]})
        name = user["username"].lower()
        mentions = [
            t
            for t in self._tweets.values()
            if any(m.group(1).lower() == name for m in _MENTION.finditer(t["text"]))
        ]
        return self._tweet_page(request, mentions, _TIMELINE_PARAMS, min_results=5)

    def _get_user_tweets(self, request: Request, caller: str | None, id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(id):
            return _invalid([_pattern_error("id", id)])
        if id not in self._users:
            return Reply(200, {"errors": [_not_found("id", id)]})
        tweets = [t for t in self._tweets.values() if t["author_id"] == id]
        exclude_query = _Query(request, ())
        exclude = exclude_query.csv("exclude", ("replies", "retweets"))
        if exclude_query.errors:
            return _invalid(exclude_query.errors)
        if "replies" in exclude:  # the emulator has no retweets, so only replies can go
            tweets = [t for t in tweets if "in_reply_to_user_id" not in t]
        return self._tweet_page(request, tweets, (*_TIMELINE_PARAMS, "exclude"), min_results=5)

    def _search_recent(self, request: Request, caller: str | None) -> Reply:
        text = request.query.get("query", "")
        if not text.strip():
            error = _param_error("query", text, "The `query` query parameter can not be empty")
            return _invalid([error])
        try:
            if len(text) > QUERY_LIMIT:
                # Wording not confirmed against the real API; the 400 and its shape are X's.
                message = f"Query length {len(text)} exceeds the maximum of {QUERY_LIMIT}"
                raise QueryRefused([message])
            query = parse(text)
        except QueryRefused as unparsed:
            return _invalid([_param_error("query", text, unparsed.message)])
        bounds = _Query(request, ())
        bounds.csv("sort_order", ("recency", "relevancy"))  # relevancy: served as recency
        start_time = bounds.timestamp("start_time")
        end_time = bounds.timestamp("end_time")
        since_id = bounds.snowflake("since_id")
        if bounds.errors:
            return _invalid(bounds.errors)
        now = datetime.fromtimestamp(self.clock(), UTC)
        refused = window_errors(now, start_time=start_time, end_time=end_time, since_id=since_id)
        if refused:
            return _invalid([_param_error(name, value, msg) for name, value, msg in refused])
        oldest, newest = now - SEARCH_WINDOW, now - timedelta(seconds=self.search_delay)

        def found(tweet: dict[str, Any]) -> bool:
            at = _parse_iso(tweet["created_at"])
            # end_time is exclusive in search (the API reference says so; timelines differ).
            in_window = oldest <= at <= newest and (end_time is None or at < end_time)
            return in_window and query.matches(post_view(tweet, self._users, self._tweets))

        matching = [tweet for tweet in self._tweets.values() if found(tweet)]
        allowed = (*_TIMELINE_PARAMS, "query", "next_token", "sort_order")
        # Search pages forward only: its meta has next_token, never previous_token.
        return self._tweet_page(request, matching, allowed, min_results=10, previous_tokens=False)

    def _tweet_page(
        self,
        request: Request,
        tweets: Iterable[dict[str, Any]],
        allowed: Sequence[str],
        *,
        min_results: int,
        previous_tokens: bool = True,
    ) -> Reply:
        query = _Query(request, allowed)
        max_results = query.integer("max_results", min_results, 100, default=10)
        since_id = query.snowflake("since_id")
        until_id = query.snowflake("until_id")
        start_time = query.timestamp("start_time")
        end_time = query.timestamp("end_time")
        tweet_fields = query.csv("tweet.fields", TWEET_FIELDS)
        user_fields = query.csv("user.fields", USER_FIELDS)
        expansions = query.csv("expansions", TWEET_EXPANSIONS)
        token = query.token("pagination_token") or query.token("next_token")
        if query.errors:
            return _invalid(query.errors)

        def wanted(tweet: dict[str, Any]) -> bool:
            tid, at = int(tweet["id"]), _parse_iso(tweet["created_at"])
            return (
                (since_id is None or tid > since_id)
                and (until_id is None or tid < until_id)
                and (start_time is None or at >= start_time)
                and (end_time is None or at <= end_time)
            )

        ordered = sorted(filter(wanted, tweets), key=lambda t: int(t["id"]), reverse=True)
        page, next_token, previous_token = _paginate(ordered, token, max_results)
        if not page:
            return Reply(200, {"meta": {"result_count": 0}})
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
        }
        if next_token:
            meta["next_token"] = next_token
        if previous_token and previous_tokens:
            meta["previous_token"] = previous_token
        body: dict[str, Any] = {"data": [self._render_tweet(t, tweet_fields) for t in page]}
        includes = self._tweet_includes(page, expansions, tweet_fields, user_fields)
        if includes:
            body["includes"] = includes
        body["meta"] = meta
        return Reply(200, body)

    def _post_tweet(self, request: Request, me: str) -> Reply:
        payload = _json_object(request)
        if payload is None:
            return _problem(400, "Invalid Request", "The request body is not a JSON object.")
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            if not payload.get("media"):
                # Wording not confirmed against the real API; the status and shape are.
                return _invalid([{"message": "Post text or media is required."}])
            text = text or ""
        if weighted_length(text) > MAX_TWEET_LENGTH:
            message = (
                "Your Tweet text is too long. For more information on how Twitter determines "
                "text length see https://github.com/twitter/twitter-text."
            )
            return _invalid([{"message": message}])
        parent = None
        reply = payload.get("reply")
        if isinstance(reply, dict) and reply.get("in_reply_to_tweet_id") is not None:
            parent = self._tweets.get(str(reply["in_reply_to_tweet_id"]))
            if parent is None:
                detail = "You attempted to reply to a Tweet that is deleted or not visible to you."
                return _problem(403, "Forbidden", detail)
        if self._repeats_latest_tweet(me, text):
            detail = "You are not allowed to create a Tweet with duplicate content."
            return _problem(403, "Forbidden", detail)
        tweet = self._create_tweet(me, text, parent, None, None, "en")
        self._sent_tweets.append({**copy.deepcopy(tweet), "request_json": payload})
        return Reply(201, {"data": _select(tweet, _DEFAULT_TWEET_FIELDS)})

    def _delete_tweet(self, request: Request, me: str, id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(id):
            return _invalid([_pattern_error("id", id)])
        tweet = self._tweets.get(id)
        if tweet is None or tweet["author_id"] != me:
            # Wording not confirmed against the real API.
            return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        del self._tweets[id]
        return Reply(200, {"data": {"deleted": True}})

    # --- handlers: direct messages --------------------------------------------------------------
    def _conversations_of(self, user_id: str) -> set[str]:
        return {c for c, members in self._conversations.items() if user_id in members}

    def _get_dm_events(self, request: Request, me: str) -> Reply:
        mine = self._conversations_of(me)
        events = [e for e in self._dm_events if e["dm_conversation_id"] in mine]
        return self._dm_page(request, events)

    def _get_dm_with(self, request: Request, me: str, participant_id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(participant_id):
            return _invalid([_pattern_error("participant_id", participant_id)])
        conversation = _one_to_one(me, participant_id)
        events = [e for e in self._dm_events if e["dm_conversation_id"] == conversation]
        return self._dm_page(request, events)

    def _get_dm_conversation(self, request: Request, me: str, dm_conversation_id: str) -> Reply:
        if dm_conversation_id not in self._conversations_of(me):
            return self._dm_page(request, [])  # as X: nothing, for a conversation not one's own
        events = [e for e in self._dm_events if e["dm_conversation_id"] == dm_conversation_id]
        return self._dm_page(request, events)

    def _dm_page(self, request: Request, events: Iterable[dict[str, Any]]) -> Reply:
        query = _Query(request, _DM_LIST_PARAMS)
        max_results = query.integer("max_results", 1, 100, default=100)
        dm_fields = query.csv("dm_event.fields", DM_EVENT_FIELDS)
        event_types = query.csv("event_types", EVENT_TYPES) or list(EVENT_TYPES)
        expansions = query.csv("expansions", DM_EXPANSIONS)
        tweet_fields = query.csv("tweet.fields", TWEET_FIELDS)
        user_fields = query.csv("user.fields", USER_FIELDS)
        token = query.token("pagination_token")
        if query.errors:
            return _invalid(query.errors)
        typed = [e for e in events if e["event_type"] in event_types]
        ordered = sorted(typed, key=lambda e: int(e["id"]), reverse=True)
        page, _, _ = _paginate(ordered, token, max_results)
        if not page:
            return Reply(200, {"meta": {"result_count": 0}})
        body: dict[str, Any] = {
            "data": [_select(e, (*_DEFAULT_DM_FIELDS, *dm_fields)) for e in page]
        }
        user_ids: list[str] = []
        referenced: list[dict[str, Any]] = []
        for event in page:
            if "sender_id" in expansions and "sender_id" in event:
                user_ids.append(event["sender_id"])
            if "participant_ids" in expansions:
                user_ids.extend(event.get("participant_ids", []))
            if "referenced_tweets.id" in expansions:
                for ref in event.get("referenced_tweets", []):
                    target = self._tweets.get(ref["id"])
                    if target is not None and target not in referenced:
                        referenced.append(target)
        includes = self._includes(user_ids, user_fields, referenced, tweet_fields)
        if includes:
            body["includes"] = includes
        # The real DM lookups send both cursors with every non-empty page (see the recording in
        # test_manage_and_lookup_direct_messages.json: two events, both tokens); following
        # next_token past the end gives an empty page without tokens.
        body["meta"] = {
            "result_count": len(page),
            "next_token": _encode_token("next", page[-1]["id"]),
            "previous_token": _encode_token("prev", page[0]["id"]),
        }
        return Reply(200, body)

    def _post_dm_with(self, request: Request, me: str, participant_id: str) -> Reply:
        if not _SNOWFLAKE.fullmatch(participant_id):
            return _invalid([_pattern_error("participant_id", participant_id)])
        if participant_id not in self._users or participant_id == me:
            # Wording not confirmed against the real API; tweepy raises Forbidden either way.
            return _problem(403, "Forbidden", "You cannot send messages to this user.")
        conversation = _one_to_one(me, participant_id)
        if participant_id in self._closed_dms and conversation not in self._conversations:
            return _problem(403, "Forbidden", "You cannot send messages to this user.")
        self._conversations.setdefault(conversation, sorted({me, participant_id}))
        return self._send_dm_as(me, request, conversation)

    def _post_dm_in_conversation(self, request: Request, me: str, dm_conversation_id: str) -> Reply:
        members = self._conversations.get(dm_conversation_id)
        if members is None:
            ids = dm_conversation_id.split("-")
            # A 1:1 conversation exists implicitly between the caller and any user.
            if len(ids) == 2 and me in ids and all(i in self._users for i in ids):
                members = self._conversations[dm_conversation_id] = sorted(ids)
        if members is None or me not in members:
            # Wording not confirmed against the real API.
            return _problem(403, "Forbidden", "You are not a participant in this conversation.")
        return self._send_dm_as(me, request, dm_conversation_id)

    def _post_dm_group(self, request: Request, me: str) -> Reply:
        payload = _json_object(request) or {}
        participants = payload.get("participant_ids")
        message = payload.get("message")
        errors = []
        if payload.get("conversation_type") != "Group":
            errors.append({"message": "conversation_type must be Group"})
        if not isinstance(participants, list) or not all(
            str(p) in self._users for p in participants
        ):
            errors.append({"message": "participant_ids must be ids of existing users"})
        if not isinstance(message, dict):
            errors.append({"message": "message is required"})
        if errors:
            return _invalid(errors)  # wording not confirmed; status and shape are the v2 ones
        conversation = self._new_id()
        members = sorted({me, *(str(p) for p in participants or [])}, key=int)
        self._conversations[conversation] = members
        return self._send_dm_as(me, request, conversation, message)

    def _send_dm_as(
        self,
        sender_id: str,
        request: Request,
        conversation: str,
        message: dict[str, Any] | None = None,
    ) -> Reply:
        payload = _json_object(request) or {}
        content = message if message is not None else payload
        text = content.get("text")
        if not isinstance(text, str) or not text:
            if not content.get("attachments"):
                return _invalid([{"message": "text or attachments is required."}])
            text = ""
        if len(text) > MAX_DM_LENGTH:
            return _invalid([{"message": "The text of your direct message is over the limit."}])
        event = self._create_dm_event(sender_id, conversation, text, None, None)
        if content.get("attachments"):
            event["attachments"] = {
                "media_keys": [f"3_{a.get('media_id')}" for a in content["attachments"]]
            }
        self._sent_dms.append({**copy.deepcopy(event), "request_json": payload})
        data = {"dm_conversation_id": conversation, "dm_event_id": event["id"]}
        return Reply(201, {"data": data})


# --- helpers ------------------------------------------------------------------------------------
class _Query:
    """Reads query parameters like the v2 API: unknown or malformed ones become errors."""

    def __init__(self, request: Request, allowed: Sequence[str]) -> None:
        self.values = request.query
        self.errors: list[dict[str, Any]] = []
        if allowed:
            for name, value in self.values.items():
                if name not in allowed:
                    message = f"The query parameter [{name}] is not one of [{','.join(allowed)}]"
                    self.errors.append(_param_error(name, value, message))

    def csv(self, name: str, choices: Sequence[str]) -> list[str]:
        raw = self.values.get(name)
        if not raw:
            return []
        items = raw.split(",")
        for item in items:
            if item not in choices:
                message = (
                    f"The `{name}` query parameter value [{item}] is not one of "
                    f"[{','.join(choices)}]"
                )
                self.errors.append(_param_error(name, item, message))
        return [item for item in items if item in choices]

    def integer(self, name: str, low: int, high: int, *, default: int) -> int:
        raw = self.values.get(name)
        if raw is None:
            return default
        if raw.isdigit() and low <= int(raw) <= high:
            return int(raw)
        message = f"The `{name}` query parameter value [{raw}] is not between {low} and {high}"
        self.errors.append(_param_error(name, raw, message))
        return default

    def snowflake(self, name: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        if _SNOWFLAKE.fullmatch(raw):
            return int(raw)
        self.errors.append(_pattern_error(name, raw))
        return None

    def timestamp(self, name: str) -> datetime | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        try:
            return _parse_iso(raw)
        except ValueError:
            message = f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 timestamp."
            self.errors.append(_param_error(name, raw, message))
            return None

    def token(self, name: str) -> tuple[str, int] | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        decoded = _decode_token(raw)
        if decoded is None:
            message = f"The `{name}` query parameter value [{raw}] is not a valid token"
            self.errors.append(_param_error(name, raw, message))
        return decoded


def _match_route(request: Request) -> tuple[_Route, dict[str, str]] | None:
    for route, pattern in _COMPILED_ROUTES:
        if route.method == request.method:
            match = pattern.match(request.path)
            if match:
                return route, match.groupdict()
    return None


def _check_route_key(key: str) -> None:
    if key not in {route.key for route in _ROUTES}:
        known = ", ".join(route.key for route in _ROUTES)
        raise ValueError(f"unknown X route key {key!r}; known: {known}")


def _unauthorized() -> Reply:
    # What X v2 answers to any authentication it does not accept, whatever the reason.
    return _problem(401, "Unauthorized", "Unauthorized")


def _pct(text: str) -> str:
    """RFC 5849 percent-encoding: everything but ALPHA, DIGIT, "-", ".", "_" and "~"."""
    return quote(text, safe="~")


def _oauth_parameters(header: str) -> dict[str, str] | None:
    """The decoded parameters of an `OAuth k="v", ...` header; None when it is none or malformed."""
    scheme, _, rest = header.partition(" ")
    if scheme != "OAuth":
        return None
    parameters: dict[str, str] = {}
    for part in rest.split(","):  # values are percent-encoded, so no quoted value holds a comma
        match = _OAUTH_PARAMETER.fullmatch(part)
        if match is None:
            return None
        name, value = unquote(match[1]), unquote(match[2])
        if name in parameters:
            return None  # a repeated protocol parameter is malformed (RFC 5849 3.1)
        parameters[name] = value
    return parameters


def _form_parameters(request: Request) -> list[tuple[str, str]] | None:
    """The body's parameters when it is form-encoded (those are signed), else []; None when such a
    body is not UTF-8."""
    content_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded" or not request.body:
        return []
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None


def _signature_base_string(method: str, path: str, parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1 over the URL the client signed, `SIGNED_BASE_URL` + path."""
    encoded = sorted((_pct(name), _pct(value)) for name, value in parameters)
    normalized = "&".join(f"{name}={value}" for name, value in encoded)
    return "&".join((method.upper(), _pct(SIGNED_BASE_URL + path), _pct(normalized)))


def _problem(status: int, title: str, detail: str, type_: str = "about:blank") -> Reply:
    return Reply(status, {"title": title, "detail": detail, "type": type_, "status": status})


def _too_many_requests(headers: dict[str, str]) -> Reply:
    body = _problem(429, "Too Many Requests", "Too Many Requests").body
    return Reply(429, body, headers)


def _rate_headers(limit: int, remaining: int, reset_at: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset_at),
    }


def _invalid(errors: list[dict[str, Any]]) -> Reply:
    body = {
        "errors": errors,
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST,
    }
    return Reply(400, body)


def _param_error(name: str, value: str, message: str) -> dict[str, Any]:
    return {"parameters": {name: [value]}, "message": message}


def _pattern_error(name: str, value: str) -> dict[str, Any]:
    message = f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$"
    return _param_error(name, value, message)


def _not_found(parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find user with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": RESOURCE_NOT_FOUND,
    }


def _select(obj: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {name: copy.deepcopy(obj[name]) for name in dict.fromkeys(fields) if name in obj}


def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        payload = request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _one_to_one(a: str, b: str) -> str:
    """The id of the 1:1 conversation of two users: "<smaller id>-<larger id>"."""
    low, high = sorted((a, b), key=int)
    return f"{low}-{high}"


def _paginate(
    items: Sequence[dict[str, Any]], token: tuple[str, int] | None, size: int
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Page through `items` (newest first) by id cursors, stable while new items arrive.

    Returns the page, the token of the next (older) page and of the previous (newer) one.
    """
    if token is None:
        start = 0
    elif token[0] == "next":
        start = sum(1 for item in items if int(item["id"]) >= token[1])
    else:
        newer = sum(1 for item in items if int(item["id"]) > token[1])
        start = max(0, newer - size)
        items = items[:newer]
    page = list(items[start : start + size])
    if not page:
        return [], None, None
    has_older = start + len(page) < len(items)
    next_token = _encode_token("next", page[-1]["id"]) if has_older else None
    previous_token = _encode_token("prev", page[0]["id"]) if start > 0 else None
    return page, next_token, previous_token


def _encode_token(kind: str, item_id: str) -> str:
    # Opaque to clients, like the real tokens; decodable here so paging needs no server state.
    return base64.b32encode(f"{kind}:{item_id}".encode()).decode().rstrip("=").lower()


def _decode_token(token: str) -> tuple[str, int] | None:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        kind, _, item_id = base64.b32decode(padded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if kind not in ("next", "prev") or not _SNOWFLAKE.fullmatch(item_id):
        return None
    return kind, int(item_id)


def _iso(when: float | datetime | str) -> str:
    """X's timestamp format: second granularity, always ".000Z"."""
    if isinstance(when, str):
        when = _parse_iso(when)
    if isinstance(when, datetime):
        when = when.timestamp()
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_iso(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed


def weighted_length(text: str) -> int:
    """Length of a tweet as X counts it (twitter-text v3): most of Latin, Greek, Cyrillic and
    common punctuation weigh 1, other characters (CJK, emoji) 2, and every URL 23.

    Emoji sequences joined with ZWJ or carrying modifiers count each part, so they weigh a bit
    more than on X; that only matters for texts at the very limit.
    """
    text = unicodedata.normalize("NFC", text)
    total = 0
    for part in _URL.split(text):
        for char in part:
            code = ord(char)
            light = (
                code <= 4351 or 8192 <= code <= 8205 or 8208 <= code <= 8223 or 8242 <= code <= 8247
            )
            total += 1 if light else 2
    return total + 23 * len(_URL.findall(text))
