"""Customers' phone numbers as the support channel may see them: masked. A WhatsApp id is the
customer's number, personal data: the card shows "+39 347 ••• ••21", enough to tell two
customers of the same name apart, never enough to call them."""

from __future__ import annotations

import phonenumbers

MASK = "•"
KEPT_AT_END = 2


def masked(wa_id: str) -> str:
    """The number in international format with every digit after the first group masked but
    the last two; "••21" when it is no number phonenumbers can read."""
    digits = "".join(c for c in wa_id if c.isdigit())
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return MASK * 2 + digits[-KEPT_AT_END:]
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country, _, rest = formatted.partition(" ")
    first, separator, tail = _first_group(rest)
    hidden = sum(c.isdigit() for c in tail) - KEPT_AT_END
    shown = []
    for c in tail:
        if c.isdigit() and hidden > 0:
            shown.append(MASK)
            hidden -= 1
        else:
            shown.append(c)
    return f"{country} {first}{separator}{''.join(shown)}"


def _first_group(rest: str) -> tuple[str, str, str]:
    """The national number's first group (an area or mobile prefix), its separator, the rest."""
    for index, c in enumerate(rest):
        if not c.isdigit():
            return rest[:index], c, rest[index + 1 :]
    return "", "", rest
