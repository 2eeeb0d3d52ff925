"""Hostile text never becomes a ping, a link, formatting or a third-party mention.

Property-based (hypothesis) tests of the real bot between the Slack and X emulators (the `World`
of bot/sandbox/world.py), at night in Rome so that automatic notices really go out. Hostile
strings (`<!channel>`, `<@U0EVIL>`, `<https://evil.example|click>`, `@victim_acct`, `*bold*`,
entities, `|` and `>`, control, zero-width and RTL characters, very long strings) are mixed with
plain text and fed into every field that customers or agents control:

- customers: the X display name, the text of mentions and DMs, follow-ups (seen on the card, in
  the thread, in App Home and in `/care customer`), with usernames X allows but that look tricky;
- agents: thread messages (answers, `note:`, a colleague's message, answers too long for X);
- `/care` arguments: vip add/remove, customer, link, oncall set/override, stats, hours set,
  audit, template, unknown sub-commands; and the template editor's submissions.

Properties, checked on everything the bot sends (the emulators record every request):

1. No Slack payload (chat.postMessage, chat.update, chat.postEphemeral, views.publish,
   views.open, slash-command answers) holds, in a mrkdwn text or a top-level `text`, an entity
   (`<...>`: a ping, a link, a channel) other than the team's own: the agents, the leads' group,
   Slack permalinks, the x.com links the adapter builds, App Home's date token. No raw `<`, no
   bare `&`, no `>` but a quote's. `rich_text` holds only literal text; no call asks Slack to
   parse names (`link_names`, `parse=full`). A customer's bare URL or domain is never where Slack
   links it by itself: in a top-level text or a mrkdwn object that is not verbatim.
2. No formatting injection: `*bold*`, `_it_`, `~strike~` and backtick runs from customer or agent
   data never appear raw in mrkdwn (the bot wraps those characters in U+200B).
3. Outbound X requests: an automatic notice is exactly one of the team's notices, greeting the
   customer by a plain first name (letters, `'`, `-`) or by no name, and carries no URL but
   NETIQUETTE_URL (or what the team's own template says). An agent's answer carries what the agent
   typed and no Slack markup: a mention, a link's `<...|...>` or an id never reaches X.
4. Nothing crashes: every request to the bot is answered 2xx/4xx, commands answer privately with
   a message, no outbox job fails or is retried, nobody is told "Something went wrong".

Each example checks that the hostile value really reached Slack (and that notices were really
sent), so the properties are never checked over nothing; `test_the_checks_catch_*` feeds the
checkers synthetic bad payloads. Scenarios (mention or DM, urgent, abusive; answer, note, too
long; each sub-command) are parameters, so each gets its share of examples. Defects found and
not fixed yet are pinned at the end by strict xfails, with their minimal input.

Examples are deterministic (`derandomize=True`). The default budget is small (the file runs in
about half a minute on two workers); CAREBRIDGE_FUZZ_EXAMPLES scales it as it scales
test_malformed_inputs.py (10,000 is the default total; 100000 runs ten times as many here).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain.templates import (
    LANGUAGES,
    NoticeKind,
    NoticeValues,
    describe_hours,
    describe_next_open,
    notice_text,
)
from bot.sandbox.loopback import Request
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack.template_modal import ACTION_ID, BLOCK_ID, CALLBACK_ID
from storage.models import Conversation, OutboxJob

# --- budget ------------------------------------------------------------------------------------

TOTAL_EXAMPLES = int(os.environ.get("CAREBRIDGE_FUZZ_EXAMPLES", "10000"))
# Shares of the total, as in test_malformed_inputs.py; each example is a whole conversation
# (several HTTP round trips and outbox runs), so the shares are small.
SHARES: dict[str, float] = {
    "customers": 0.003,
    "agents": 0.003,
    "commands": 0.006,
    "vips": 0.002,
    "templates": 0.0025,
}


def fuzz(share: str, scenarios: int = 1) -> Callable[[Any], Any]:
    """Hypothesis settings for one test: its share of the budget (split between its parametrized
    scenarios), deterministic, no deadline."""
    return settings(
        max_examples=max(1, round(TOTAL_EXAMPLES * SHARES[share] / scenarios)),
        deadline=None,
        derandomize=True,
        database=None,
        # One running bot serves all examples of a test: the function-scoped fixture is meant.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- the team and its settings -------------------------------------------------------------------

AGENTS = {"UANNA": "anna", "UBRUNO": "bruno", "UCARLA": "carla"}
LEADS = "S0LEADS"
RULES_URL = "https://acme.example/rules"
CRM_TEMPLATE = "https://crm.acme.example/search?q={handle}"
URGENT_FOLLOWERS = 100_000
SETTINGS = {
    "TIMEZONE": "Europe/Rome",
    "BUSINESS_HOURS": "mon-fri 09:00-18:00",
    "OUT_OF_HOURS_PUBLIC": "true",  # public mentions get the notice too: more for X to carry
    "NETIQUETTE_URL": RULES_URL,
    "SLACK_LEADS": LEADS,
    "SLA_ESCALATE_TO": LEADS,
    "CRM_URL_TEMPLATE": CRM_TEMPLATE,
    "PRIORITY_FOLLOWERS_URGENT": str(URGENT_FOLLOWERS),  # urgent cards ping the on-call agent
}
# Monday 23 November 2026, 22:00 in Rome: closed until Tuesday 9:00.
MONDAY_NIGHT = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
# Per example: keeps X's 15-minute request windows far from their limits on long campaigns.
EXAMPLE_GAP = timedelta(seconds=15)

# --- hostile text ------------------------------------------------------------------------------

PINGS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0EVIL>",
    "<@U0EVIL|boss>",
    "<#C0EVIL>",
    "<#C0EVIL|general>",
    "<!subteam^S0EVIL>",
    "<!subteam^S0EVIL|@admins>",
)
LINKS = (
    "<https://evil.example|click>",
    "<https://evil.example/login>",
    "https://evil.example/login",
    "evil.example/login",
    "<mailto:boss@evil.example|boss@evil.example>",
)
THIRD_PARTIES = ("@victim_acct", "@here", "@channel", "#general")
FORMATTING_RUNS = ("*bold*", "_it_", "~strike~", "`tick`", "```fence```")
FORMATTING = (*FORMATTING_RUNS, "*", "_", "~", "`", "> quote", ">>>")
ENTITY_TRICKS = (
    "&lt;",
    "&gt;",
    "&amp;",
    "&lt;!channel&gt;",
    "&amp;lt;@U0EVIL&amp;gt;",
    "|",
    ">",
    "<",
    "&",
    "<<!here>>",
    "<@U0EVIL",
    "<https://evil.example|",
    "x|<!channel>|y",
)
INVISIBLE = (
    "\n",
    "\r\n",
    "\t",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u200f",
    "\u061c",
    "\u2066",
    "\u2028",
    "\u00a0",
)
PLAIN = ("Giulia", "Zoë", "O'Brien", "Jean-Luc", "Łukasz", "张伟", "hello", "parcel 4411", "ciao")
LONG = ("x" * 400, "é" * 200 + "<!channel>", "🙂" * 100 + "*bold*", "<@U0EVIL>" * 50)
HOSTILE = (*PINGS, *LINKS, *THIRD_PARTIES, *FORMATTING, *ENTITY_TRICKS, *INVISIBLE)

# Any character X could carry, NUL aside (X never delivers one, and PostgreSQL cannot store it).
random_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
pieces = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(PLAIN), random_text)
separators = st.sampled_from(["", " ", " ", "\n"])


def joined(parts: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda chosen, separator: separator.join(chosen),
        st.lists(parts, min_size=1, max_size=max_size),
        separators,
    )


# X allows a display name of 1 to 50 characters.
display_names = joined(pieces, 4).map(lambda name: name[:50]).filter(lambda name: name.strip())
customer_texts = joined(pieces | st.sampled_from(LONG), 6).filter(lambda text: text.strip())
# What X allows as a username ([A-Za-z0-9_]{1,15}); the adapter drops anything else. A counter
# makes each example's customer new: a new conversation, so a new notice.
USERNAME_STEMS = ("_x_", "a_b_c", "__", "x__", "_", "Q_")
_serial = itertools.count(1)


def new_username(stem: str) -> str:
    return f"{stem}{next(_serial)}"[:15]


# --- the world -----------------------------------------------------------------------------------


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """One bot for all the examples of a test: at night, the leads' group known, a rotation."""
    clock = ManualClock(MONDAY_NIGHT)
    with running_world(database_url, clock, agents=AGENTS, env=SETTINGS) as running:
        running.slack.add_usergroup(LEADS, ["UCARLA"])
        answer = care(running, "UANNA", "oncall set <@UANNA|anna> <@UBRUNO|bruno> weekly mon 09:00")
        assert answer.status_code == 200 and "On call now: <@UANNA>" in answer.text
        yield running


