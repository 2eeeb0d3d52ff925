"""The verdict's one allowance: a WhatsApp message the customer received twice is WhatsApp's
documented double (no search of sent messages) only when a send of it had an outcome the bot
could not know; any other copy counts as duplicated."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.clock import SystemClock
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.whatsapp.adapter import WhatsAppChannel
from bot.networks.whatsapp.emulator import SANDBOX_NUMBER
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from tests.reliability.customers import Customers, Networks
from tests.reliability.meta_emulators import (
    WHATSAPP_SEND,
    InstagramUnderChaos,
    WhatsAppUnderChaos,
)
from tests.reliability.record import WHATSAPP, Record
from tests.reliability.verdict import MetaTraffic, Run, Verdict, judge

ANSWER = "[a000] Thanks for your patience, we're on it."


@pytest.fixture
def networks() -> Iterator[Networks]:
    networks = Networks(
        XEmulator(), GraphEmulator(), InstagramUnderChaos(), WhatsAppUnderChaos()
    ).start()
    yield networks
    networks.stop()


def answer_twice(networks: Networks) -> Record:
    """A WhatsApp customer writes, and the bot's adapter sends them the same answer twice."""
    record = Record()
    customers = Customers(networks, record, random.Random(0))
    (customer,) = customers.enlist(4)[WHATSAPP]
    customers.write("[m0000]", customer, "[m0000] hello?", abusive=False)
    record.answered("[a000]", customer)
    channel = WhatsAppChannel(
        graph_url=networks.whatsapp.graph_url,
        phone_number_id=SANDBOX_NUMBER["phone_number_id"],
        access_token=SANDBOX_NUMBER["access_token"],
        clock=SystemClock(),
    )
    for _ in range(2):
        channel.send_private(record.ids[customer], ANSWER)
    return record


def verdict(record: Record, networks: Networks, killed_at: list[float]) -> Verdict:
    run = Run(
        traffic=MetaTraffic(),
        kills=len(killed_at),
        killed_at=killed_at,
        crashes=0,
        takeovers=[],
        seconds=0.0,
        failed_jobs=Counter(),
        jobs_done={},
        still_queued=0,
        unanswered=0,
        seed=0,
    )
    with SlackEmulator() as slack:
        return judge(record, slack, networks, run)


def test_a_double_without_an_unknown_outcome_is_duplicated(networks: Networks) -> None:
    record = answer_twice(networks)
    judged = verdict(record, networks, killed_at=[])
    assert judged.tallies["WhatsApp: answers delivered"].duplicated == 1
    assert judged.resent == []


def test_a_double_after_a_fault_that_hid_the_outcome_is_counted_apart(networks: Networks) -> None:
    record = answer_twice(networks)
    first, _ = networks.whatsapp.calls(WHATSAPP_SEND)
    networks.whatsapp.unknown_outcomes.append((first, "timeout after handling"))
    judged = verdict(record, networks, killed_at=[])
    assert judged.tallies["WhatsApp: answers delivered"].duplicated == 0
    assert [s.how for s in judged.resent] == ["again after timeout after handling"]


def test_a_sigkill_excuses_a_double_only_between_the_two_sends(networks: Networks) -> None:
    record = answer_twice(networks)
    first, second = networks.whatsapp.calls(WHATSAPP_SEND)
    between = (first.received_at + second.received_at) / 2
    assert verdict(record, networks, killed_at=[between]).duplicated == 0
    assert verdict(record, networks, killed_at=[second.received_at + 1]).duplicated == 1
