"""Malformed input never breaks the bot and never leaves a trace in the database.

Property-based (hypothesis) fuzzing of both of the bot's inputs:

- Slack's side, through the real HTTP endpoint (waitress -> WSGI -> Bolt -> listeners):
  correctly signed garbage that reaches the listeners (event_callback envelopes, block_actions,
  view_submission, slash commands), requests that fail verification (401) and oversized bodies
  (413). No answer may be a 5xx.
- X's side, through the poller: the X emulator answers the mentions and DM timelines with
  malformed API v2 bodies, which tweepy hands to `XChannel`. A poll must not raise (the poller
  logs and skips) and must not move a stream's cursor to anything that is not a real id.

Everywhere, the rows of conversations, messages, customers, outbox, audit_log and alerts are
counted before and after each example and must not change. The generators never produce a valid
state-changing input: the database starts empty, so no id, thread or handle refers to anything,
and the few commands that would store something when well formed (`/care vip add`, `/care hours
set`, `/care oncall set|override`, a complete template modal) are excluded by construction.

Ephemeral feedback is allowed: "That conversation no longer exists", "Unknown command" and
"Something went wrong" reach the agent through `outbox` rows of kind `slack.ephemeral`; telling
the person who clicked is the designed answer to a bad click, so those rows are not counted.
Every other outbox kind is.

Examples are deterministic (`derandomize=True`). The default budget is 10,000 examples in total
(~7,000 Slack, ~3,000 X); `CAREBRIDGE_FUZZ_EXAMPLES=100000` runs a larger, still deterministic,
campaign with the same proportions.
"""

from __future__ import annotations

import json
import os
import string
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.domain.templates import LANGUAGES, NoticeKind
from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Reply, Request
from bot.sandbox.slack_events import SlackEventSender
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from bot.slack.template_modal import ACTION_ID, BLOCK_ID, CALLBACK_ID
from handlers.web import MAX_BODY_BYTES
from storage import repositories as repo

# --- budget ------------------------------------------------------------------------------------

TOTAL_EXAMPLES = int(os.environ.get("CAREBRIDGE_FUZZ_EXAMPLES", "10000"))

# Each test's share of the total. Slack ~70%, X ~30%. Oversized bodies are a handful: each is
# a megabyte on the wire and the property is a simple size check.
SHARES: dict[str, float] = {
    "events": 0.25,
    "block_actions": 0.15,
    "views": 0.08,
    "commands": 0.14,
    "bad_signatures": 0.079,
    "oversized": 0.001,
    "x_mentions": 0.15,
    "x_dms": 0.15,
}