def care(world: World, user: str, text: str) -> requests.Response:
    """`/care <text>` as Slack sends it (the text already encoded as Slack encodes it)."""
    response = world.events.slash_command(user, "/care", text, CHANNEL)
    world.settle()
    return response


def open_home(world: World, user: str) -> requests.Response:
    event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"}
    response = world.events.event(event)
    world.settle()
    return response


def customer_writes(world: World, username: str, text: str, *, public: bool) -> None:
    if public:
        world.x.post_tweet(username, f"@{world.x.brand['username']} {text}")
    else:
        world.x.send_dm(username, text)
    world.poll()
    world.settle()


def agent_writes(world: World, user: str, slack_text: str, thread_ts: str) -> requests.Response:
    """A thread message as Slack stores it and delivers it to the bot."""
    message = world.slack.post_as_user(user, slack_text, thread_ts=thread_ts, channel=CHANNEL)
    response = world.events.message(user, slack_text, CHANNEL, message["ts"], thread_ts=thread_ts)
    world.settle()
    return response


def submit_template(world: World, language: str, text: str) -> requests.Response:
    """The template editor's Save, as Slack sends a view_submission."""
    payload = {
        "type": "view_submission",
        "team": {"id": "TSANDBOX"},
        "user": {"id": "UANNA", "username": "anna", "team_id": "TSANDBOX"},
        "api_app_id": "ASANDBOX",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": CALLBACK_ID,
            "private_metadata": json.dumps({"kind": "out_of_hours", "language": language}),
            "state": {
                "values": {BLOCK_ID: {ACTION_ID: {"type": "plain_text_input", "value": text}}}
            },
        },
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = world.events.post_raw(body, {**headers, **world.events.signature_headers(body)})
    world.settle()
    return response


# --- what the bot sent ---------------------------------------------------------------------------

SLACK_WRITES = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.publish",
    "views.open",
)


@dataclass(frozen=True)
class Payload:
    """Something the bot sent to Slack: a Web API call's parameters, or an HTTP answer."""

    where: str
    body: dict[str, Any]


@dataclass
class Step:
    """What happened from `start(world)` on: the Slack payloads, the X requests, the answers the
    bot gave to Slack's requests."""

    world: World
    slack_calls: dict[str, int]
    x_requests: int
    outbox_id: int
    answers: list[tuple[str, requests.Response]] = field(default_factory=list)
    _payloads: list[Payload] | None = None
    _seen: int = 0

    def answer(self, what: str, response: requests.Response) -> requests.Response:
        self.answers.append((what, response))
        self._payloads = None
        return response

    def slack_payloads(self) -> list[Payload]:
        """Read once per state of the step: decoding every recorded call is not free."""
        if self._payloads is None or len(self.world.slack.requests) != self._seen:
            self._seen = len(self.world.slack.requests)
            self._payloads = self._read_payloads()
        return self._payloads

    def _read_payloads(self) -> list[Payload]:
        found = [
            Payload(method, params)
            for method in SLACK_WRITES
            for params in self.world.slack.calls(method)[self.slack_calls[method] :]
        ]
        for what, response in self.answers:
            body = response_json(response)
            if body is not None:
                found.append(Payload(f"answer to {what}", body))
        return found

    def x_requests_since(self) -> list[Request]:
        return list(self.world.x.requests[self.x_requests :])

    def x_texts(self) -> list[str]:
        """The text of every post and DM the bot sent to X in this step."""
        return [r.json()["text"] for r in self.x_requests_since() if r.method == "POST"]


