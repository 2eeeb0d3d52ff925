"""The CRM's answer as the card may show it, its cache window, and the lookup URL's template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import crm
from bot.domain.crm import CrmFacts

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_an_answer_is_kept_one_line_a_fact_and_capped() -> None:
    found = crm.parse(
        {
            "name": "  Giulia\nRossi ",
            "customer_id": 4411,
            "facts": ["Customer since 2019", "fiber\tplan", "", "x" * 300],
            "extra": "ignored",
        }
    )
    assert found == CrmFacts(
        "Giulia Rossi", "4411", ("Customer since 2019", "fiber plan", "x" * 79 + "…")
    )
    assert CrmFacts.of(found.stored()) == found


@pytest.mark.parametrize(
    "answer",
    [
        [],
        "Giulia",
        {"customer_id": 1, "facts": []},
        {"name": 7, "customer_id": 1, "facts": []},
        {"name": "Giulia", "facts": []},
        {"name": "Giulia", "customer_id": True, "facts": []},
        {"name": "Giulia", "customer_id": 1.5, "facts": []},
        {"name": "Giulia", "customer_id": 1},
        {"name": "Giulia", "customer_id": 1, "facts": "fiber plan"},
        {"name": "Giulia", "customer_id": 1, "facts": ["a", 2]},
        {"name": "Giulia", "customer_id": 1, "facts": ["a", "b", "c", "d", "e", "f"]},
    ],
)
def test_anything_but_the_agreed_shape_is_no_answer(answer: object) -> None:
    with pytest.raises(ValueError):
        crm.parse(answer)


def test_what_a_customer_row_keeps_is_checked_again_before_it_is_shown() -> None:
    assert CrmFacts.of(None) is None  # never asked
    assert CrmFacts.of({}) is None  # the CRM does not know them
    assert CrmFacts.of({"name": "x"}) is None  # not what Carebridge stores
    assert CrmFacts.of({"name": "G", "customer_id": "1", "facts": ["a"]}) == CrmFacts(
        "G", "1", ("a",)
    )


def test_facts_are_asked_for_again_once_a_ttl_old_one_lookup_per_window() -> None:
    ttl = timedelta(hours=1)
    assert crm.is_stale(None, NOW, ttl)
    assert not crm.is_stale(NOW - timedelta(minutes=59), NOW, ttl)
    assert crm.is_stale(NOW - ttl, NOW, ttl)
    assert crm.window(NOW, ttl) == crm.window(NOW + timedelta(minutes=59), ttl)
    assert crm.window(NOW + ttl, ttl) == crm.window(NOW, ttl) + 1


@pytest.mark.parametrize(
    "template",
    [
        "https://crm.example.com/api/lookup?network={network}&handle={handle}",
        "http://crm.local/customers/{external_id}",
        "https://crm.example.com/{network}/{handle}/{external_id}",
    ],
)
def test_a_lookup_template_with_known_placeholders(template: str) -> None:
    assert crm.check_template(template) == template


@pytest.mark.parametrize(
    "template",
    [
        "https://crm.example.com/api/lookup?q={email}",  # unknown placeholder
        "https://crm.example.com/api/lookup?network={network}",  # names no customer
        "https://crm.example.com/api/lookup",
        "https://crm.example.com/{handle",
        "https://{handle}.crm.example.com/",  # a customer's handle never picks the host
        "ftp://crm.example.com/{handle}",
        "crm.example.com/{handle}",
    ],
)
def test_a_lookup_template_that_cannot_work_is_refused(template: str) -> None:
    with pytest.raises(ValueError):
        crm.check_template(template)


def test_values_are_url_quoted_and_a_missing_one_means_no_lookup() -> None:
    template = "https://crm.example.com/{network}/{handle}?id={external_id}"
    values = {"network": "x", "handle": "a/b?c=d&e", "external_id": "12 34"}
    assert crm.fill(template, values) == "https://crm.example.com/x/a%2Fb%3Fc%3Dd%26e?id=12%2034"
    assert crm.fill(template, {**values, "handle": ""}) is None
    assert crm.fill("https://crm.example.com/?id={external_id}", {**values, "handle": ""}) == (
        "https://crm.example.com/?id=12%2034"
    )