def fuzz(share: str) -> Callable[[Any], Any]:
    """Hypothesis settings for one test: its share of the budget, deterministic, no deadline
    (one example is a real HTTP round trip and a database query; timing is not the property)."""
    return settings(
        max_examples=max(1, round(TOTAL_EXAMPLES * SHARES[share])),
        deadline=None,
        derandomize=True,
        database=None,  # derandomized runs replay nothing; don't write .hypothesis/ in CI
        # One running bot serves all examples of a test: the function-scoped fixture is meant.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- what "nothing stored" means ---------------------------------------------------------------

WATCHED_TABLES = ("conversations", "messages", "customers", "audit_log", "alerts")
EPHEMERAL = "slack.ephemeral"  # private feedback to the agent: allowed, see the module docstring


def stored_rows(engine: Engine) -> dict[str, int]:
    """Row counts of the watched tables, and outbox rows other than ephemeral feedback."""
    columns = [f"(SELECT count(*) FROM {table}) AS {table}" for table in WATCHED_TABLES]
    columns.append(f"(SELECT count(*) FROM outbox WHERE kind != '{EPHEMERAL}') AS outbox")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT " + ", ".join(columns))).mappings().one()
    return dict(row)


def outbox_kinds(engine: Engine) -> list[tuple[str, Any]]:
    """What was queued, for the failure message."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT kind, payload FROM outbox WHERE kind != '{EPHEMERAL}'")
        ).all()
    return [(kind, payload) for kind, payload in rows]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def world(database_url: str, clock: ManualClock) -> Iterator[World]:
    """One running bot (Bolt behind waitress) for all the examples of a test."""
    with running_world(database_url, clock) as running:
        yield running


# --- junk ----------------------------------------------------------------------------------------

MISSING = object()  # a key left out altogether

# A few big strings, built once: hypothesis would spend its time growing them otherwise.
HUGE_STRINGS = ("x" * 70_000, "🙂" * 30_000, "\u202e" * 20_000 + "admin", "9" * 5_000)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**40),
    st.floats(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),  # incl. control chars
    st.sampled_from(HUGE_STRINGS),
    st.sampled_from(["", " ", "null", "0", "-1", "1e309", "NaN", "<@U123>", "\x00", "\ud800"]),
)
junk = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that is plausible, junk, or missing."""
    return st.one_of(valid, junk, st.just(MISSING))


def assemble(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not MISSING}


def not_a_nonempty_string(value: Any) -> bool:
    return not (isinstance(value, str) and value.strip())


user_ids = st.sampled_from(["UANNA", "U0FUZZ", "W012ABC", "USLACKBOT", "UCAREBOT"])
# Thread timestamps: the database is empty, so none of these is a conversation's thread.
slack_ts = st.one_of(
    st.builds(lambda s, u: f"{s}.{u:06d}", st.integers(0, 2**34), st.integers(0, 999_999)),
    st.sampled_from(["1700000000.000100", "0", "-1.5", "1e10", "", "abc.def", "9" * 400]),
)
form_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


# --- Slack transport -----------------------------------------------------------------------------


def post_signed(world: World, body: bytes, content_type: str) -> requests.Response:
    headers = {"Content-Type": content_type, **world.events.signature_headers(body)}
    return world.events.post_raw(body, headers)


FORM = "application/x-www-form-urlencoded"


def check_signed_refused_cleanly(
    world: World, engine: Engine, body: bytes, content_type: str = FORM
) -> None:
    """A signed malformed payload: no 5xx, nothing stored."""
    before = stored_rows(engine)
    check_answer(post_signed(world, body, content_type), body)
    check_nothing_stored(engine, before, body)


def check_answer(response: requests.Response, body: bytes) -> None:
    assert response.status_code < 500, (
        f"the bot answered {response.status_code} {response.text[:300]!r} to {body[:2000]!r}"
    )


def check_nothing_stored(engine: Engine, before: dict[str, int], body: Any) -> None:
    after = stored_rows(engine)
    assert after == before, (
        f"rows stored: {before} -> {after}; outbox: {outbox_kinds(engine)[-3:]!r}; "
        f"input: {str(body)[:2000]!r}"
    )


# --- (a) signed event_callback envelopes ---------------------------------------------------------


@st.composite
def message_events(draw: st.DrawFn) -> dict[str, Any]:
    """Message events: bad ts, missing user, threads that are no conversation, non-string text,
    junk subtypes. The database has no conversations, so no thread_ts is a known thread."""
    return assemble(
        {
            "type": "message",
            "user": draw(maybe(user_ids)),
            "text": draw(maybe(st.text(max_size=100))),
            "ts": draw(maybe(slack_ts)),
            "thread_ts": draw(maybe(slack_ts)),
            "channel": draw(maybe(st.sampled_from([CHANNEL, "C0OTHER", "D0DM"]))),
            "subtype": draw(
                maybe(st.sampled_from(["thread_broadcast", "message_changed", "bot_message"]))
            ),
            "bot_id": draw(st.just(MISSING) | junk),
            "blocks": draw(st.just(MISSING) | junk),
            "channel_type": draw(maybe(st.just("channel"))),
        }
    )


@st.composite
def home_events(draw: st.DrawFn) -> dict[str, Any]:
    """App Home opened without a usable user: a real one (a string id) would publish a view,
    which is valid and state-changing, so the user is always missing or not a string id."""
    user = draw(st.just(MISSING) | junk.filter(not_a_nonempty_string))
    return assemble({"type": "app_home_opened", "user": user, "tab": draw(maybe(st.just("home")))})


other_events = st.dictionaries(st.text(max_size=10), junk, max_size=5).map(
    lambda d: {"type": "reaction_added", **d}
)
events = st.one_of(message_events(), home_events(), other_events, junk)

ENVELOPE_KEYS = (
    "token",
    "team_id",
    "api_app_id",
    "event",
    "type",
    "event_id",
    "event_time",
    "authorizations",
    "is_ext_shared_channel",
    "event_context",
)


@st.composite
def event_bodies(draw: st.DrawFn, sender: SlackEventSender) -> tuple[bytes, str]:
    """A body for the Events API: a mutated envelope, a non-object, or not JSON at all."""
    shape = draw(st.sampled_from(["envelope", "envelope", "envelope", "json", "bytes"]))
    if shape == "json":
        body = json.dumps(draw(junk)).encode()
    elif shape == "bytes":
        body = draw(st.binary(max_size=300) | st.just(b'{"type": "event_callback", "event": {'))
    else:
        event = draw(events)
        envelope: dict[str, Any] = sender.envelope(event) if isinstance(event, dict) else {}
        envelope["event"] = event
        for key, value in draw(
            st.dictionaries(st.sampled_from(ENVELOPE_KEYS), maybe(junk))
        ).items():
            envelope[key] = value
        body = json.dumps(assemble(envelope)).encode()
    content_type = draw(
        st.sampled_from(
            ["application/json"] * 4 + ["text/plain", "application/x-www-form-urlencoded"]
        )
    )
    return body, content_type


@fuzz("events")
@given(data=st.data())
def test_signed_event_callbacks(world: World, engine: Engine, data: st.DataObject) -> None:
    body, content_type = data.draw(event_bodies(world.events))
    check_signed_refused_cleanly(world, engine, body, content_type)


# --- (a) signed block_actions --------------------------------------------------------------------

KNOWN_ACTIONS = (
    blocks.CLAIM,
    blocks.TAKE_OVER,
    blocks.RESOLVE,
    blocks.REOPEN,
    blocks.MOVE_TO_DM,
    blocks.RETRY,
    blocks.LIFT_HOLD,
    "open_link",
    "open_crm",
)
# Values for the buttons: the database is empty, so no number is a conversation or a message.
action_values = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "1", "0", "-1", "1e3", " 7 ", "0x10", "\uff11\uff12", "NaN", "9" * 5_000]),
    st.text(max_size=20),
)


