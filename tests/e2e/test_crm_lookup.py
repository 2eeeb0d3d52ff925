"""The CRM's facts on the card (CRM_LOOKUP_URL) through the real bot: a local HTTP server plays
the CRM. A healthy CRM puts "Customer since 2019 · fiber plan" on the card once it answered, and
is asked once per customer per CRM_LOOKUP_TTL; a slow or failing one never holds a card up, shows
no error, and is retried a bounded number of times; what it says is escaped like any text."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.services.crm import CrmLookup
from bot.services.outbox import CRM_LOOKUP
from bot.slack import blocks
from storage.models import Customer, OutboxJob

TOKEN = "crm-token-for-tests-0042"
FACTS = {
    "name": "Giulia Rossi",
    "customer_id": 4411,
    "facts": ["Customer since 2019", "fiber plan", "2 open tickets"],
}
LINE = ":card_index: CRM: Giulia Rossi (4411) · Customer since 2019 · fiber plan · 2 open tickets"


class FakeCrm:
    """The company's CRM on loopback: `GET /customers/<network>/<handle>?id=<external id>`
    answers what the test set for that handle (404 for anyone else). Held, it answers nothing
    until released: a CRM slower than any timeout, without the test sleeping."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests: list[dict[str, str]] = []
        self.on_request: Callable[[], None] = lambda: None
        self._open = threading.Event()
        self._open.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.template = self.url + "/customers/{network}/{handle}?id={external_id}"

    def answer(self, handle: str, body: Any, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[handle] = (status, raw)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def asked_about(self, handle: str) -> int:
        return sum(r["path"].startswith(f"/customers/x/{handle}?") for r in self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                crm.requests.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization", "")}
                )
                crm.on_request()
                crm._open.wait(timeout=30)
                handle = self.path.split("?")[0].rsplit("/", 1)[-1]
                status, body = crm.answers.get(handle, (404, b'{"error": "not found"}'))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the bot stopped waiting long ago (a held answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeCrm:
        threading.Thread(target=self.server.serve_forever, name="fake-crm", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def crm() -> Iterator[FakeCrm]:
    with FakeCrm() as server:
        yield server


@contextmanager
def crm_world(
    slack: SlackEmulator,
    x: XEmulator,
    database_url: str,
    clock: ManualClock,
    transport: str,
    url: str,
) -> Iterator[World]:
    env = {
        "CRM_LOOKUP_URL": url,
        "CRM_LOOKUP_TOKEN": TOKEN,
        "CRM_LOOKUP_TIMEOUT": "0.2s",  # the client's real wait for a held answer
        "REOPEN_WINDOW": "1m",  # a new card for the same customer two minutes after Resolve
    }
    with running_world(
        database_url, clock, slack=slack, x=x, env=env, transport=transport
    ) as world:
        yield world


@pytest.fixture
def world(slack_emulator, x_emulator, database_url, clock, transport, crm) -> Iterator[World]:
    with crm_world(slack_emulator, x_emulator, database_url, clock, transport, crm.template) as w:
        yield w


def crm_line(card: dict[str, Any]) -> str | None:
    lines = [
        block["elements"][0]["text"]
        for block in card["blocks"]
        if block["type"] == "context" and "CRM:" in block["elements"][0]["text"]
    ]
    assert len(lines) <= 1
    return lines[0] if lines else None


def new_card(world: World, handle: str, text: str) -> dict[str, Any]:
    """Resolve the customer's card, let the reopen window pass, and have them write again."""
    world.press("UANNA", blocks.RESOLVE, world.card_of(handle))
    world.settle()
    world.clock.advance(timedelta(minutes=2))
    before = world.card_of(handle)["ts"]
    world.mention(handle, text)
    card = world.card_of(handle)
    assert card["ts"] != before
    return card


def lookups(world: World) -> list[OutboxJob]:
    with world.app.database.reading() as session:
        query = select(OutboxJob).where(OutboxJob.kind == CRM_LOOKUP).order_by(OutboxJob.id)
        return list(session.scalars(query))


# --- a healthy CRM -------------------------------------------------------------------------------
def test_the_card_shows_the_crms_facts_once_it_answered(world: World, crm: FakeCrm) -> None:
    crm.answer("giulia_r", FACTS)
    world.mention("giulia_r", "la fibra non va da ieri", "Giulia")

    card = world.card_of("giulia_r")
    assert crm_line(card) == LINE
    [request] = crm.requests
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["path"].startswith("/customers/x/giulia_r?id=")
    with world.app.database.reading() as session:
        customer = session.scalars(select(Customer).where(Customer.handle == "giulia_r")).one()
        assert customer.crm_facts == {**FACTS, "customer_id": "4411"}
        assert customer.crm_checked_at == world.clock.now()

    # Within CRM_LOOKUP_TTL (1h) her next card shows the kept facts at once, asking nobody.
    card = new_card(world, "giulia_r", "di nuovo senza linea")
    assert crm_line(card) == LINE
    assert crm.asked_about("giulia_r") == 1

    # Past it, the CRM is asked again, and the open card follows what it says now.
    world.clock.advance(timedelta(hours=2))
    crm.answer("giulia_r", {**FACTS, "facts": ["Customer since 2019", "1 open ticket"]})
    card = new_card(world, "giulia_r", "ancora!")
    assert crm.asked_about("giulia_r") == 2
    assert (
        crm_line(card)
        == ":card_index: CRM: Giulia Rossi (4411) · Customer since 2019 · 1 open ticket"
    )


def test_a_customer_the_crm_does_not_know_gets_no_line_and_is_not_asked_again(
    world: World, crm: FakeCrm
) -> None:
    world.mention("mario_b", "buongiorno, info sulle offerte", "Mario")

    assert crm_line(world.card_of("mario_b")) is None
    assert crm.asked_about("mario_b") == 1
    with world.app.database.reading() as session:
        customer = session.scalars(select(Customer).where(Customer.handle == "mario_b")).one()
        assert customer.crm_facts == {}  # "not known" is kept like facts

    card = new_card(world, "mario_b", "e per la fibra?")
    assert crm_line(card) is None
    assert crm.asked_about("mario_b") == 1


# --- a slow CRM ----------------------------------------------------------------------------------
def test_a_slow_crm_never_holds_a_card_up(world: World, crm: FakeCrm) -> None:
    crm.answer("giulia_r", FACTS)
    crm.hold()  # it answers after the bot has stopped waiting, however long that is
    cards_when_asked: list[int] = []
    crm.on_request = lambda: cards_when_asked.append(len(world.cards()))

    world.mention("giulia_r", "la fibra non va da ieri", "Giulia")

    card = world.card_of("giulia_r")
    assert crm_line(card) is None
    assert cards_when_asked[0] == 1  # the card was in Slack before the CRM was first asked
    assert crm.asked_about("giulia_r") == CrmLookup.max_attempts  # then it gave up
    assert world.slack.thread(card["ts"], CHANNEL) == []

    # Nothing else waits on it: the next customer's card, claiming, answering.
    world.mention("luca_v", "ordine in ritardo", "Luca")
    assert world.card_of("luca_v")
    world.press("UANNA", blocks.CLAIM, card)
    world.settle()
    assert "claimed by <@UANNA>" in str(world.card_of("giulia_r")["blocks"])

    # Once the CRM is well again, the next window asks again and the card gets the facts.
    crm.release()
    world.clock.advance(timedelta(hours=1))
    card = new_card(world, "giulia_r", "ancora senza linea")
    assert crm_line(card) == LINE


# --- a failing CRM -------------------------------------------------------------------------------
FAILURES = {
    "server error": (500, b'{"error": "boom"}'),
    "not json": (200, b"<html>Service Unavailable</html>"),
    "wrong shape": (200, json.dumps({"name": "Giulia", "facts": "fiber plan"}).encode()),
    "too many facts": (
        200,
        json.dumps({**FACTS, "facts": ["a", "b", "c", "d", "e", "f"]}).encode(),
    ),
}


@pytest.mark.parametrize("failure", [*FAILURES, "connection refused"])
def test_a_failing_crm_shows_nothing_and_is_retried_a_bounded_number_of_times(
    slack_emulator, x_emulator, database_url, clock, transport, crm: FakeCrm, failure: str
) -> None:
    url = crm.template
    if failure == "connection refused":
        url = crm.template.replace(crm.url, f"http://127.0.0.1:{closed_port()}")
    else:
        status, body = FAILURES[failure]
        crm.answer("giulia_r", body, status=status)

    with (
        crm_world(slack_emulator, x_emulator, database_url, clock, transport, url) as world,
        capture_logs() as logs,
    ):
        world.mention("giulia_r", "la fibra non va da ieri", "Giulia")

        card = world.card_of("giulia_r")
        assert crm_line(card) is None
        assert world.slack.thread(card["ts"], CHANNEL) == []  # no error shown to anyone
        assert [m for m in world.slack.messages(CHANNEL) if not m.get("blocks")] == []
        [job] = lookups(world)
        assert (job.status, job.attempts) == ("failed", CrmLookup.max_attempts)
        served = 0 if failure == "connection refused" else CrmLookup.max_attempts
        assert crm.asked_about("giulia_r") == served

        # Given up for this window: her next card within it asks nobody.
        card = new_card(world, "giulia_r", "di nuovo")
        assert crm_line(card) is None
        assert len(lookups(world)) == 1
        assert crm.asked_about("giulia_r") == served

    failed = [entry for entry in logs if entry["event"] == "crm.lookup_failed"]
    assert len(failed) == 1
    about_the_crm = [
        entry
        for entry in logs
        if entry["event"].startswith("crm.") or entry.get("kind") == CRM_LOOKUP
    ]
    assert about_the_crm
    for entry in about_the_crm:  # the customer by id only, and never the token
        assert "giulia_r" not in str(entry)
        assert TOKEN not in str(entry)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the CRM's text is text ----------------------------------------------------------------------
def test_what_the_crm_says_is_escaped(world: World, crm: FakeCrm) -> None:
    crm.answer(
        "giulia_r",
        {
            "name": "<!channel> Giulia",
            "customer_id": "<@U0BOSS>",
            "facts": ["*VIP* since 2019", "call <!here> now", "see evil.example/login", "x" * 500],
        },
    )
    world.mention("giulia_r", "la fibra non va da ieri", "Giulia")

    line = crm_line(world.card_of("giulia_r"))
    assert line is not None
    for markup in ("<!channel>", "<@U0BOSS>", "<!here>", "*VIP*", "evil.example"):
        assert markup not in line
    assert "&lt;!channel&gt; Giulia" in line
    assert "\u200b*\u200bVIP\u200b*\u200b" in line
    assert "x" * 79 + "…" in line and "x" * 80 not in line
