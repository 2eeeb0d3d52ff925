"""Events for the company's other systems (EVENTS_WEBHOOK_URL), end to end: the real bot drives
one conversation through its life while a local receiver verifies every signature, fails a
fifth of the requests and is down for a minute. Every event arrives, in the conversation's
order, none is lost, a repeat carries the same id and bytes, every body matches the published
schema, and customers' words go out only with EVENTS_INCLUDE_TEXT=true."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain.delivery import PermanentError, RateLimited, TransientError, backoff
from bot.domain.events import EventKind, signature
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import World, running_world
from bot.services.event_delivery import RETRY_HORIZON, PostEvent
from bot.services.outbox import POST_EVENT, EventJob, write
from bot.services.worker import Job
from bot.slack import blocks
from storage.models import OutboxJob

SECRET = "receiver-shared-secret-0123"
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "events.schema.json").read_text())
FIRST = "Ciao, il mio ordine 4411 non è mai arrivato"
AGAIN = "Mi sentite? Sono ancora senza pacco"
LATER = "Scusate, il corriere dice che è in giacenza"
SCORE = "5 bravissimi, grazie"


class Receiver:
    """A company system taking Carebridge's events: it checks each signature and timestamp as
    the README says, answers 500 to a fifth of the requests (every other such failure after
    keeping the event: its answer is what is lost), and, for a minute of the bot's clock once
    told, closes every connection without answering."""

    def __init__(self, clock: ManualClock, *, seed: int = 18, failure_rate: float = 0.2) -> None:
        self.clock = clock
        self.random = random.Random(seed)
        self.failure_rate = failure_rate
        self.kept: list[bytes] = []  # every body it kept, repeats included, in arrival order
        self.refused = self.failed = self.dropped = 0
        self.down_until: float | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/carebridge/events"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def down_for(self, duration: timedelta) -> None:
        self.down_until = (self.clock.now() + duration).timestamp()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        now = self.clock.now().timestamp()
        with self.lock:
            if self.down_until is not None and now < self.down_until:
                self.dropped += 1
                request.close_connection = True
                return  # no answer at all: to the sender, a connection lost
            body = request.rfile.read(int(request.headers["Content-Length"]))
            timestamp = request.headers.get("X-Carebridge-Timestamp", "")
            signed = timestamp.encode() + b"." + body
            expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
            given = request.headers.get("X-Carebridge-Signature", "")
            if (
                request.headers.get("Content-Type") != "application/json"
                or not timestamp.isdigit()
                or abs(now - int(timestamp)) > 300
                or not hmac.compare_digest(expected, given)
            ):
                self.refused += 1
                return self._answer(request, 401)
            if self.random.random() < self.failure_rate:
                self.failed += 1
                if self.failed % 2:
                    self.kept.append(body)
                return self._answer(request, 500)
            self.kept.append(body)
            self._answer(request, 204)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int) -> None:
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def events(self) -> list[dict[str, Any]]:
        """Each event once, in the order first received (a receiver that dedupes on id)."""
        seen: dict[str, dict[str, Any]] = {}
        for raw in self.kept:
            event = json.loads(raw)
            seen.setdefault(event["id"], event)
        return list(seen.values())


@pytest.fixture
def receiver(clock: ManualClock) -> Iterator[Receiver]:
    with Receiver(clock) as started:
        yield started


@contextmanager
def events_world(
    slack: SlackEmulator,
    x: XEmulator,
    database_url: str,
    clock: ManualClock,
    receiver: Receiver,
    **env: str,
) -> Iterator[World]:
    settings = {"EVENTS_WEBHOOK_URL": receiver.url, "EVENTS_WEBHOOK_SECRET": SECRET, **env}
    with running_world(database_url, clock, slack=slack, x=x, env=settings) as world:
        yield world


def live_one_conversation(world: World, receiver: Receiver) -> None:
    """Opened, written to, claimed (while the receiver is down), answered, resolved, reopened,
    written to again and left unanswered past its target, answered, resolved, scored."""
    world.direct_message("giulia", FIRST, "Giulia Rossi")
    world.direct_message("giulia", AGAIN)
    receiver.down_for(timedelta(minutes=1))
    world.press("UANNA", blocks.CLAIM, world.card_of("giulia"))
    world.settle()
    card = world.card_of("giulia")
    world.reply_in_thread("UANNA", "Controllo subito, un attimo.", str(card["ts"]))
    world.settle()
    world.press("UANNA", blocks.RESOLVE, world.card_of("giulia"))
    world.settle()
    world.press("UANNA", blocks.REOPEN, world.card_of("giulia"))
    world.settle()
    world.direct_message("giulia", LATER)
    world.advance(timedelta(hours=1, minutes=1))  # the next-response target (1h) is missed
    world.reply_in_thread("UANNA", "Lo sblocco io, arriva domani.", str(card["ts"]))
    world.settle()
    world.press("UANNA", blocks.RESOLVE, world.card_of("giulia"))
    world.settle()
    world.advance(timedelta(minutes=10))  # CSAT_DELAY
    assert world.ask_surveys() == 1
    world.direct_message("giulia", SCORE)


EXPECTED = [
    (EventKind.OPENED, {}),
    (EventKind.CUSTOMER_WROTE, {}),
    (EventKind.CLAIMED, {"by": "UANNA", "via": "button"}),
    (EventKind.ANSWERED, {"by": "UANNA", "first_response": True}),
    (EventKind.RESOLVED, {"by": "UANNA"}),
    (EventKind.REOPENED, {"by": "UANNA"}),
    (EventKind.CUSTOMER_WROTE, {}),
    (EventKind.ALERT_FIRED, {"alert": "warning", "target": "next_response"}),
    (EventKind.ALERT_FIRED, {"alert": "breach", "target": "next_response"}),
    (EventKind.ANSWERED, {"by": "UANNA", "first_response": False}),
    (EventKind.RESOLVED, {"by": "UANNA"}),
    (EventKind.CSAT_RECEIVED, {"score": 5, "low": False}),
]


@pytest.mark.parametrize("include_text", [False, True], ids=["without_text", "with_text"])
def test_every_event_arrives_signed_once_per_id_and_matches_the_schema(
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    receiver: Receiver,
    include_text: bool,
) -> None:
    env = {"EVENTS_INCLUDE_TEXT": "true"} if include_text else {}
    with events_world(slack_emulator, x_emulator, database_url, clock, receiver, **env) as world:
        live_one_conversation(world, receiver)
        jobs = event_jobs(world)

    assert receiver.refused == 0  # every signature and timestamp verified
    assert receiver.dropped > 0 and receiver.failed > 0  # the outage and the 500s happened
    events = receiver.events()
    wants = [want for _, want in EXPECTED] + [{}] * len(events)
    # None lost, none made up, in the order they happened.
    assert [(e["type"], pick(e["data"], want)) for e, want in zip(events, wants, strict=False)] == [
        (str(kind), want) for kind, want in EXPECTED
    ]
    assert sorted(jobs) == ["done"] * len(EXPECTED)
    # A repeat is the same event: same id, same bytes.
    by_id: dict[str, set[bytes]] = {}
    for raw in receiver.kept:
        by_id.setdefault(json.loads(raw)["id"], set()).add(raw)
    assert all(len(copies) == 1 for copies in by_id.values())
    assert len(receiver.kept) > len(by_id)  # some did arrive twice

    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for event in events:
        validator.validate(event)
        assert undocumented(event) == []
        assert event["conversation"]["id"] == events[0]["conversation"]["id"]
    assert events[-1]["conversation"]["status"] == "resolved"
    assert events[2]["conversation"]["assignee"] == "UANNA"  # the snapshot after the claim

    giulia = world.x.user("giulia")
    raw = b"".join(receiver.kept).decode()
    words = [FIRST, AGAIN, LATER, "bravissimi", "Giulia Rossi", '"' + giulia["id"] + '"']
    if include_text:
        assert all(word in raw for word in words)
        assert events[0]["data"]["text"] == FIRST
        assert events[0]["customer"]["name"] == "Giulia Rossi"
        assert events[-1]["data"]["comment"] == "bravissimi, grazie"
    else:
        assert [word for word in words if word in raw] == []
        assert all("text" not in e["data"] and "comment" not in e["data"] for e in events)
        assert all(set(e["customer"]) == {"id", "network", "handle"} for e in events)
    assert events[0]["customer"]["handle"] == "giulia"


def pick(data: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in want}


def event_jobs(world: World) -> list[str]:
    with world.app.database.reading() as session:
        query = select(OutboxJob.status).where(OutboxJob.kind == POST_EVENT)
        return list(session.scalars(query))


def undocumented(event: dict[str, Any]) -> list[str]:
    """Keys the body has and the schema does not describe: the schema is the contract."""
    defs = SCHEMA["$defs"]
    (branch,) = [b for b in SCHEMA["oneOf"] if b["properties"]["type"]["const"] == event["type"]]
    data = branch["properties"]["data"]
    data = defs[data["$ref"].rsplit("/", 1)[1]] if "$ref" in data else data
    parts = [
        ("", event, SCHEMA["properties"]),
        ("conversation.", event["conversation"], defs["conversation"]["properties"]),
        ("customer.", event["customer"], defs["customer"]["properties"]),
        ("data.", event["data"], data["properties"]),
    ]
    return [prefix + key for prefix, values, known in parts for key in values if key not in known]


def test_without_a_url_nothing_is_enqueued(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, clock: ManualClock
) -> None:
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator) as world:
        world.direct_message("giulia", FIRST, "Giulia Rossi")
        world.press("UANNA", blocks.CLAIM, world.card_of("giulia"))
        world.settle()
        assert not world.app.services.context.events.enabled
        assert event_jobs(world) == []


# --- the job's answers to what a receiver says --------------------------------------------------
class Scripted:
    """A receiver that answers each request with the next status and headers it is given."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                status, headers = scripted.answers.pop(0)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": "0"}.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_job_retries_what_may_pass_and_ends_what_cannot(clock: ManualClock) -> None:
    scripted = Scripted()
    post = PostEvent(scripted.url, SECRET, clock, timeout=timedelta(seconds=5))
    payload = write(EventJob("4f1c", '{"id":"4f1c"}'))
    job = Job(1, POST_EVENT, "event:4f1c", payload, attempts=1, lane="events")
    try:
        scripted.answers = [
            (200, {}),
            (503, {}),
            (429, {"Retry-After": "30"}),
            (429, {}),
            (410, {}),
            (302, {"Location": "http://127.0.0.1:1/"}),
        ]
        assert post.perform(job) == {"status": 200}
        with pytest.raises(TransientError):
            post.perform(job)
        with pytest.raises(RateLimited) as limited:
            post.perform(job)
        assert limited.value.retry_at == clock.now() + timedelta(seconds=30)
        with pytest.raises(RateLimited) as silent:
            post.perform(job)
        assert silent.value.retry_at is None  # the outbox then waits a minute
        with pytest.raises(PermanentError):
            post.perform(job)
        with pytest.raises(PermanentError):  # a redirect is not followed: fix the URL
            post.perform(job)
    finally:
        scripted.close()
    unreachable = PostEvent("http://127.0.0.1:1/", SECRET, clock, timeout=timedelta(seconds=1))
    with pytest.raises(TransientError):
        unreachable.perform(job)


def test_events_are_retried_for_a_day() -> None:
    waits = sum((backoff(n) for n in range(1, PostEvent.max_attempts)), timedelta(0))
    assert RETRY_HORIZON <= waits < RETRY_HORIZON + timedelta(minutes=5)


def test_the_readme_verifies_a_signature_as_carebridge_signs() -> None:
    """The README's five lines of Python, run against a body the bot signed."""
    body, timestamp = b'{"id":"4f1c","type":"conversation.opened"}', 1_795_510_800
    header = signature(SECRET, timestamp, body)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    after = readme.split("# verify a Carebridge event", 1)[1]
    snippet = after.split("\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(textwrap.dedent(snippet), scope)
    headers = {"X-Carebridge-Timestamp": str(timestamp), "X-Carebridge-Signature": header}
    assert scope["verified"](body, headers, SECRET, now=timestamp + 10)
    assert not scope["verified"](body + b" ", headers, SECRET, now=timestamp + 10)
    assert not scope["verified"](body, headers, SECRET, now=timestamp + 301)  # a replay