def start(world: World) -> Step:
    world.clock.advance(EXAMPLE_GAP)
    with world.app.database.transaction() as session:
        latest = session.scalar(select(OutboxJob.id).order_by(OutboxJob.id.desc()).limit(1))
    calls = {method: len(world.slack.calls(method)) for method in SLACK_WRITES}
    return Step(world, calls, len(world.x.requests), latest or 0)


def response_json(response: requests.Response) -> dict[str, Any] | None:
    """The answer's body as a message: Bolt answers a text-only ack as plain text."""
    if not response.text:
        return None
    if not response.headers.get("content-type", "").startswith("application/json"):
        return {"text": response.text}
    body = response.json()
    return body if isinstance(body, dict) else {"text": str(body)}


# --- property 1 and 2: Slack ---------------------------------------------------------------------

ENTITY = re.compile(r"<([^<>]*)>")
# The only entities the bot writes itself, with the ids and links configured in this file.
OWN_ENTITY = re.compile(
    "|".join(
        (
            r"@(?:UANNA|UBRUNO|UCARLA)",  # agents, the on-call agent, an owner
            rf"!subteam\^{LEADS}",  # SLA_ESCALATE_TO
            r"!date\^\d+\^[^|]*\|[^|]*",  # App Home's "updated 21:00"
            r"https://sandbox\.slack\.com/archives/C[A-Z0-9]+/p\d+(?:\?[^\s|]*)?\|[^|]*",
            r"https://x\.com/[A-Za-z0-9_]{1,15}(?:/status/\d+)?\|[^|]*",  # profiles, posts
            r"https://x\.com/messages/[\d-]+\|[^|]*",  # DM conversations
        )
    )
)
# Slack's server links a URL or a domain it finds in a top-level text, and in a mrkdwn object
# that is not verbatim: a customer's must be broken up (escape() puts U+200B in it).
HOSTILE_LINK = re.compile(r"(?i)evil\.example|https?://evil")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
RICH_TEXT_LITERAL = {
    "rich_text_section",
    "rich_text_quote",
    "rich_text_preformatted",
    "rich_text_list",
    "text",
    "emoji",
}
MRKDWN_LIMIT = 3000  # a mrkdwn text object; Slack refuses the blocks (invalid_blocks) above


@dataclass(frozen=True)
class Mrkdwn:
    text: str
    in_block: bool  # a text object in blocks (else a message's top-level text)
    verbatim: bool  # Slack leaves plain text alone (no auto-linking)


def mrkdwn_texts(body: Any, problems: list[str], *, top: bool = True) -> Iterator[Mrkdwn]:
    """Every string Slack reads as mrkdwn: top-level `text`, mrkdwn objects, and (to be safe)
    any other `text` string that is not plain_text or a rich_text element. rich_text elements
    are checked to hold nothing but literal text."""
    if isinstance(body, list):
        for item in body:
            yield from mrkdwn_texts(item, problems, top=False)
        return
    if not isinstance(body, dict):
        return
    kind = body.get("type")
    if kind == "plain_text":
        return
    if kind == "rich_text":
        problems.extend(rich_text_problems(body))
        return
    if kind == "mrkdwn" and isinstance(body.get("text"), str):
        yield Mrkdwn(body["text"], True, body.get("verbatim") is True)
        return
    for key, value in body.items():
        if key in ("metadata", "private_metadata"):
            continue
        if key == "text" and isinstance(value, str):
            yield Mrkdwn(value, not top, False)
        else:
            yield from mrkdwn_texts(value, problems, top=False)


def rich_text_problems(node: Any) -> list[str]:
    """rich_text is shown literally only while it holds sections and text: a link, user,
    usergroup, channel or broadcast element would be a ping or a link."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += rich_text_problems(item)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind != "rich_text" and kind not in RICH_TEXT_LITERAL:
            found.append(f"a rich_text {kind!r} element: {node}")
        for value in node.values():
            if isinstance(value, list | dict):
                found += rich_text_problems(value)
    return found


def markup_problems(text: str) -> list[str]:
    """Property 1 on one mrkdwn string: only the team's entities, and no raw `<`, `&` or `>`."""
    found = [
        f"entity {m.group(0)!r}" for m in ENTITY.finditer(text) if not OWN_ENTITY.fullmatch(m[1])
    ]
    rest = ENTITY.sub("", text)
    if "<" in rest:
        found.append("a raw '<'")
    if BARE_AMPERSAND.search(rest):
        found.append("a raw '&'")
    if any(">" in line[1:] for line in rest.split("\n")):
        found.append("a raw '>' that is not a quote's")
    return found


def formatting_problems(text: str) -> list[str]:
    """Property 2 on one mrkdwn string: no hostile formatting run raw."""
    return [f"formatting {run!r} raw" for run in FORMATTING_RUNS if run in text]


# The thread's record of a notice shows the team's template as sent, links and formatting
# included (bot/slack/render.py `_notice_sent`): with a template the team wrote, only the
# entity checks apply to it. With the default templates, everything does.
NOTICE_ECHO = re.compile(r":outbox_tray: Sent [\w-]+ notice on ")


