"""Anonymising customers' messages for publication: what goes, and what a reader still needs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.anonymise import PLACEHOLDERS, anonymise

REMOVED = [
    # Italian
    (
        "it",
        "Ciao, sono Giulia Rossi e scrivo per un reso",
        "Ciao, sono [nome] e scrivo per un reso",
    ),
    ("it", "mi chiamo Luca De Santis", "mi chiamo [nome]"),
    ("it", "sono D'Amico, cliente da anni", "sono [nome], cliente da anni"),
    ("it", "Grazie, Marco", "Grazie, [nome]"),
    ("it", "Ciao Marco, il pacco non arriva", "Ciao [nome], il pacco non arriva"),
    ("it", "Cordiali saluti\nAnna Bianchi", "Cordiali saluti\n[nome]"),
    ("it", "Il pacco è rotto.\n- Luca", "Il pacco è rotto.\n- [nome]"),
    ("it", "@giulia_r mi ha detto di scrivervi", "[utente] mi ha detto di scrivervi"),
    ("it", "scrivetemi a giulia.rossi@gmail.com", "scrivetemi a [email]"),
    ("it", "chiamatemi al 347 123 4567", "chiamatemi al [telefono]"),
    ("it", "cell. 3471234567", "cell. [telefono]"),
    ("it", "tel +39 347.123.4567 o 06-1234-5678", "tel [telefono] o [telefono]"),
    ("it", "numero 0039 06 1234 5678", "numero [telefono]"),
    ("it", "ordine 4411 non arrivato", "ordine [numero] non arrivato"),
    ("it", "n. ordine: 44112233", "n. ordine: [numero]"),
    ("it", "il pacco #4411 è fermo", "il pacco [numero] è fermo"),
    ("it", "tracking RR123456789IT", "tracking [numero]"),
    ("it", "la pratica AB123456 è aperta", "la pratica [numero] è aperta"),
    ("it", "codice AB123456", "codice [numero]"),
    ("it", "rimborso su IT60 X054 2811 1010 0000 0123 456 grazie", "rimborso su [numero] grazie"),
    ("it", "rimborso su IT60X0542811101000000123456", "rimborso su [numero]"),
    ("it", "carta 4111 1111 1111 1111 addebitata", "carta [numero] addebitata"),
    ("it", "il numero 4411 2233 non risulta", "il numero [numero] non risulta"),
    ("it", "guardate https://shop.example.it/o?id=4411&t=abc.", "guardate [link]."),
    # English
    (
        "en",
        "Hi, I'm John and my order #4411 is late",
        "Hi, I'm [name] and my order [number] is late",
    ),
    ("en", "my name is Sarah O'Connor", "my name is [name]"),
    ("en", "Thanks, Mark!", "Thanks, [name]!"),
    ("en", "Best regards,\nJohn Smith", "Best regards,\n[name]"),
    ("en", "ask @brand_help", "ask [user]"),
    ("en", "reach me at john.smith+shop@example.co.uk", "reach me at [email]"),
    ("en", "call me on +44 20 7946 0958", "call me on [phone]"),
    ("en", "Call (415) 555-2671 please", "Call [phone] please"),
    ("en", "order number: A-77812 arrived damaged", "order number: [number] arrived damaged"),
    ("en", "ticket 123 still open", "ticket [number] still open"),
    ("en", "card 5500 0000 0000 0004 charged twice", "card [number] charged twice"),
    ("en", "see (https://example.com/track?n=1)", "see ([link])"),
]

KEPT = [
    "il 12/03 alle 9:30 ho chiamato",
    "consegna prevista il 12/03/2024",
    "returned on 2024-03-12",
    "l'ho pagato 39,90 €",
    "costa € 1.299 o 1.299,00 EUR",
    "ho speso 1299 € nel 2024",
    "il mio iPhone 15 non si accende",
    "Galaxy S23 screen cracked",
    "la batteria da 5000 mAh dura 24h",
    "10% di sconto su 2 pezzi",
    "ordine di 3 giorni fa",  # a short number after "ordine" is a quantity, not an order
    "Grazie mille!",
    "Ciao ragazzi, grazie a tutti",
    "Sono rimasto senza risposta",
    "I'm Italian and my parcel is late",
    "vedi www.shop.example.it/resi per i resi",  # a link without a query string names no one
    "il codice sconto non funziona",
    "USB-C and Wi-Fi 6 both broken",
]


@pytest.mark.parametrize(("lang", "message", "published"), REMOVED)
def test_personal_data_becomes_a_placeholder(lang: str, message: str, published: str) -> None:
    assert anonymise(message, lang) == published


@pytest.mark.parametrize("message", KEPT)
def test_what_the_question_is_about_stays(message: str) -> None:
    assert anonymise(message, "it") == message
    assert anonymise(message, "en") == message


def test_placeholders_are_localised_and_italian_by_default() -> None:
    message = "sono Giulia, ordine 4411, giulia@example.com, 347 123 4567, @giulia"
    assert anonymise(message) == "sono [nome], ordine [numero], [email], [telefono], [utente]"
    assert anonymise(message, "en") == "sono [name], ordine [number], [email], [phone], [user]"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="fr"):
        anonymise("bonjour", "fr")


# Pieces that set off the rules, so random messages meet them in odd company ("4411@12").
PIECES = st.sampled_from(
    [
        *("4411", "12", "3", "2024", "00", "+39", "347", "1.299", "9:30", "12/03", "4111 "),
        *(" ", "-", ".", "/", ":", "#", "@", "(", ")", "?", "=", "&", ",", "\n", "€", "mAh"),
        *("Marco", "Luca\n", "O'", "D", "ß", "AB", "IT60 ", "X054", "x", "e", "www."),
        *("sono ", "mi chiamo ", "I'm ", "Ciao ", "Grazie, ", "Best, ", "- "),
        *("ordine ", "order #", "ticket ", "n. ", "a@b.it", "https://a.it/"),
        *("[numero]", "[nome]", "[telefono]"),
    ]
)


@given(
    st.one_of(st.text(max_size=40), st.lists(PIECES, max_size=12).map("".join)),
    st.sampled_from(["it", "en"]),
)
def test_anonymising_twice_changes_nothing(text: str, lang: str) -> None:
    """The FAQ renderer anonymises what the query may already have anonymised."""
    once = anonymise(text, lang)
    assert anonymise(once, lang) == once


@pytest.mark.parametrize("lang", sorted(PLACEHOLDERS))
def test_placeholders_survive_every_rule(lang: str) -> None:
    every = " ".join(PLACEHOLDERS[lang].values())
    assert anonymise(every, lang) == every
