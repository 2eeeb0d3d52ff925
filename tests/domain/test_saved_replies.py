"""Saved replies' rules: what may be saved, how one is filled in, what type-ahead finds."""

from __future__ import annotations

import pytest

from bot.domain.saved_replies import (
    ReplyValues,
    SavedReply,
    SavedReplyDraft,
    SavedReplyError,
    checked,
    fill,
    matching,
)

REFUND = SavedReply(1, "rimborso-tempi", "rimborsi", "Ciao {name}, rimborso in 5 giorni.", "", True)
IBAN = SavedReply(
    2, "dati-conto", "pagamenti", "Mandaci l'IBAN qui, {name}.", "Send us your IBAN here.", False
)
HOURS = SavedReply(3, "orari", "", "", "Hi {handle}, we're open 9 to 6. {agent}", True)


def draft(**changes: object) -> SavedReplyDraft:
    fields: dict[str, object] = {
        "name": "orari",
        "topic": "",
        "text_it": "Ciao {name}",
        "text_en": "",
        "public": True,
    }
    fields.update(changes)
    return SavedReplyDraft(**fields)  # type: ignore[arg-type]


def test_a_draft_is_trimmed_and_its_name_lower_cased() -> None:
    clean = checked(
        draft(name="  Rimborso-Tempi ", topic=" rimborsi  e  resi ", text_it=" Ciao {name} ")
    )
    assert (clean.name, clean.topic, clean.text_it) == (
        "rimborso-tempi",
        "rimborsi e resi",
        "Ciao {name}",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "rimborso tempi"}, "name", "lower-case letters, digits and dashes"),
        ({"name": "-x"}, "name", "lower-case letters"),
        ({"name": "a" * 41}, "name", "up to 40"),
        ({"text_it": "", "text_en": " "}, "text_it", "in Italian, in English, or both"),
        ({"text_it": "Ciao {nome}"}, "text_it", "unknown placeholder {nome}"),
        ({"text_en": "Hi {Name}"}, "text_en", "did you mean {name}?"),
        ({"text_it": "Ciao {name"}, "text_it", "unbalanced braces"),
        ({"text_it": "x" * 3001}, "text_it", "up to 3000"),
        ({"topic": "t" * 41}, "topic", "up to 40"),
    ],
)
def test_what_cannot_be_saved_says_where_and_why(
    changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(SavedReplyError) as refused:
        checked(draft(**changes))
    assert refused.value.field == field and message in str(refused.value)


def test_a_name_taken_by_another_reply_is_refused() -> None:
    with pytest.raises(SavedReplyError, match="already a saved reply called orari"):
        checked(draft(name="Orari"), taken={"orari"})


def test_filled_in_the_customers_language_or_the_other_one() -> None:
    values = ReplyValues("Giulia", "Anna", "@giulia_r")
    assert fill(IBAN, "it", values) == "Mandaci l'IBAN qui, Giulia."
    assert fill(IBAN, "en", values) == "Send us your IBAN here."
    assert fill(REFUND, "en", values) == "Ciao Giulia, rimborso in 5 giorni."  # no English text
    assert fill(HOURS, "it", values) == "Hi @giulia_r, we're open 9 to 6. Anna"


def test_an_empty_placeholder_leaves_no_stray_space() -> None:
    assert fill(HOURS, "en", ReplyValues("Davide", "", "")) == "Hi, we're open 9 to 6."


def test_type_ahead_matches_every_word_names_first_and_private_ones_only_in_private() -> None:
    replies = [REFUND, IBAN, HOURS]
    assert matching(replies, "", public=False) == [IBAN, HOURS, REFUND]
    assert matching(replies, "", public=True) == [HOURS, REFUND]
    assert matching(replies, "rimb", public=True) == [REFUND]
    assert matching(replies, "iban", public=False) == [IBAN]  # found in the text
    assert matching(replies, "5 giorni ciao", public=True) == [REFUND]
    assert matching(replies, "nothing like it", public=False) == []