def slack_problems(payloads: list[Payload], *, team_templates: bool = False) -> list[str]:
    """Properties 1 and 2 over a step's payloads, each problem with where it was."""
    found: list[str] = []
    for payload in payloads:
        local: list[str] = []
        if payload.body.get("link_names") not in (None, False, "false", "0", 0):
            local.append(f"link_names={payload.body['link_names']!r}")
        if payload.body.get("parse") == "full":
            local.append("parse=full")
        for mrkdwn in mrkdwn_texts(payload.body, local):
            local += markup_problems(mrkdwn.text)
            if team_templates and NOTICE_ECHO.match(mrkdwn.text):
                continue
            local += formatting_problems(mrkdwn.text)
            if not mrkdwn.verbatim and HOSTILE_LINK.search(ENTITY.sub("", mrkdwn.text)):
                local.append("a URL or domain Slack links by itself")
            if mrkdwn.in_block and len(mrkdwn.text) > MRKDWN_LIMIT:
                local.append(f"a mrkdwn text of {len(mrkdwn.text)} characters")
        found += [f"{payload.where}: {problem} in {short(payload.body)}" for problem in local]
    return found


def shown(mrkdwn: str) -> str:
    """Roughly what Slack displays of escaped text: no U+200B, entities decoded."""
    text = mrkdwn.replace("\u200b", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def reached(payloads: list[Payload], value: str) -> bool:
    """Whether `value` is shown in some mrkdwn string: the hostile value was really rendered
    there, so the checks above were made on it."""
    wanted = value.replace("\u200b", "")
    return any(
        wanted in shown(m.text) for p in payloads for m in mrkdwn_texts(p.body, [], top=True)
    )


def neutralised_runs(payloads: list[Payload], value: str) -> list[str]:
    """The formatting runs of `value` that were expected neutralised but are nowhere to be seen
    with their U+200B: an empty list means every run reached Slack defused."""
    texts = [m.text for p in payloads for m in mrkdwn_texts(p.body, [], top=True)]
    missing = []
    for run in FORMATTING_RUNS:
        if run in value:
            defused = "".join(f"\u200b{c}\u200b" if c in "*_~`" else c for c in run)
            if not any(defused in text for text in texts):
                missing.append(run)
    return missing


def rich_quotes(payloads: list[Payload]) -> list[str]:
    """The literal texts of rich_text elements: where customer text is quoted."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)

    for payload in payloads:
        walk(payload.body.get("blocks"))
    return found


def short(value: Any, limit: int = 1500) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


# --- property 3: X ------------------------------------------------------------------------------

X_WRITES = re.compile(r"POST /2/(?:tweets|dm_conversations/with/\d+/messages)")
URL_LIKE = re.compile(r"(?i)https?://|www\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
NOTICE_UNSAFE = set("<>*_~`|&@")  # none of these is in the team's default notices


def x_request_problems(step: Step) -> list[str]:
    """Only posts and DMs are written, and no hostile input reaches X in a URL."""
    found = []
    for request in step.x_requests_since():
        route = f"{request.method} {request.path}"
        if request.method != "GET" and not X_WRITES.fullmatch(route):
            found.append(f"unexpected X request {route}")
        where = request.path + json.dumps(request.query)
        if any(marker in where for marker in ("evil", "victim", "EVIL", "%3C", "<")):
            found.append(f"hostile text in the URL of {route}: {where}")
    return found


def plain_first_name(display_name: str) -> str | None:
    """The only name a notice may greet with: the display name's first word, when it is made of
    letters (and `'` or `-` between them)."""
    words = display_name.split()
    first = words[0] if words else ""
    letters = first.replace("'", "").replace("\u2019", "").replace("-", "")
    plain = bool(first) and first[0].isalpha() and letters.isalpha()
    return first if plain else None


def team_notices(world: World, display_name: str, now: datetime) -> set[str]:
    """Every notice the team's templates (stored or default) can give this customer now: either
    kind, either language, with the plain first name or with no name."""
    calendar = world.app.services.hours.calendar_now()
    opens = calendar.next_open(now) or now
    names = {"", plain_first_name(display_name) or ""}
    notices = set()
    for kind, language, name in itertools.product(NoticeKind, LANGUAGES, names):
        template, is_default = world.app.services.templates.current(kind, language)
        values = NoticeValues(
            name=name,
            hours=describe_hours(calendar.hours, language),
            next_open=describe_next_open(opens, now, calendar.zone, language),
            rules_url=RULES_URL,
        )
        notices.add(notice_text(kind, language, values, None if is_default else template))
    return notices


def notice_problems(
    notice: str, *, username: str, public: bool, allowed: set[str], default: bool
) -> list[str]:
    """Property 3 for one automatic notice; `default`: the team kept the default templates, so
    the notice holds no markup character, no control character and no URL but the rules'."""
    found = []
    text = notice
    if public:
        address = f"@{username} "  # the customer's own handle, as X issued it
        if not notice.startswith(address):
            return [f"a public notice that does not start with {address!r}: {notice!r}"]
        text = notice.removeprefix(address)
    if default:
        unsafe = sorted(
            {c for c in text if c in NOTICE_UNSAFE or unicodedata.category(c) in ("Cc", "Cf")}
        )
        if unsafe:
            found.append(f"characters {unsafe!r} the team never wrote in {notice!r}")
        if URL_LIKE.search(text.replace(RULES_URL, "")):
            found.append(f"a URL other than NETIQUETTE_URL in {notice!r}")
    if text not in allowed:
        found.append(f"not one of the team's notices: {text!r} (allowed: {sorted(allowed)!r})")
    return found


# Agents' thread messages: what the agent typed (Slack encodes &, < and >), or real markup.
@dataclass(frozen=True)
class Piece:
    slack: str  # as the event carries it
    typed: str | None  # the text the agent typed; None for a mention, a link, a channel...


def typed(text: str) -> Piece:
    encoded = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Piece(encoded, text)


MARKUP = (
    "<@U0EVIL>",
    "<@U0EVIL|evil>",
    "<@UBRUNO>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0EVIL>",
    "<!subteam^S0EVIL|@evil-team>",
    "<#C0EVIL>",
    "<#C0EVIL|general>",
    "<https://evil.example|click>",
    "<https://evil.example/login>",
    "<mailto:boss@evil.example|boss@evil.example>",
    "<!date^1700000000^{date_short}|Nov 14>",
)
# What Slack markup leaves behind if it reaches X; a typed character counts as typed.
MARKUP_TRACES = ("<", ">", "|", "^", "U0EVIL", "S0EVIL", "C0EVIL", "UBRUNO")
markup_pieces = st.sampled_from(MARKUP).map(lambda m: Piece(m, None))
typed_pieces = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(PLAIN), random_text).map(typed)