@st.composite
def actions(draw: st.DrawFn) -> dict[str, Any]:
    return assemble(
        {
            "action_id": draw(maybe(st.sampled_from(KNOWN_ACTIONS) | st.text(max_size=20))),
            "block_id": draw(maybe(st.just("actions"))),
            "value": draw(maybe(action_values)),
            "type": draw(maybe(st.just("button"))),
            "action_ts": draw(maybe(slack_ts)),
        }
    )


@st.composite
def block_action_bodies(draw: st.DrawFn) -> bytes:
    user = draw(
        maybe(
            st.builds(lambda u: {"id": u, "name": "x", "team_id": "TSANDBOX"}, maybe(user_ids)).map(
                assemble
            )
        )
    )
    payload = assemble(
        {
            "type": draw(maybe(st.sampled_from(["block_actions", "interactive_message"]))),
            "user": user,
            "api_app_id": draw(maybe(st.just("ASANDBOX"))),
            "team": draw(maybe(st.just({"id": "TSANDBOX", "domain": "sandbox"}))),
            "container": draw(maybe(st.just({"type": "message", "channel_id": CHANNEL}))),
            "channel": draw(maybe(st.just({"id": CHANNEL, "name": "support"}))),
            "message": draw(maybe(st.just({"type": "message", "ts": "1700000000.000100"}))),
            "trigger_id": draw(maybe(st.just("1.2.abc"))),
            "response_url": draw(maybe(st.just("https://hooks.slack.com/actions/T/1/x"))),
            "actions": draw(maybe(st.lists(actions() | junk, max_size=3))),
        }
    )
    form = draw(
        st.one_of(
            st.just({"payload": json.dumps(payload)}),
            st.builds(lambda raw: {"payload": raw}, form_text),  # payload that is not JSON
            st.dictionaries(form_text, form_text, max_size=3),  # no payload at all
        )
    )
    return urlencode(form).encode()


