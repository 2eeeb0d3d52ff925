"""What in a customer's message identifies them: phone numbers, e-mails and order numbers.

Carebridge suggests that two customers on different networks are one person when they write the
same phone number or e-mail, or the same order number within a few days. A wrong suggestion
costs an agent a look; so the rules take only what is plainly one of these:

- phone numbers phonenumbers calls valid, mobile or fixed lines only (a toll-free or premium
  number is a business's, often the brand's own), Italian unless written with a country code;
- e-mails, lower-cased and without a "+tag" (any provider: "anna+shop@x.it" is anna@x.it's
  inbox); dots stay, as only some providers ignore them;
- order numbers only where a word says so ("ordine n. 4411", "order #A-10293"): tickets,
  tracking and invoice numbers name a case or a parcel, not a buyer.

Each piece of text is claimed once, e-mails first, then orders: "ordine 3471234567" is an order.
The patterns anonymise.py shares (e-mails, the words before an order's code) live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from phonenumbers import (
    Leniency,
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberMatch,
    PhoneNumberMatcher,
    PhoneNumberType,
    format_number,
    is_valid_number,
    number_type,
    parse,
)

PHONE_REGION = "IT"  # numbers written without a country code are Italian ones

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_WORDS = r"ordine|ordinazione|order"
# What may stand between a keyword and its code: "n.", "nr", "no.", "numero", "number", ":".
NUMBER_SIGN = r"(?:\s*(?:n[.°º]?|nr\.?|no\.?|num\.?|numero|number|:)(?![^\W\d_]))*\s*"

_ORDER = re.compile(
    rf"(?:\b(?:{ORDER_WORDS})\b|\bord\.)(?:\s*id\b)?{NUMBER_SIGN}"
    r"(?:(?:è|is)\b\s*|e'\s*)?"  # "il numero d'ordine è 4411", "my order number is 4411"
    r"(?:[#:]\s*)?"  # "order #4411", "ORDER:AB1234"
    # A code ends where the word does, not inside "4411/12" or "1.299"; "ordine 4411 2233" may
    # be one code or two numbers, so it is neither.
    r"(?P<code>[A-Z0-9]+(?:-[A-Z0-9]+)*)(?!\w|-\w|[/.,]\d|\s\d{3})",
    re.I,
)
_DASHED_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-(?:\d{2}|\d{4})")
_WORD_CHAR = re.compile(r"\w")
_PERSONAL_LINES = frozenset(
    (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
)


class IdentifierKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    ORDER = "order"


@dataclass(frozen=True)
class Identifier:
    kind: IdentifierKind
    value: str  # compared across networks: E.164 phone, lower-cased e-mail, upper-cased code
    shown: str  # what a card may show: the order's code; nothing of a phone or an e-mail


def find_identifiers(text: str, region: str = PHONE_REGION) -> tuple[Identifier, ...]:
    """Distinct identifiers in a message, in order of appearance."""
    claimed: list[tuple[int, int, Identifier]] = []

    def claim(start: int, end: int, identifier: Identifier) -> None:
        if all(end <= other_start or start >= other_end for other_start, other_end, _ in claimed):
            claimed.append((start, end, identifier))

    for match in EMAIL.finditer(text):
        claim(match.start(), match.end(), _email(match[0]))
    for match in _ORDER.finditer(text):
        code = match["code"].upper()
        if _is_order_code(code):
            order = Identifier(IdentifierKind.ORDER, code, code)
            claim(match.start("code"), match.end("code"), order)
    for phone in phone_number_matches(text, region):
        if _is_personal_line(phone.number):
            claim(phone.start, phone.end, _phone(phone.number))
    claimed.sort(key=lambda found: found[0])
    return tuple(dict.fromkeys(identifier for _, _, identifier in claimed))


def phone_identifier(digits: str) -> Identifier | None:
    """The phone number a WhatsApp id ("393471234567": country code and number, no "+") stands
    for, to compare with numbers written on other networks; None if it is not a person's line."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        number = parse("+" + digits)
    except NumberParseException:
        return None
    return _phone(number) if _is_personal_line(number) else None


def phone_number_matches(text: str, region: str) -> list[PhoneNumberMatch]:
    """Numbers phonenumbers calls valid (it leaves dates, prices, IBANs and card numbers alone).
    Digits glued to letters are a code's, not a phone's: "AB3471234567" is no phone number."""
    return [
        match
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID)
        if not _WORD_CHAR.match(text[match.start - 1 : match.start])
        and not _WORD_CHAR.match(text[match.end : match.end + 1])
    ]


def _is_personal_line(number: PhoneNumber) -> bool:
    return is_valid_number(number) and number_type(number) in _PERSONAL_LINES


def _phone(number: PhoneNumber) -> Identifier:
    return Identifier(IdentifierKind.PHONE, format_number(number, PhoneNumberFormat.E164), "")


def _email(address: str) -> Identifier:
    local, _, domain = address.lower().rpartition("@")
    untagged = local.split("+", 1)[0] or local  # "+shop@x.it" has nothing but a tag
    return Identifier(IdentifierKind.EMAIL, f"{untagged}@{domain}", "")


def _is_order_code(code: str) -> bool:
    """4 to 20 characters with 3 digits or more: "4411", "A-10293", not "3" or "iPhone"."""
    return (
        4 <= len(code) <= 20
        and sum(c.isdigit() for c in code) >= 3
        and not _DASHED_DATE.fullmatch(code)
    )