def answer_problems(sent: str, message: list[Piece]) -> list[str]:
    """Property 3 for an agent's answer: everything typed arrives, no trace of markup does."""
    words = " ".join(p.typed for p in message if p.typed is not None)
    found = [
        f"{trace!r} {sent.count(trace)} times, typed {words.count(trace)} times"
        for trace in MARKUP_TRACES
        if sent.count(trace) > words.count(trace)
    ]
    found += [
        f"typed {p.typed.strip()!r} missing"
        for p in message
        if p.typed is not None and p.typed.strip() and p.typed.strip() not in sent
    ]
    return [f"{problem} in the answer {sent!r}" for problem in found]


# --- property 4: nothing crashes -----------------------------------------------------------------


def health_problems(step: Step) -> list[str]:
    found = [
        f"{what}: the bot answered {response.status_code} {response.text[:300]!r}"
        for what, response in step.answers
        if response.status_code >= 500
    ]
    with step.world.app.database.transaction() as session:
        jobs = session.scalars(
            select(OutboxJob).where(OutboxJob.id > step.outbox_id).order_by(OutboxJob.id)
        ).all()
        found += [
            f"outbox {job.kind} {job.status} after {job.attempts} attempts: {job.last_error}"
            for job in jobs
            if job.status == "failed" or job.last_error or job.attempts > 1
        ]
    for payload in step.slack_payloads():
        if "Something went wrong on our side" in str(payload.body.get("text", "")):
            found.append(f"{payload.where}: {payload.body['text']!r}")
    return found


def check(step: Step, *problems: list[str], about: str, team_templates: bool = False) -> None:
    everything = [p for group in problems for p in group]
    everything += slack_problems(step.slack_payloads(), team_templates=team_templates)
    everything += x_request_problems(step)
    everything += health_problems(step)
    assert not everything, f"{about}:\n" + "\n".join(everything)


# --- customers -----------------------------------------------------------------------------------

# Scenarios are parameters, not draws: each gets its share of examples whatever hypothesis
# favours. "urgent" pings the on-call agent in the channel; "abusive" gets the rules.
CUSTOMER_SCENARIOS = ("mention", "dm", "urgent mention", "abusive dm")
INSULT = "sei un idiota"  # abuse aimed at a person (bot/domain/netiquette.py)


@dataclass(frozen=True)
class CustomerCase:
    username: str
    name: str
    texts: tuple[str, ...]  # the first message, then follow-ups


@st.composite
def customer_cases(draw: st.DrawFn) -> CustomerCase:
    return CustomerCase(
        username=new_username(draw(st.sampled_from(USERNAME_STEMS))),
        name=draw(display_names),
        texts=tuple(draw(st.lists(customer_texts, min_size=1, max_size=2))),
    )


@pytest.mark.parametrize("scenario", CUSTOMER_SCENARIOS)
@fuzz("customers", len(CUSTOMER_SCENARIOS))
@given(case=customer_cases())
def test_customer_names_and_texts_never_ping_link_or_format(
    world: World, scenario: str, case: CustomerCase
) -> None:
    """A customer's display name and texts: on the card, in the thread, in App Home and in
    `/care customer`; the notice sent back on X greets by a plain first name or no name."""
    public = "mention" in scenario
    texts = list(case.texts)
    if "abusive" in scenario:
        texts[0] = f"{texts[0]}.\n{INSULT}!"  # a sentence of its own: aimed at us, not reported
    step = start(world)
    now = world.clock.now()
    followers = URGENT_FOLLOWERS * 2 if "urgent" in scenario else 12
    world.x.add_user(case.username, case.name, followers=followers)
    for text in texts:
        customer_writes(world, case.username, text, public=public)
    step.answer("/care customer", care(world, "UANNA", f"customer @{case.username}"))
    step.answer("app_home_opened", open_home(world, "UANNA"))

    payloads = step.slack_payloads()
    assert world.card_of(case.username), "no card: nothing was checked"
    assert reached(payloads, case.name), f"the name {case.name!r} was never shown"
    assert not neutralised_runs(payloads, case.name), case.name
    first = f"@{world.x.brand['username']} {texts[0]}" if public else texts[0]
    assert any(q.startswith(first[:1000]) for q in rich_quotes(payloads)), "text not quoted"
    if "urgent" in scenario:
        channel = [str(p.body.get("text")) for p in payloads if "thread_ts" not in p.body]
        assert any("*Urgent*" in t and "<@UANNA>" in t for t in channel), "no urgent ping"
    notices = step.x_texts()
    assert notices, "no automatic notice was sent: property 3 would hold over nothing"
    if "abusive" in scenario:
        assert RULES_URL in notices[0], f"no netiquette notice: {notices!r}"
    # Each message's notice is written when it is ingested: allow the texts of either moment.
    allowed = team_notices(world, case.name, now)
    allowed |= team_notices(world, case.name, world.clock.now())
    problems = [
        p
        for notice in notices
        for p in notice_problems(
            notice, username=case.username, public=public, allowed=allowed, default=True
        )
    ]
    check(step, problems, about=f"{scenario}: {case!r}")


# --- agents ---------------------------------------------------------------------------------------

# "too long": a public answer over X's limit, echoed privately; "colleague": a non-owner writes
# after the owner's answer and is told who owns the conversation.
AGENT_SCENARIOS = ("public answer", "dm answer", "too long", "note", "colleague")


