"""What the support channel sees of a WhatsApp customer's number: masked, the country code and
first group kept as the number is written in its country, the last two digits."""

from __future__ import annotations

import pytest

from bot.networks.whatsapp import WHATSAPP
from bot.networks.whatsapp.numbers import masked


@pytest.mark.parametrize(
    ("wa_id", "shown"),
    [
        ("393471234521", "+39 347 ••• ••21"),  # an Italian mobile
        ("15551234567", "+1 555-•••-••67"),
        ("447911123456", "+44 7911 ••••56"),
        ("12", "••12"),  # not a number: only its end
        ("", "••"),
    ],
)
def test_a_number_is_masked_but_its_country_and_end(wa_id: str, shown: str) -> None:
    assert masked(wa_id) == shown
    assert WHATSAPP.shown_id is masked
