"""What identifies a customer across networks: phone numbers, e-mails and order numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.identifiers import (
    Identifier,
    IdentifierKind,
    find_identifiers,
    phone_identifier,
)


def phone(e164: str) -> Identifier:
    return Identifier(IdentifierKind.PHONE, e164, "")


def email(address: str) -> Identifier:
    return Identifier(IdentifierKind.EMAIL, address, "")


def order(code: str) -> Identifier:
    return Identifier(IdentifierKind.ORDER, code, code)


PHONES = [
    ("chiamatemi al 347 123 4567", "+393471234567"),
    ("cell. 3471234567", "+393471234567"),
    ("il mio numero è 347.123.4567", "+393471234567"),
    ("347-123-4567 grazie", "+393471234567"),
    ("tel 347 12 34 567", "+393471234567"),
    ("tel +39 347 1234567", "+393471234567"),
    ("(+39) 347 1234567", "+393471234567"),
    ("0039 347 1234567", "+393471234567"),
    ("fisso 02 1234 5678", "+390212345678"),
    ("fisso 06-1234-5678", "+390612345678"),
    ("numero 0039 06 1234 5678", "+390612345678"),
    ("+39 02 1234 5678", "+390212345678"),
    ("call me on +44 20 7946 0958", "+442079460958"),
    ("my number is +1 415 555 2671", "+14155552671"),
    ("consegna il 12/03/2024, chiamate 06 1234 5678", "+390612345678"),
]

EMAILS = [
    ("scrivetemi a giulia.rossi@gmail.com", "giulia.rossi@gmail.com"),
    ("Giulia.Rossi@Gmail.COM è la mia mail", "giulia.rossi@gmail.com"),
    ("reach me at john.smith+shop@example.co.uk.", "john.smith@example.co.uk"),
    ("mail: ANNA+Amazon@Libero.it", "anna@libero.it"),
    ("(luca_b-1@mail.example.it)", "luca_b-1@mail.example.it"),
]

ORDERS = [
    # Italian
    ("ordine 4411 non arrivato", "4411"),
    ("l'ordine 4411 è fermo", "4411"),
    ("l\u2019ordine 4411 è fermo", "4411"),
    ("ordine #4411 non arrivato", "4411"),
    ("ordine # 4411", "4411"),
    ("ordine n. 4411", "4411"),
    ("ordine n.4411", "4411"),
    ("ordine n° 4411", "4411"),
    ("ordine nr 4411", "4411"),
    ("ordine numero 4411", "4411"),
    ("n. ordine: 44112233", "44112233"),
    ("numero d'ordine A-10293", "A-10293"),
    ("il numero d'ordine è 77812", "77812"),
    ("ord. 4411 del 12/03", "4411"),
    ("codice ordine it-2024-00123", "IT-2024-00123"),
    ("ordinazione 55123 mai consegnata", "55123"),
    ("ORDINE: ab1234", "AB1234"),
    # English
    ("my order 4411 is late", "4411"),
    ("order #77812 arrived damaged", "77812"),
    ("order#77812", "77812"),
    ("order no. 4411", "4411"),
    ("Order No: 4411", "4411"),
    ("order number: A-77812", "A-77812"),
    ("my order number is 4411", "4411"),
    ("ORDER: AB1234", "AB1234"),
    ("ORDER:AB1234", "AB1234"),
    ("Order ID 123-4567890-1234567", "123-4567890-1234567"),
    ("where is order 4411?", "4411"),
]

NOTHING = [
    "consegna prevista il 12/03/2024",
    "returned on 2024-03-12",
    "il 12/03 alle 9:30 ho chiamato",
    "l'ho pagato 39,90 €",
    "costa 1299 € nel 2024",
    "costa 1.299,00 EUR",
    "il mio iPhone 15 non si accende",
    "Galaxy S23 screen cracked",
    "ho 3 ordini in sospeso",
    "ordine di 3 giorni fa",
    "order 15 pro max",  # a model, not an order: too few digits
    "order from 2024-03-12",
    "ordine 2024-03-12",  # a date, even after the keyword
    "ordine 12/03/2024",
    "ordine 1.299",
    "ordine A-12",
    "ordine 4411 2233",  # one code or two numbers: neither
    "ordine 123456789012345678901",  # longer than any order code
    "il pacco 77812 è fermo",  # a number without a keyword
    "il pacco #77812 è fermo",
    "ticket 44112233 ancora aperto",  # tickets, tracking and invoices are not orders
    "tracking RR123456789IT",
    "fattura 2024-00123",
    "la pratica AB123456 è aperta",
    "rimborso su IT60 X054 2811 1010 0000 0123 456",
    "rimborso su IT60X0542811101000000123456",
    "carta 4111 1111 1111 1111 addebitata",
    "card 5500-0000-0000-0004 charged twice",
    "Amex 378282246310005",
    "chiamate il numero verde 800 123 456",  # a business's line, not a person's
    "codice AB3471234567",  # digits glued to letters are a code's
    "@giulia_r mi ha detto di scrivervi",
    "email a giulia@ (non funziona)",
]


@pytest.mark.parametrize(("message", "e164"), PHONES)
def test_phone_numbers_in_e164_italian_unless_prefixed(message: str, e164: str) -> None:
    assert find_identifiers(message) == (phone(e164),)


@pytest.mark.parametrize(("message", "address"), EMAILS)
def test_emails_lower_cased_without_tag(message: str, address: str) -> None:
    assert find_identifiers(message) == (email(address),)


@pytest.mark.parametrize(("message", "code"), ORDERS)
def test_order_numbers_after_a_keyword(message: str, code: str) -> None:
    assert find_identifiers(message) == (order(code),)


@pytest.mark.parametrize("message", NOTHING)
def test_what_identifies_no_one(message: str) -> None:
    assert find_identifiers(message) == ()


def test_only_the_order_code_is_shown() -> None:
    shown = [found.shown for found in find_identifiers("ordine #a-4411, 3471234567, a@b.it")]
    assert shown == ["A-4411", "", ""]


def test_in_order_of_appearance() -> None:
    message = "Sono Anna (anna@example.com), ordine 4411, cell 347 123 4567 o fisso 02 1234 5678"
    assert find_identifiers(message) == (
        email("anna@example.com"),
        order("4411"),
        phone("+393471234567"),
        phone("+390212345678"),
    )


def test_each_identifier_once_however_written() -> None:
    message = (
        "ordine 4411 (ripeto: ORDINE #4411), +39 347 123 4567 o 3471234567, "
        "Anna@Example.com / anna+shop@example.com, order A-1234 e order a-1234"
    )
    assert find_identifiers(message) == (
        order("4411"),
        phone("+393471234567"),
        email("anna@example.com"),
        order("A-1234"),
    )


def test_an_order_number_is_not_read_as_a_phone_number() -> None:
    assert find_identifiers("ordine 3471234567 fermo") == (order("3471234567"),)
    assert find_identifiers("ordine n. 0612345678") == (order("0612345678"),)


def test_a_number_after_an_order_is_its_own() -> None:
    assert find_identifiers("order 4411 2 days late") == (order("4411"),)
    assert find_identifiers("ordine 4411 3471234567") == (phone("+393471234567"),)


def test_digits_of_an_email_are_not_a_phone_number() -> None:
    assert find_identifiers("3471234567@example.com") == (email("3471234567@example.com"),)


def test_the_region_reads_numbers_without_a_country_code() -> None:
    assert find_identifiers("call (415) 555-2671", region="US") == (phone("+14155552671"),)
    assert find_identifiers("call (415) 555-2671") == ()
    assert find_identifiers("+39 347 123 4567", region="US") == (phone("+393471234567"),)


@pytest.mark.parametrize(
    ("digits", "e164"),
    [
        ("393471234567", "+393471234567"),
        ("390212345678", "+390212345678"),
        ("447911123456", "+447911123456"),
        ("14155552671", "+14155552671"),
    ],
)
def test_a_whatsapp_id_is_a_phone_number(digits: str, e164: str) -> None:
    assert phone_identifier(digits) == phone(e164)


def test_a_whatsapp_id_compares_with_a_number_written_elsewhere() -> None:
    (written,) = find_identifiers("il mio cell è 347 123 4567")
    assert phone_identifier("393471234567") == written


@pytest.mark.parametrize(
    "digits",
    ["", "3471234567x", "+393471234567", "39 347 1234567", "39347", "12345", "39800123456", "३९"],
)
def test_what_is_no_whatsapp_phone_number(digits: str) -> None:
    assert phone_identifier(digits) is None


@given(st.text(max_size=60))
def test_any_text_gives_normalised_distinct_identifiers(text: str) -> None:
    found = find_identifiers(text)
    assert len(set(found)) == len(found)
    for identifier in found:
        if identifier.kind is IdentifierKind.ORDER:
            assert identifier.shown == identifier.value == identifier.value.upper()
        else:
            assert identifier.shown == ""