@st.composite
def agent_messages(draw: st.DrawFn, scenario: str) -> tuple[Piece, ...]:
    body = draw(st.lists(st.one_of(typed_pieces, markup_pieces), min_size=1, max_size=8))
    if scenario == "too long" or (scenario == "dm answer" and draw(st.booleans())):
        body.append(typed(draw(st.sampled_from(LONG)) * 2))  # over 280 by any count
    # A word of its own first: X refuses a post identical to an earlier one.
    return (typed(f"Ref{next(_serial)}"), *body)


@pytest.mark.parametrize("scenario", AGENT_SCENARIOS)
@fuzz("agents", len(AGENT_SCENARIOS))
@given(data=st.data())
def test_agent_messages_reach_x_as_typed_and_slack_defused(
    world: World, scenario: str, data: st.DataObject
) -> None:
    """An agent's thread message: an answer carries what was typed and no Slack markup; a note,
    a colleague's message and an answer too long for X stay in Slack, defused when echoed."""
    message = data.draw(agent_messages(scenario))
    public = scenario in ("public answer", "too long", "note")
    username = new_username(data.draw(st.sampled_from(USERNAME_STEMS)))
    world.x.add_user(username, "Giulia Rossi")
    customer_writes(world, username, "my parcel is stuck", public=public)
    card = world.card_of(username)
    step = start(world)
    slack_text = " ".join(p.slack for p in message)
    if scenario == "note":
        slack_text = "note: " + slack_text
    step.answer("agent message", agent_writes(world, "UANNA", slack_text, card["ts"]))
    if scenario == "colleague":
        step.answer("colleague message", agent_writes(world, "UBRUNO", slack_text, card["ts"]))

    sent = step.x_texts()
    told = private_notes(step, "UANNA")
    problems: list[str] = []
    if scenario == "note":
        assert not sent and told and "Kept internal" in told[0], (sent, told)
    elif scenario == "too long" or (told and "Not sent: your answer is" in told[0]):
        assert public and not sent and told and "Not sent: your answer is" in told[0], told
        problems += [f"typed {p.typed!r} not echoed" for p in message if not in_echo(p, told[0])]
    else:
        assert len(sent) == 1, f"the answer was not sent once: {sent!r}, told {told!r}"
        problems += answer_problems(sent[0], list(message))
        if scenario == "colleague":
            [owns] = private_notes(step, "UBRUNO")
            assert "<@UANNA> owns this conversation" in owns, owns
    check(step, problems, about=f"{scenario}: {slack_text!r}")


def private_notes(step: Step, user: str) -> list[str]:
    """The ephemeral messages `user` got in this step."""
    return [
        str(p.body.get("text"))
        for p in step.slack_payloads()
        if p.where == "chat.postEphemeral" and p.body.get("user") == user
    ]


BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def in_echo(piece: Piece, echo: str) -> bool:
    """A typed piece shows in the "Not sent" echo (escaped, with U+200B around formatting and
    without bidirectional controls, which would turn the rest of the line around)."""
    typed = BIDI.sub("", piece.typed or "").strip().replace("\u200b", "")
    return not typed or typed in shown(echo)


# --- /care commands ------------------------------------------------------------------------------

# Slash command text arrives as Slack sends it with should_escape: typed &, <, > as entities,
# people and channels as <@U...|name> and <#C...|name>.
hostile_words = st.one_of(
    typed_pieces, markup_pieces, st.sampled_from(LONG).map(typed), st.just(typed(""))
).map(lambda p: p.slack)
# Rotation members must be people the team chose: an agent typing @someone on call is not an
# injection (the answer then mentions them), so unknown ids stay out of oncall commands.
oncall_words = hostile_words.filter(lambda word: "U0EVIL" not in word and "UBRUNO" not in word)
team_mentions = st.sampled_from(["<@UANNA|anna>", "<@UBRUNO>", "<@UCARLA|carla>"])
handles = st.sampled_from(["@giulia_r", "@marco_b", "giulia_r", "x:@giulia_r", "fb:@giulia_r"])


THREAD = "{thread}"  # giulia_r's thread permalink, filled in when the command is sent


def words(strategy: st.SearchStrategy[str], max_size: int = 4) -> st.SearchStrategy[str]:
    return st.lists(strategy, min_size=0, max_size=max_size).map(" ".join)


SUB_COMMANDS = (
    "vip add",
    "vip remove",
    "vip",
    "customer",
    "link",
    "oncall set",
    "oncall override",
    "stats",
    "hours set",
    "hours",
    "audit",
    "template",
    "unknown",
)


@st.composite
def care_commands(draw: st.DrawFn, kind: str) -> str:
    """`/care <kind> ...` with hostile arguments ("unknown": a hostile sub-command)."""
    hostile = draw(words(hostile_words))
    if kind == "vip remove":
        return f"vip remove {draw(handles | hostile_words)} {hostile}"
    if kind == "customer":
        return f"customer {draw(handles | hostile_words)} {hostile}"
    if kind == "link":
        return f"link {draw(handles | hostile_words)} {draw(handles | hostile_words)} {hostile}"
    if kind == "oncall set":
        members = draw(words(team_mentions | oncall_words, 3))
        schedule = draw(st.sampled_from(["weekly mon 09:00", "daily 09:00", ""]))
        return f"oncall set {members} {schedule} {draw(words(oncall_words, 2))}"
    if kind == "oncall override":
        person = draw(team_mentions | oncall_words)
        return f"oncall override {person} {draw(st.sampled_from(['4h', '']))} {hostile}"
    if kind == "stats":
        return f"stats {draw(st.sampled_from(['', '7d ', 'today ']))}{hostile}"
    if kind == "hours set":
        return f"hours set {draw(st.sampled_from(['', 'mon-fri 09:00-18:00 ']))}{hostile}"
    if kind == "audit":
        return f"audit {draw(st.sampled_from(['', THREAD, f'<{THREAD}>', 'nope']))} {hostile}"
    if kind == "template":
        return f"template {draw(st.sampled_from(['', 'out_of_hours', 'netiquette it']))} {hostile}"
    if kind == "unknown":
        return f"{draw(hostile_words)} {hostile}"
    return f"{kind} {hostile}"