@fuzz("block_actions")
@given(body=block_action_bodies())
def test_signed_block_actions(world: World, engine: Engine, body: bytes) -> None:
    check_signed_refused_cleanly(world, engine, body)


# --- (a) signed view_submission ------------------------------------------------------------------

kinds = st.sampled_from([k.value for k in NoticeKind]) | junk
languages = st.sampled_from(list(LANGUAGES)) | junk
private_metadata = st.one_of(
    st.builds(lambda k, lang: json.dumps({"kind": k, "language": lang}), kinds, languages),
    st.builds(json.dumps, junk),
    form_text,
)


@st.composite
def view_state(draw: st.DrawFn) -> Any:
    value = draw(maybe(st.text(max_size=50) | st.none()))
    entry = assemble({"type": "plain_text_input", "value": value})
    values = draw(
        st.one_of(
            st.just({BLOCK_ID: {ACTION_ID: entry}}),
            st.just({BLOCK_ID: entry}),
            st.dictionaries(st.text(max_size=8), junk, max_size=2),
            junk,
        )
    )
    return draw(st.one_of(st.just({"values": values}), junk, st.just(MISSING)))


def saves_a_template(payload: dict[str, Any]) -> bool:
    """A complete, valid template submission (known kind and language, a non-empty text): it
    legitimately stores the template, so the generator leaves it out."""
    view = payload.get("view")
    if not isinstance(view, dict) or view.get("callback_id") != CALLBACK_ID:
        return False
    try:
        meta = json.loads(view.get("private_metadata") or "")
        known = meta["kind"] in {k.value for k in NoticeKind} and meta["language"] in LANGUAGES
        typed = view["state"]["values"][BLOCK_ID][ACTION_ID]["value"]
    except (ValueError, TypeError, KeyError):
        return False
    return known and isinstance(typed, str) and bool(typed.strip())


@st.composite
def view_submission_bodies(draw: st.DrawFn) -> bytes:
    view = assemble(
        {
            "id": "V0FUZZ",
            "type": "modal",
            "callback_id": draw(maybe(st.just(CALLBACK_ID) | st.text(max_size=10))),
            "private_metadata": draw(maybe(private_metadata)),
            "state": draw(view_state()),
        }
    )
    payload = assemble(
        {
            "type": draw(maybe(st.sampled_from(["view_submission", "view_closed", "shortcut"]))),
            "user": draw(maybe(st.builds(lambda u: {"id": u}, maybe(user_ids)).map(assemble))),
            "team": {"id": "TSANDBOX"},
            "api_app_id": "ASANDBOX",
            "view": draw(st.one_of(st.just(view), junk, st.just(MISSING))),
        }
    )
    if saves_a_template(payload):
        payload["view"]["state"] = {}  # by construction: never a complete submission
    return urlencode({"payload": json.dumps(payload)}).encode()


@fuzz("views")
@given(body=view_submission_bodies())
def test_signed_view_submissions(world: World, engine: Engine, body: bytes) -> None:
    check_signed_refused_cleanly(world, engine, body)


# --- (a) signed slash commands -------------------------------------------------------------------

