"""Offline Italian/English guess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.language import guess_language

DATA = Path(__file__).resolve().parents[1] / "data" / "netiquette.jsonl"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ciao", "it"),
        ("grazie mille!", "it"),
        ("thanks!", "en"),
        ("il mio pacco non è ancora arrivato", "it"),
        ("my parcel still hasn't arrived", "en"),
        ("@Poste_Lampo il tracking è fermo da lunedì https://t.co/abc", "it"),
        ("@AcmeParcel tracking stuck since Monday https://t.co/abc", "en"),
        ("perché?", "it"),  # the accent alone is Italian
        ("l'ordine", "it"),  # an elision
        ("don't", "en"),  # a contraction
        ("vaffanculo", "it"),
        ("fottetevi", "it"),  # reflexive imperative ending
        ("ciao, my parcel never arrived", "en"),  # mixed: the majority wins
        # No evidence at all: the default, English.
        ("ok", "en"),
        ("👍👍", "en"),
        ("", "en"),
        ("https://example.com @brand #tag", "en"),
        ("12345", "en"),
    ],
)
def test_guess_language(text: str, language: str) -> None:
    assert guess_language(text) == language


def test_handles_and_urls_carry_no_language() -> None:
    # "@ilpaccodelmese" and the Italian URL must not outvote an English sentence.
    assert guess_language("@ilpaccodelmese where is my order? https://pacco.it/ordine") == "en"


def test_accuracy_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    right = sum(guess_language(r["text"]) == r["lang"] for r in rows)
    assert right / len(rows) >= 0.95