def known_conversation(world: World) -> str:
    """giulia_r and marco_b have written (so `customer`, `link` and `audit` find someone);
    the permalink of giulia_r's thread."""
    for username in ("giulia_r", "marco_b"):
        try:
            world.card_of(username)
        except LookupError:
            world.x.add_user(username, username.split("_")[0].title())
            customer_writes(world, username, "my parcel is stuck", public=True)
    with world.app.database.transaction() as session:
        permalink = session.scalar(
            select(Conversation.slack_permalink).order_by(Conversation.id).limit(1)
        )
    assert permalink
    return str(permalink)


@pytest.mark.parametrize("kind", SUB_COMMANDS)
@fuzz("commands", len(SUB_COMMANDS))
@given(data=st.data())
def test_care_commands_answer_privately_and_defused(
    world: World, kind: str, data: st.DataObject
) -> None:
    """Every `/care` sub-command with hostile arguments: a private answer, no ping, link or
    formatting the agent did not mean, nothing of it on X."""
    text = data.draw(care_commands(kind)).replace(THREAD, known_conversation(world))
    step = start(world)
    response = step.answer(f"/care {text}", care(world, "UANNA", text))
    assert response.status_code == 200, response.text
    body = response_json(response)
    opened = step.world.slack.calls("views.open")[step.slack_calls["views.open"] :]
    if body is None:  # only a template editor opens with an empty answer
        assert opened, f"/care {text!r} got an empty answer"
    else:
        assert body.get("response_type", "ephemeral") == "ephemeral", body
        assert str(body.get("text", "")).strip(), f"/care {text!r} got no message: {body}"
    assert not step.x_texts(), "a command sent something to X"
    check(step, about=f"/care {text!r}")


@fuzz("vips")
@given(note=words(hostile_words, 5).filter(str.strip))
def test_vip_notes_on_cards_are_defused(world: World, note: str) -> None:
    """A VIP note shows in the card's priority line of the VIP's next conversation."""
    username = new_username("vip_")
    step = start(world)
    step.answer("/care vip add", care(world, "UANNA", f"vip add @{username} {note}"))
    world.x.add_user(username, "Giulia")
    customer_writes(world, username, "my parcel is stuck", public=True)
    card = world.card_of(username)
    added = response_json(step.answers[0][1]) or {}
    if str(added.get("text", "")).startswith(":star:"):
        assert "(VIP)" in str(card["blocks"]), "the note never reached the card"
    check(step, about=f"vip note {note!r}")


# --- the template editor -------------------------------------------------------------------------

PLACEHOLDERS = ("{name}", "{hours}", "{next_open}", "{rules_url}")
template_pieces = st.one_of(
    st.sampled_from(PLACEHOLDERS),
    st.sampled_from((*HOSTILE, *PLAIN, "{{", "}}")),
    random_text.filter(lambda text: "{" not in text and "}" not in text),
)
broken_templates = st.sampled_from(["{nome}", "{", "}", "{Name}", "{ hours }"])


@dataclass(frozen=True)
class TemplateCase:
    language: str
    template: str
    broken: bool  # an unknown placeholder or unbalanced braces: must be refused
    name: str
    username: str


@st.composite
def template_cases(draw: st.DrawFn) -> TemplateCase:
    body = draw(st.lists(template_pieces, min_size=1, max_size=8).map(" ".join))
    broken = draw(st.booleans())
    if broken:
        body = f"{body} {draw(broken_templates)}"
    return TemplateCase(
        language=draw(st.sampled_from(LANGUAGES)),
        template=body,
        broken=broken,
        name=draw(display_names),
        username=new_username(draw(st.sampled_from(USERNAME_STEMS))),
    )


WELL_FORMED_REFUSALS = ("too long", "empty", "only placeholders")
CUSTOMER_TEXT = {"it": "Ciao, il mio ordine non è ancora arrivato", "en": "Hi, my parcel is late"}


@fuzz("templates")
@given(case=template_cases())
def test_templates_are_the_teams_words_and_names_stay_plain(
    world: World, case: TemplateCase
) -> None:
    """The editor with a hostile template: refused with the reason, or saved and then sent,
    filled with a plain first name (or none) whatever the customer's display name."""
    step = start(world)
    step.answer("/care template", care(world, "UANNA", f"template out_of_hours {case.language}"))
    saved = step.answer("view_submission", submit_template(world, case.language, case.template))
    assert saved.status_code == 200
    answer = response_json(saved)
    current, _ = world.app.services.templates.current(NoticeKind.OUT_OF_HOURS, case.language)
    if answer is None:
        assert not case.broken, f"a broken template was saved: {case.template!r}"
        assert current == case.template.strip()
    else:
        assert answer.get("response_action") == "errors", answer
        reason = answer["errors"][BLOCK_ID]
        if not case.broken:  # well formed: refused only for its length or for saying nothing
            assert any(why in reason for why in WELL_FORMED_REFUSALS), reason
            assert "too long" not in reason or len(case.template) > 40, reason
    step.answer("/care template", care(world, "UANNA", f"template out_of_hours {case.language}"))

    now = world.clock.now()
    world.x.add_user(case.username, case.name)
    customer_writes(world, case.username, CUSTOMER_TEXT[case.language], public=False)
    notices = step.x_texts()
    assert len(notices) == 1, f"one notice expected, got {notices!r}"
    allowed = team_notices(world, case.name, now)
    problems = notice_problems(
        notices[0], username=case.username, public=False, allowed=allowed, default=False
    )
    check(step, problems, about=f"{case!r}, in force: {current!r}", team_templates=True)


# --- the checks themselves ------------------------------------------------------------------------