SUBCOMMANDS = ("", "help", "oncall", "stats", "hours", "vip", "customer", "link", "template")
# The well-formed versions of these store a rotation, hours or a VIP; the generator never
# builds them (see changes_state). `link` and `customer` need customers: there are none.
DIGITS_AND_PERIODS = set(string.digits) | {"daily", "weekly"}


def changes_state(word: str, rest: str) -> bool:
    """Whether `/care <word> <rest>` could be a valid command that stores something."""
    tokens = rest.lower().split()
    first = tokens[0] if tokens else ""
    lowered = rest.lower()
    if word == "vip":
        return first == "add"
    if word == "hours":
        return first == "set" and any(d in lowered for d in string.digits)
    if word == "oncall":
        return (first == "set" and any(p in lowered for p in ("daily", "weekly"))) or (
            first == "override" and any(d in lowered for d in string.digits)
        )
    return False


@st.composite
def care_text(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(SUBCOMMANDS) | st.text(max_size=12))
    verb = draw(st.sampled_from(["", "set ", "override ", "add ", "remove ", "list ", "show "]))
    rest = verb + draw(form_text | st.sampled_from(HUGE_STRINGS[:1]))
    if changes_state(word.strip().lower(), rest):
        rest = "nonsense"
    return draw(st.sampled_from([f"{word} {rest}", f"  {word.upper()}   {rest}", word]))


@st.composite
def slash_command_bodies(draw: st.DrawFn) -> bytes:
    command = draw(
        st.sampled_from(["/care", "/care", "/care", "/CARE", "/unknown", ""]) | form_text
    )
    fields = {
        "token": "sandbox-verification-token",
        "team_id": "TSANDBOX",
        "channel_id": draw(st.sampled_from([CHANNEL, "D0DM"]) | form_text),
        "user_id": draw(user_ids | form_text),
        "command": command,
        "text": draw(care_text()),
        "api_app_id": "ASANDBOX",
        "response_url": "https://hooks.slack.com/commands/T/1/x",
        "trigger_id": draw(st.just("1.2.abc") | form_text),
    }
    for key in draw(st.sets(st.sampled_from(sorted(fields)), max_size=3)):
        del fields[key]  # missing fields, any of them
    return urlencode(fields).encode()


@fuzz("commands")
@given(body=slash_command_bodies())
def test_signed_slash_commands(world: World, engine: Engine, body: bytes) -> None:
    check_signed_refused_cleanly(world, engine, body)


# --- (b) unsigned, badly signed, stale ------------------------------------------------------------

any_body = st.one_of(
    st.builds(lambda e: json.dumps(e).encode(), junk),
    block_action_bodies(),
    slash_command_bodies(),
    st.binary(max_size=200),
)


@st.composite
def bad_headers(draw: st.DrawFn, body: bytes, sender: SlackEventSender) -> dict[str, str]:
    """Headers of a request that must fail verification."""
    now = int(time.time())
    good = sender.signature_headers(body)
    wrong_secret = SlackEventSender(sender.url, "not-the-secret").signature_headers(body)
    stale = int(draw(st.sampled_from([-1, 1]) | st.just(-1)) * draw(st.integers(301, 10**9)))
    case = draw(
        st.sampled_from(
            ["none", "no signature", "no timestamp", "garbage", "wrong secret", "stale", "other"]
        )
    )
    if case == "none":
        return {}
    if case == "no signature":
        return {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}
    if case == "no timestamp":
        return {"X-Slack-Signature": good["X-Slack-Signature"]}
    if case == "garbage":
        # (no leading spaces: HTTP clients refuse to send such a header at all)
        stamp = draw(st.sampled_from([str(now), "", "abc", "1e9", "-1", "+5", "99999999999999999"]))
        signature = draw(
            st.sampled_from(["", "v0=", "v1=" + "0" * 64, "v0=" + "0" * 64, "sha256=abc"])
            | st.text(alphabet=string.printable.strip(), max_size=80).map(str.strip)
        )
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    if case == "wrong secret":
        return wrong_secret
    if case == "stale":
        return sender.signature_headers(body, timestamp=now + stale)
    # Correctly signed, but for another body.
    return sender.signature_headers(body + b" ")


