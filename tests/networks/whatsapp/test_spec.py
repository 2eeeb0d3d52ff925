"""The WhatsApp network as Carebridge sees it: what the spec says of it, how an account is
configured from the environment (every wrong value named), and the sandbox account working
against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.accounts_file import Problems, accounts_from_environment
from bot.clock import ManualClock
from bot.networks.base import AccountConfig
from bot.networks.registry import Registry
from bot.networks.whatsapp import WHATSAPP, Template, template
from bot.networks.whatsapp.adapter import WhatsAppChannel
from bot.networks.whatsapp.emulator import SANDBOX_NUMBER, WhatsAppEmulator
from bot.networks.whatsapp.webhook import WhatsAppReceiver


@pytest.fixture
def wa(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        yield emulator


def environment(values: dict[str, str]) -> dict[str, str]:
    return {s.env: values[s.key] for s in WHATSAPP.settings if s.env and s.key in values}


def configured(env: dict[str, str]) -> tuple[list[str], AccountConfig | None]:
    """The problems, and the WhatsApp account, of an environment (beside the built-in
    networks, which WhatsApp's settings must not disturb)."""
    problems = Problems()
    registry = Registry.default()
    if WHATSAPP.name not in registry:  # until the registry lists it
        registry = registry.with_network(WHATSAPP)
    accounts = accounts_from_environment(env, registry, "C1", problems, required=True)
    return problems.found, next((a for a in accounts if a.network == WHATSAPP.name), None)


def test_whatsapp_is_private_only_with_a_24_hour_window() -> None:
    assert (WHATSAPP.name, WHATSAPP.label, WHATSAPP.private_name) == (
        "whatsapp",
        "WhatsApp",
        "WhatsApp",
    )
    assert (WHATSAPP.private_text_limit, WHATSAPP.public_text_limit) == (4096, None)
    assert WHATSAPP.handles is None and not WHATSAPP.has_followers and not WHATSAPP.can_hide
    assert WHATSAPP.private_window == timedelta(hours=24)
    assert WHATSAPP.extended_private_window is None and WHATSAPP.extended_window_setting is None
    assert WHATSAPP.private_message_link is None and not WHATSAPP.invites_privately
    assert WHATSAPP.webhook is not None and WHATSAPP.webhook.path == "/webhooks/meta"
    assert "WHATSAPP_ACCESS_TOKEN" in WHATSAPP.credentials_fix
    secret = {s.key for s in WHATSAPP.settings if s.secret}
    assert secret == {"access_token", "app_secret", "verify_token"}
    assert {s.key for s in WHATSAPP.settings if s.app_wide} == {"app_secret", "verify_token"}


def test_the_sandbox_account_is_configured_and_works_against_the_emulator(
    wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    values = WHATSAPP.sandbox_values(wa.graph_url)
    assert set(values) == {s.key for s in WHATSAPP.settings}
    problems, account = configured(environment(values))
    assert problems == [] and account is not None
    assert account.value("reopen_template") == Template("riapertura", "it")
    channel = WHATSAPP.build(account, clock, timedelta(seconds=5))
    assert isinstance(channel, WhatsAppChannel)
    assert channel.identify().external_id == SANDBOX_NUMBER["phone_number_id"]
    assert WHATSAPP.doctor is not None and WHATSAPP.doctor(account, channel).ok
    receiver = WHATSAPP.webhook.build([account]) if WHATSAPP.webhook else None
    assert isinstance(receiver, WhatsAppReceiver)
    assert receiver.phone_number_ids == {SANDBOX_NUMBER["phone_number_id"]}


def test_every_wrong_value_is_named_with_what_it_expects() -> None:
    env = environment(dict(SANDBOX_NUMBER)) | {
        "WHATSAPP_PHONE_NUMBER_ID": "+39 02 1234",
        "WHATSAPP_REOPEN_TEMPLATE": "riapertura",
        "META_GRAPH_URL": "graph.facebook.com",
    }
    problems, _ = configured(env)
    said = " | ".join(problems)
    for name in ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_REOPEN_TEMPLATE", "META_GRAPH_URL"):
        assert name in said
    assert "name:language" in said
    assert "sandbox-whatsapp-token" not in said


def test_the_access_token_alone_asks_for_the_number() -> None:
    problems, _ = configured({"WHATSAPP_ACCESS_TOKEN": "EAAG", "META_APP_SECRET": "s"})
    assert any("WHATSAPP_PHONE_NUMBER_ID" in p and "WhatsApp" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("riapertura:it", Template("riapertura", "it")),
        (" order_update_2:en_US ", Template("order_update_2", "en_US")),
        ("promo:es_419", Template("promo", "es_419")),
    ],
)
def test_a_template_is_name_and_language(text: str, expected: Template) -> None:
    assert template(text) == expected


@pytest.mark.parametrize("text", ["riapertura", ":it", "Riapertura:it", "a:b:c", "x:italiano"])
def test_a_template_that_is_not_name_and_language_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        template(text)