def message(text: str, blocks: list[dict[str, Any]] | None = None) -> Payload:
    return Payload("chat.postMessage", {"channel": CHANNEL, "text": text, "blocks": blocks or []})


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def verbatim(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


@pytest.mark.parametrize(
    "bad",
    [
        message("hi <!channel>"),
        message("hi <!here|here>"),
        message("ok", [section("*Giulia* <@U0EVIL>")]),
        message("ok", [section("<!subteam^S0EVIL>")]),
        message("ok", [section("<https://evil.example|View on X>")]),
        message("ok", [section("<https://x.com/a.b|@a.b>")]),
        message("ok", [section("<#C0EVIL>")]),
        message("ok", [section("raw < sign")]),
        message("ok", [section("Tom & Jerry")]),
        message("ok", [section("quote > inside")]),
        message("ok", [section("\u200b*\u200bok\u200b*\u200b *bold*")]),
        message("ok", [{"type": "context", "elements": [{"type": "mrkdwn", "text": "_it_"}]}]),
        message("`tick`"),
        message("ok", [section("x" * 3001)]),
        message("log in at evil.example/login"),  # top-level text: Slack links the domain
        message("ok", [section("see https://evil.example/login")]),  # not verbatim
        message(
            "ok",
            [{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>", "verbatim": True}}],
        ),
        message(
            "ok", [{"type": "rich_text", "elements": [{"type": "broadcast", "range": "here"}]}]
        ),
        Payload("chat.postMessage", {"text": "hi", "link_names": True}),
        Payload("views.publish", {"view": {"blocks": [section("<@U0EVIL>")]}}),
        Payload("answer to /care", {"text": "Removed <!everyone>."}),
    ],
)
def test_the_checks_catch_pings_links_and_formatting(bad: Payload) -> None:
    assert slack_problems([bad])


def test_the_checks_accept_what_the_bot_writes() -> None:
    good = message(
        "New X mention from \u200b*\u200bEvil\u200b*\u200b &lt;@U0EVIL&gt; (@_x_1): &amp;lt; "
        "evil\u200b.example/login https:\u200b//evil\u200b.example",
        [
            section("*Giulia* <https://x.com/_x_1|@_x_1> · claimed by <@UANNA>"),
            section("Still unanswered <!subteam^S0LEADS> <@UBRUNO>\n> &gt; quoted"),
            section("<https://sandbox.slack.com/archives/CSUPPORT/p1795467600000000|thread>"),
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_quote",
                        "elements": [
                            {"type": "text", "text": "<!channel> *bold* https://evil.example/login"}
                        ],
                    }
                ],
            },
            {"type": "header", "text": {"type": "plain_text", "text": "<!here> *x*"}},
            {"type": "context", "elements": [verbatim("customer wrote evil.example/login")]},
        ],
    )
    assert slack_problems([good]) == []


def test_a_notice_echo_may_hold_the_teams_words_but_no_entity() -> None:
    echo = ":outbox_tray: Sent out-of-hours notice on X: *Closed* see https://acme.example/x"
    assert slack_problems([message(echo)], team_templates=True) == []
    assert slack_problems([message(echo + " <!channel>")], team_templates=True)
    assert slack_problems([message(echo.replace("acme", "evil"))])  # default templates: all


@pytest.mark.parametrize(
    ("notice", "public"),
    [
        ("@_x_1 Hi Evil, thanks", True),  # not a notice the team wrote
        ("Hi, see evil.example/login", False),
        ("Hi @victim_acct, thanks", False),
        ("Hi *bold*, thanks", False),
        ("Hi\u202e, thanks", False),
        ("Hi, thanks", True),  # a public notice without the customer's own @handle
    ],
)
def test_the_checks_catch_bad_notices(notice: str, public: bool) -> None:
    problems = notice_problems(
        notice, username="_x_1", public=public, allowed={"Hi, thanks"}, default=True
    )
    assert problems


def test_the_checks_catch_markup_in_answers() -> None:
    message_ = [typed("Ref1"), Piece("<@U0EVIL>", None), typed("a <b> & c")]
    assert answer_problems("Ref1 a <b> & c", message_) == []
    assert answer_problems("Ref1 <@U0EVIL> a <b> & c", message_)  # the mention leaked
    assert answer_problems("Ref1 a &lt;b&gt; &amp; c", message_)  # typed text mangled
    assert answer_problems(
        "Ref1 click (https://x) <https://evil.example|click> a <b> & c",
        [typed("Ref1"), Piece("<https://evil.example|click>", None), typed("a <b> & c")],
    )


def test_plain_first_names() -> None:
    assert plain_first_name("Giulia Rossi") == "Giulia"
    assert plain_first_name("O'Brien") == "O'Brien"
    assert plain_first_name("Jean-Luc Picard") == "Jean-Luc"
    for hostile in ("@victim_acct", "evil.example/login", "*bold*", "Zoe\u200b", "\u202eEve", ""):
        assert plain_first_name(hostile) is None, hostile


# --- defects found, pinned until fixed -----------------------------------------------------------


@pytest.mark.parametrize("name", ["½ Rossi", "x² Rossi", "Ⅻ"])
def test_only_letters_greet_the_customer(world: World, name: str) -> None:
    step = start(world)
    now = world.clock.now()
    username = new_username("num_")
    world.x.add_user(username, name)
    customer_writes(world, username, CUSTOMER_TEXT["en"], public=False)
    [notice] = step.x_texts()
    allowed = team_notices(world, name, now)
    problems = notice_problems(
        notice, username=username, public=False, allowed=allowed, default=True
    )
    assert not problems, "\n".join(problems)


def test_an_answer_of_any_length_is_echoed_to_its_agent(world: World) -> None:
    username = new_username("long_")
    world.x.add_user(username, "Giulia Rossi")
    customer_writes(world, username, "my parcel is stuck", public=True)
    step = start(world)
    text = "x" * 39_900  # a message Slack accepts (40,000 at most)
    step.answer("agent message", agent_writes(world, "UANNA", text, world.card_of(username)["ts"]))
    told = [e["text"] for e in world.ephemerals_for("UANNA")]  # what Slack accepted
    assert any("Not sent: your answer is" in t for t in told), "the agent was never told"
    check(step, about="an answer of 39,900 characters in a public conversation")