@fuzz("bad_signatures")
@given(data=st.data())
def test_unverified_requests_are_refused(world: World, engine: Engine, data: st.DataObject) -> None:
    body = data.draw(any_body)
    headers = data.draw(bad_headers(body, world.events))
    content_type = data.draw(
        st.sampled_from(["application/json", "application/x-www-form-urlencoded"])
    )
    before = stored_rows(engine)
    response = world.events.post_raw(body, {"Content-Type": content_type, **headers})
    # An oversized body is refused before anyone reads it to check its signature.
    expected = 413 if len(body) > MAX_BODY_BYTES else 401
    assert response.status_code == expected, (
        f"{response.status_code} {response.text[:200]!r} for headers {headers} body {body[:300]!r}"
    )
    check_nothing_stored(engine, before, body)


# --- (c) oversized bodies ------------------------------------------------------------------------


@fuzz("oversized")
@given(
    extra=st.integers(1, 400_000),
    signed=st.booleans(),
    chunked=st.booleans(),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
)
def test_oversized_bodies_are_refused(
    world: World, engine: Engine, extra: int, signed: bool, chunked: bool, content_type: str
) -> None:
    """Over 1 MB is 413, whether the size is announced (Content-Length) or not (chunked)."""
    body = b'{"type": "event_callback", "event": {"text": "' + b"x" * MAX_BODY_BYTES
    body += b"y" * extra + b'"}}'
    headers = {"Content-Type": content_type}
    if signed:
        headers.update(world.events.signature_headers(body))
    before = stored_rows(engine)
    data: Any = (body[i : i + 65_536] for i in range(0, len(body), 65_536)) if chunked else body
    response = requests.post(world.events.url, data=data, headers=headers, timeout=10)
    assert response.status_code == 413, f"{response.status_code} for {len(body)} bytes"
    check_nothing_stored(engine, before, f"{len(body)} bytes")


# --- X: malformed API v2 pages through the poller ------------------------------------------------

MENTIONS = "GET /2/users/:id/mentions"
DM_EVENTS = "GET /2/dm_events"


class CraftedX(XEmulator):
    """The X emulator, except that the routes in `bodies` answer 200 with the given body (bytes
    are sent as they are, anything else as JSON) on every request: a next_token in it makes
    the adapter ask again and again, the loop the MAX_PAGES backstop is for."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bodies: dict[str, Any] = {}

    def handle(self, request: Request) -> Reply:
        key = self.fault_key(request)
        if key in self.bodies:
            body = self.bodies[key]
            return Reply(200, body if isinstance(body, bytes) else json.dumps(body).encode())
        return super().handle(request)


def is_id(value: Any) -> bool:
    """An X id as API v2 sends it: a string of 1 to 19 digits."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19


BRAND_ID = "1000000000000000001"
CURSOR = "1860000000000000500"
known_author = "1860000000000000001"
snowflakes = st.integers(1860000000000000600, 1860000000000009999).map(str)
bad_ids = st.one_of(
    st.integers(0, 2**64),  # a number, not a string
    st.sampled_from(["", "abc", "12a", "-5", " 7", "1.5", "٣", "9" * 40, "0x1F", "null"]),
    junk.filter(lambda v: not is_id(v)),
)
bad_times = st.one_of(
    st.sampled_from(["yesterday", "2026-13-45T00:00:00Z", "", "Z", "2026-11-23", "1700000000"]),
    junk.filter(lambda v: not isinstance(v, str) or not v),
)


def good_user(user_id: str = known_author) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": "Giulia",
        "username": "giulia_r",
        "public_metrics": {"followers_count": 10},
        "verified": False,
    }


