"""Customers' messages made fit to publish: personal data replaced by neutral placeholders.

A FAQ page quotes what customers asked, so a quote must not tell who asked it or let anyone
reach them: @handles, e-mails, phone numbers, order/ticket/tracking codes, IBANs and card
numbers, links with query strings (they carry session and tracking ids), and names where a
message introduces or signs itself ("sono Giulia Rossi", "I'm John", "Grazie, Marco").

The rules lean towards removing too much: a product code read as an order number costs a little
clarity, a real order number left in costs a customer's privacy. What a question needs to be
understood stays: dates ("12/03/2024"), times ("alle 9:30"), prices ("39,90 €", "1299 €"),
quantities ("5000 mAh"), years ("nel 2024") and short model numbers ("iPhone 15").

The stages run in order, each on what the previous ones left, so the specific rules (an
e-mail, a number after "ordine") claim their text before the general ones (any run of digits).
Placeholders hold no digits, @ or capitals, so no later stage rewrites them and anonymising
twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from bot.domain.identifiers import (
    EMAIL,
    NUMBER_SIGN,
    ORDER_WORDS,
    PHONE_REGION,
    phone_number_matches,
)


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"  # orders, tickets, tracking, IBAN, cards: any code that identifies
    NAME = "name"
    HANDLE = "handle"
    LINK = "link"


PLACEHOLDERS: dict[str, dict[Kind, str]] = {
    "it": {
        Kind.EMAIL: "[email]",
        Kind.PHONE: "[telefono]",
        Kind.NUMBER: "[numero]",
        Kind.NAME: "[nome]",
        Kind.HANDLE: "[utente]",
        Kind.LINK: "[link]",
    },
    "en": {
        Kind.EMAIL: "[email]",
        Kind.PHONE: "[phone]",
        Kind.NUMBER: "[number]",
        Kind.NAME: "[name]",
        Kind.HANDLE: "[user]",
        Kind.LINK: "[link]",
    },
}

_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"\[\]]*[?#][^\s<>\"\[\]]*[^\s<>\"\[\].,;:!?)]", re.I)
_HANDLE = re.compile(r"(?<![\w@\]])@\w(?:[\w.]*\w)?")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2} ?(?:[A-Z0-9]{4} ?){2,7}[A-Z0-9]{1,4}\b")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_KEYWORD_CODE = re.compile(
    rf"\b(?:{ORDER_WORDS}|pratica|ticket|tracking|reso|rma|fattura|prenotazione|codice"
    r"|riferimento|invoice|booking|case|reference|ref)\b"
    rf"{NUMBER_SIGN}(?P<code>#?(?=[\w-]*\d)\w[\w-]{{2,}})",
    re.I,
)
_UNITS = r"mah|gb|tb|mb|kb|kg|km|cm|mm|ml|kw|kwh|hz|mhz|ghz|mp|px|g|l|m|w|h|gg"
_CURRENCY = r"€|\$|£|eur\b|euro\b|dollari\b|dollars?\b"
# What may look like a number to remove but is what the question is about: kept as written.
_KEEP = "|".join(
    (
        r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)",  # 2024-03-12
        r"(?<!\d)\d{1,2}[/.-]\d{1,2}(?:[/.-](?:\d{4}|\d{2}))?(?!\d)",  # 12/03, 12.03.2024
        r"(?<!\d)\d{1,2}:\d{2}(?!\d)",  # 9:30
        rf"(?:{_CURRENCY})\s?\d[\d.,]*",  # € 1299
        rf"(?<![\w.,])\d[\d.,]*\s?(?:{_CURRENCY})",  # 39,90 €
        rf"(?<![\w.,])\d+(?:[.,]\d+)?\s?(?:{_UNITS})(?![\w'\u2019])",  # 5000 mAh, 24h
    )
)
_NUMBERS = re.compile(
    rf"(?P<keep>{_KEEP})"
    r"|(?P<phone>(?:(?:\+|\b00)\d[\d .()-]{6,}\d|\(\d{2,4}\)\s?\d[\d .-]{4,}\d)(?!\w))"
    r"|(?P<code>\b(?=[\w-]*\d)(?=[\w-]*[^\W\d_])\w+(?:-\w+)*\b)"
    r"|(?P<digits>#?(?<![\w.,])\d+(?:[ .-]\d+)*(?![\w]))",
    re.I,
)
_YEAR = re.compile(r"(?:19|20)\d{2}")

_NAME = r"[A-ZÀ-Þ][a-zß-ÿ]*(?:['\u2019][A-ZÀ-Þ]?[a-zß-ÿ]+)?"
_FULL_NAME = rf"(?P<name>{_NAME}(?:[ -]{_NAME}){{0,2}})(?![\w'\u2019])"
_INTRODUCTION = re.compile(
    r"\b(?i:sono|mi chiamo|il mio nome è|il mio nome e'|qui è|i['\u2019]m|i am|my name is|this is)"
    rf"\s+{_FULL_NAME}"
)
# A greeting or a sign-off followed by a name and nothing else: "Ciao Marco, ..." or "Grazie,
# Marco" at the end. The name must stand alone, or "Grazie Per" would read as one.
_SALUTATION = re.compile(
    r"\b(?i:grazie(?: mille| ancora)?|saluti|cordiali saluti|distinti saluti|un saluto|ciao"
    r"|salve|buongiorno|buonasera|gentile|caro|cara|thanks|thank you|many thanks|regards"
    r"|best regards|kind regards|best|cheers|hi|hello|hey|dear)[,!.]?\s+"
    rf"{_FULL_NAME}(?=\s*(?:[,.!?:;)\n]|$))"
)
_SIGNATURE = re.compile(rf"(?m)^\s*[-\u2013\u2014]+\s*{_FULL_NAME}\s*$")
# Capitalised words these patterns meet that are no one's name.
_NOT_NAMES = frozenset(
    """
    mille ancora tutti tutte ragazzi team staff servizio assistenza cliente clienti utente
    italiano italiana inglese italian english british american sorry not so very still just
    really ok okay here back all everyone guys again customer support a the in per io
    """.split()  # noqa: SIM905 - a list literal of 41 strings reads worse
)
_REPEATED = re.compile(r"(\[[a-z]+\])(?:[ .-]*\1)+")


def anonymise(text: str, lang: str = "it") -> str:
    """`text` with the personal data it contains replaced by placeholders in `lang` ("it" or
    "en"): "[email]", "[telefono]"/"[phone]", "[numero]"/"[number]", "[nome]"/"[name]",
    "[utente]"/"[user]", "[link]"."""
    try:
        placeholder = PLACEHOLDERS[lang]
    except KeyError:
        raise ValueError(f"no placeholders for language {lang!r}: use one of it, en") from None

    def replace(kind: Kind) -> Callable[[re.Match[str]], str]:
        return lambda _match: placeholder[kind]

    text = _LINK.sub(replace(Kind.LINK), text)
    text = EMAIL.sub(replace(Kind.EMAIL), text)
    text = _HANDLE.sub(replace(Kind.HANDLE), text)
    text = _IBAN.sub(replace(Kind.NUMBER), text)
    text = _KEYWORD_CODE.sub(lambda m: _replace_group(m, "code", placeholder[Kind.NUMBER]), text)
    text = _without_phone_numbers(text, placeholder[Kind.PHONE])
    text = _CARD.sub(lambda m: placeholder[Kind.NUMBER] if _luhn_valid(m[0]) else m[0], text)
    text = _NUMBERS.sub(lambda m: _number_or_kept(m, placeholder), text)
    for pattern in (_INTRODUCTION, _SALUTATION, _SIGNATURE):
        text = pattern.sub(lambda m: _name_or_kept(m, placeholder[Kind.NAME]), text)
    # "4411 2233" or "+39 [telefono]" pieces would read as two items: one placeholder says it.
    return _REPEATED.sub(r"\1", text)


def _replace_group(match: re.Match[str], group: str, placeholder: str) -> str:
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    return match[0][:start] + placeholder + match[0][end:]


def _luhn_valid(candidate: str) -> bool:
    """Card numbers carry a Luhn check digit; other long digit runs rarely pass it."""
    digits = [int(c) for c in candidate if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _without_phone_numbers(text: str, placeholder: str) -> str:
    """From the end, so the offsets of earlier matches stay right."""
    for match in reversed(phone_number_matches(text, PHONE_REGION)):
        text = text[: match.start] + placeholder + text[match.end :]
    return text


def _number_or_kept(match: re.Match[str], placeholder: dict[Kind, str]) -> str:
    found = match[0]
    if match["keep"] is not None:
        return found
    if match["phone"] is not None:
        return placeholder[Kind.PHONE] if sum(c.isdigit() for c in found) >= 8 else found
    if match["code"] is not None:
        # "iPhone15", "S23": models with few digits; "AB123456", "A-77812": codes.
        return placeholder[Kind.NUMBER] if sum(c.isdigit() for c in found) >= 4 else found
    groups = re.findall(r"\d+", found)
    if len(groups) == 1 and _YEAR.fullmatch(groups[0]) and not found.startswith("#"):
        return found
    identifying = (
        any(len(g) >= 4 for g in groups)
        or sum(map(len, groups)) >= 7
        or (found.startswith("#") and len(groups[0]) >= 3)
    )
    return placeholder[Kind.NUMBER] if identifying else found


def _name_or_kept(match: re.Match[str], placeholder: str) -> str:
    if match["name"].split()[0].lower() in _NOT_NAMES:
        return match[0]
    return _replace_group(match, "name", placeholder)