@st.composite
def users(draw: st.DrawFn) -> Any:
    """includes.users: sometimes right, often not (fields missing, wrong types, not a list)."""
    user = good_user()
    for key, value in draw(
        st.dictionaries(
            st.sampled_from(["id", "name", "username", "public_metrics", "verified"]),
            st.just(MISSING) | junk | st.just({"followers_count": "lots"}),
            max_size=3,
        )
    ).items():
        user[key] = value
    return draw(
        st.one_of(
            st.just([assemble(user)]),
            st.lists(st.just(assemble(user)) | junk, max_size=3),
            junk,
            st.just(MISSING),
        )
    )


def fatal_defects(id_key: str, author_key: str) -> st.SearchStrategy[dict[str, Any]]:
    """At least one defect that makes an item no message at all: its id is no id, its author
    is no user the page includes, its text is not text. (Text is a default field of every v2
    tweet and DM; a body without it is not one.)"""
    return st.dictionaries(
        st.sampled_from([id_key, author_key, "text"]),
        st.one_of(
            st.just(MISSING),
            bad_ids,
            st.sampled_from(["1860000000000000002", BRAND_ID]),  # a user the page doesn't include
            junk.filter(lambda v: not isinstance(v, str)),
        ),
        min_size=1,
    ).filter(lambda defects: _is_fatal(defects, id_key, author_key))


def _is_fatal(defects: dict[str, Any], id_key: str, author_key: str) -> bool:
    if id_key in defects and not is_id(defects[id_key]):
        return True
    if author_key in defects and defects[author_key] != known_author:
        return True
    return "text" in defects and not isinstance(defects["text"], str)


@st.composite
def items(draw: st.DrawFn, id_key: str, author_key: str, extra: dict[str, Any]) -> Any:
    item: dict[str, Any] = {
        id_key: draw(snowflakes),
        author_key: known_author,
        "text": draw(st.text(max_size=40) | st.sampled_from(HUGE_STRINGS)),
        "created_at": "2026-11-23T08:59:00.000Z",
        **extra,
    }
    item.update(draw(fatal_defects(id_key, author_key)))
    # Fields a lenient adapter could shrug off, on top of what already makes it no message.
    item.update(draw(st.dictionaries(st.sampled_from(["created_at", *extra]), maybe(bad_times))))
    return assemble(item)


@st.composite
def pages(draw: st.DrawFn, id_key: str, author_key: str, extra: dict[str, Any]) -> Any:
    """A body for a timeline: right or wrong in its shape, never with one usable message."""
    shape = draw(st.sampled_from(["page", "page", "page", "page", "not an object", "not JSON"]))
    if shape == "not JSON":
        return draw(st.sampled_from([b"", b"{", b"<html>502</html>", b"\xff\xfe", b'{"data": [']))
    if shape == "not an object":
        return draw(junk.filter(lambda v: not isinstance(v, dict)))
    data = draw(
        st.one_of(
            st.lists(items(id_key, author_key, extra), max_size=4),
            st.lists(items(id_key, author_key, extra) | junk, max_size=4),
            junk,
            st.just(MISSING),
        )
    )
    meta = assemble(
        {
            "result_count": draw(maybe(st.integers(0, 100))),
            # A real newest_id would legitimately move the mentions cursor: never a real one.
            "newest_id": draw(st.just(MISSING) | bad_ids),
            "oldest_id": draw(maybe(snowflakes)),
            # The same token on every page: the page loop runs to its MAX_PAGES backstop.
            "next_token": draw(
                st.just(MISSING) | st.just(MISSING) | st.sampled_from(["loop", "", "7"]) | junk
            ),
        }
    )
    includes = draw(
        st.one_of(st.builds(lambda u: assemble({"users": u}), users()), junk, st.just(MISSING))
    )
    return assemble(
        {
            "data": data,
            "includes": includes,
            "meta": draw(st.one_of(st.just(meta), junk, st.just(MISSING))),
            "errors": draw(st.just(MISSING) | junk),
        }
    )


def page_ids(body: Any, id_key: str) -> set[str]:
    data = body.get("data") if isinstance(body, dict) else None
    found = data if isinstance(data, list) else []
    return {item[id_key] for item in found if isinstance(item, dict) and is_id(item.get(id_key))}


@pytest.fixture
def x_world(database_url: str, clock: ManualClock) -> Iterator[World]:
    """A bot whose X answers with crafted bodies; identified once, before the examples."""
    with CraftedX(clock=clock.timestamp) as x, running_world(database_url, clock, x=x) as running:
        running.poll()  # identify the brand account: the cursors live on its row
        yield running


def set_cursor(world: World, stream: str, cursor: str | None) -> None:
    with world.app.services.context.transaction() as session:
        account = repo.account(session, "x", world.x.brand_id)
        assert account is not None
        account.cursors = {stream: cursor} if cursor is not None else {}


def cursor_of(world: World, stream: str) -> str | None:
    with world.app.services.context.transaction() as session:
        account = repo.account(session, "x", world.x.brand_id)
        assert account is not None
        return (account.cursors or {}).get(stream)


def poll_malformed(
    world: World, engine: Engine, route: str, stream: str, id_key: str, body: Any, cursor: Any
) -> None:
    """Serve `body` on `route`, poll only `stream`, and check the three properties."""
    account = world.app.services.accounts.by_name("x")
    assert account is not None
    channel: Any = account.channel
    channel.streams = (stream,)  # one HTTP round trip per example, not two
    crafted: Any = world.x
    crafted.bodies = {route: body}
    set_cursor(world, stream, cursor)
    before = stored_rows(engine)
    world.poll()  # must not raise: the poller logs what it cannot read and skips it
    check_nothing_stored(engine, before, body)
    after = cursor_of(world, stream)
    assert after == cursor or moved_well(cursor, after, page_ids(body, id_key)), (
        f"cursor {cursor!r} -> {after!r} for {str(body)[:2000]}"
    )


def moved_well(cursor: str | None, after: str | None, ids: set[str]) -> bool:
    """A cursor may only move to an id the page really carried, forward; or, while a backlog is
    walked page by page, keep what is known and note where to go on (an id or page token)."""
    if is_id(after):
        return after in ids and (cursor is None or int(after) > int(cursor))
    try:
        walk = json.loads(after or "")
    except ValueError:
        return False
    newest, resume = walk.get("newest"), walk.get("resume")
    return (
        walk.get("known") == cursor
        and (newest is None or (newest in ids and (cursor is None or int(newest) > int(cursor))))
        and isinstance(resume, str)
        and resume != ""
    )


TWEET_EXTRA = {"conversation_id": "1860000000000000600", "edit_history_tweet_ids": []}
DM_EXTRA = {"event_type": "MessageCreate", "dm_conversation_id": f"{BRAND_ID}-{known_author}"}


@fuzz("x_mentions")
@given(body=pages("id", "author_id", TWEET_EXTRA), cursor=st.sampled_from([None, CURSOR]))
@example(  # found by this test: a tweet older than since_id made the walk go backwards
    body={
        "data": [{"id": "1860000000000000002", "text": "", **TWEET_EXTRA}],
        "meta": {"result_count": 0, "next_token": "loop"},
    },
    cursor=CURSOR,
)
def test_malformed_mentions_pages(
    x_world: World, engine: Engine, body: Any, cursor: str | None
) -> None:
    poll_malformed(x_world, engine, MENTIONS, "mentions", "id", body, cursor)


@fuzz("x_dms")
@given(body=pages("id", "sender_id", DM_EXTRA), cursor=st.sampled_from([None, CURSOR]))
def test_malformed_dm_pages(x_world: World, engine: Engine, body: Any, cursor: str | None) -> None:
    poll_malformed(x_world, engine, DM_EVENTS, "dms", "id", body, cursor)
