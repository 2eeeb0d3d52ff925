"""Survey answers in words: which replies give a score, which score, and what is the comment."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.csat import Rating, read_rating

DATA = Path(__file__).resolve().parents[1] / "data" / "csat" / "replies.tsv"


def score_of(text: str) -> int | None:
    rating = read_rating(text)
    return rating.score if rating else None


@pytest.mark.parametrize(
    ("text", "score"),
    [
        # A number at the start, with a scale, stars or a lead-in.
        ("4", 4),
        ("4/5", 4),
        ("4 / 5", 4),
        ("4 su 5", 4),
        ("4 out of 5", 4),
        ("quattro su cinque", 4),
        ("voto 4", 4),
        ("Voto: 4", 4),
        ("il mio voto è 4", 4),
        ("I'd give you a 4", 4),
        ("@Zefiro_IT 4", 4),
        ("4️⃣", 4),
        ("4 stelle", 4),
        ("4⭐", 4),
        ("four stars", 4),
        ("una stella", 1),
        ("zero stelle", 1),  # with stars or a scale 0 is the bottom
        ("four", 4),
        ("quattro", 4),
        ("QUATTRO!!", 4),
        # Stars.
        ("⭐⭐⭐⭐", 4),
        ("★★★★☆", 4),
        ("⭐️⭐️⭐️⭐️⭐️", 5),  # with variation selectors
        ("★★★★★★★☆☆☆", 4),  # seven of ten
        ("⭐⭐⭐⭐⭐⭐⭐", 5),  # more than five is enthusiasm
        # Half points are rounded down.
        ("4,5", 4),
        ("3.5/5", 3),
        ("4 e mezzo", 4),
        # Ten-point answers are halved, rounded up; more than the scale needs a judgement.
        ("10/10", 5),
        ("9/10", 5),
        ("8/10", 4),
        ("7 su 10", 4),
        ("6/10", 3),
        ("2/10", 1),
        ("0/10", 1),
        ("ten out of ten", 5),
        ("80/100", 4),
        ("11/10 amazing", 5),
        ("10 e lode", 5),
        # Words, on the scale of care surveys.
        ("ottimo", 5),
        ("excellent", 5),
        ("perfetto", 5),
        ("eccellente", 5),
        ("top", 5),
        ("buono", 4),
        ("good", 4),
        ("bene", 4),
        ("soddisfatto", 4),
        ("discreto", 3),
        ("ok", 3),
        ("okay", 3),
        ("così così", 3),
        ("could be better", 3),
        ("scarso", 2),
        ("bad", 2),
        ("poor", 2),
        ("insoddisfatto", 2),
        ("pessimo", 1),
        ("terrible", 1),
        ("awful", 1),
        ("orribile", 1),
        # Intensifiers, qualifiers, negations.
        ("molto buono", 5),
        ("very bad", 1),
        ("very satisfied", 5),
        ("pretty good", 4),
        ("tutto perfetto", 5),
        ("not good", 2),
        ("non buono", 2),
        ("not very good", 2),
        ("non ottimo", 3),
        ("not bad", 3),
        ("not too bad", 3),
        ("non pessimo", 3),
        ("not great", 2),  # English understatement
        # A noun of service before or after the word.
        ("ottimo servizio", 5),
        ("servizio pessimo", 1),
        ("il servizio clienti è stato ottimo", 5),
        ("great job guys", 5),
        ("horrible experience", 1),
        # Case, accents, elongation, one typo, trailing emoji and punctuation.
        ("OTTIMO!!!", 5),
        ("Perfètto", 5),
        ("ottimooo", 5),
        ("goood", 4),
        ("otimo", 5),
        ("excelent", 5),
        ("pesimo servizio", 1),
        ("5 😊", 5),
        ("4/5!!!", 4),
        ("Top 🔝", 5),
        # Emoji alone: thumbs down is "bad", the mirror of thumbs up.
        ("👍", 4),
        ("👍🏻", 4),
        ("👍👍👍", 5),
        ("👎", 2),
        ("👎👎", 1),
        ("😡", 1),
        ("😍", 5),
        ("❤️", 5),
        ("😐", 3),
        # A score at the end of a short judgement.
        ("grazie, 5", 5),
        ("veloci e gentili: 5", 5),
        ("tutto risolto, direi 4", 4),
        ("siete stati bravissimi, vi do 5 stelle", 5),
        ("ciao, 5", 5),
        ("boh 3", 3),
    ],
)
def test_scores(text: str, score: int) -> None:
    assert score_of(text) == score


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("1 - ancora nessun rimborso", Rating(1, "ancora nessun rimborso")),
        ("5, veloci, grazie", Rating(5, "veloci, grazie")),
        ("3. Gentili ma lenti", Rating(3, "Gentili ma lenti")),
        ("5!!! grazie mille", Rating(5, "grazie mille")),
        ("5 grazie", Rating(5, "grazie")),
        ("2 troppo lenti", Rating(2, "troppo lenti")),
        ("4 - perché è arrivato tardi", Rating(4, "perché è arrivato tardi")),  # as written
        ("5\ngrazie", Rating(5, "grazie")),
        ("1 😡 ancora niente", Rating(1, "ancora niente")),
        ("@Zefiro_IT voto 4, gentili", Rating(4, "gentili")),
        ("4 stelle, bravi", Rating(4, "bravi")),
        ("★★☆☆☆ lenti", Rating(2, "lenti")),
        ("grazie! ⭐⭐⭐⭐⭐", Rating(5, "grazie!")),
        ("perfetto, grazie mille 🙏", Rating(5, "grazie mille 🙏")),
        ("pessimo, ancora nessun rimborso", Rating(1, "ancora nessun rimborso")),
        ("Pessimo. Vi ho scritto tre volte", Rating(1, "Vi ho scritto tre volte")),
        ("assistenza ottima, grazie", Rating(5, "grazie")),
        ("grazie mille, 5 stelle", Rating(5, "grazie mille")),
        ("5 😊", Rating(5, "")),
        ("5!!!", Rating(5, "")),
        # An explicit score keeps the question as its comment: the caller shows it to the team.
        ("5, ma il rimborso quando arriva?", Rating(5, "ma il rimborso quando arriva?")),
    ],
)
def test_comments_are_what_the_customer_wrote_besides_the_score(text: str, rating: Rating) -> None:
    assert read_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        # New questions and problems, numbers that are not scores.
        "ho ancora un problema con l'ordine 4411",
        "il mio numero è 3471234567",
        "ordine 12345",
        "ci vediamo alle 5",
        "ho 2 domande",
        "4 giorni che aspetto!!",
        "I ordered 3 items",
        "why?",
        "da 1 a 5?",
        "1 more question",
        "one more thing, the invoice is wrong",
        "two days late",
        "3 ore al telefono, vergognoso",
        "Buonasera, il 3 marzo ho ordinato due cover e ne è arrivata una sola, potete verificare?",
        "il pacco è arrivato con 2 giorni di ritardo ma grazie",
        "il numero del pacco è 4",
        # Only 1..5, except with a scale.
        "0",
        "6",
        "7",
        "9!",
        "10",
        "6 stelle",
        "4411",
        # Ranges, times, dates, lists, units.
        "2-3 giorni",
        "4.30 va bene?",
        "4:30 works for the callback",
        "3/4",
        "il 5/10 ho fatto l'ordine",
        "12/10 ordine non arrivato",
        "1) quando arriva il pacco 2) posso cambiare indirizzo",
        "5G non funziona",
        "5€ di addebito",
        "5?",
        # A score on a condition, or given somewhere else.
        "5 stelle se mi rimborsate",
        "5 stars on the app store but your support is a joke",
        # Thanks, greetings and acknowledgements.
        "grazie",
        "grazie mille!",
        "ciao",
        "ok grazie",
        "ok ci provo",
        "va bene, aspetto il tecnico",
        "perfetto, aspetto la chiamata",
        "ottimo allora attendo la mail",
        "great, I'll wait for the engineer then",
        "buono a sapersi",
        "good to know",
        "buona giornata!",
        "good morning, I have another problem",
        # A word rating with a question is a question.
        "ottimo, ma quando arriva il rimborso?",
        "perfect, so when will it arrive?",
        # Complaints whose rating word is not the answer.
        "il servizio è stato pessimo e voglio il rimborso",
        "great, my parcel is lost again",
        # Emoji with words, unknown or opposite emoji, a lone star.
        "😡 ancora niente",
        "🙏",
        "👍👎",
        "⭐",
        "☆☆☆☆☆",
        "",
        "   ",
    ],
)
def test_not_an_answer(text: str) -> None:
    assert read_rating(text) is None


@given(st.text(max_size=200))
def test_any_text_reads_as_nothing_or_a_score_from_one_to_five(text: str) -> None:
    rating = read_rating(text)
    if rating is not None:
        assert 1 <= rating.score <= 5
        assert rating.comment == rating.comment.strip()
        assert rating.comment in text


# --- The labelled set --------------------------------------------------------------------------

# Measured with bench/csat.py (bench/README.md): accuracy 0.990 on all 584 replies (6 errors),
# 0.974 on the 194 held out (5 errors); no non-answer read as a score. The function is
# deterministic, so the floors sit close: three more errors on either fails.
ACCURACY_FLOOR = 0.985
HELD_OUT_ACCURACY_FLOOR = 0.96
MAX_FALSE_RATINGS = 1  # non-answers read as a score, of any kind
CRITICAL = "question"  # follow-up questions and requests: never read as a score


def rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))


def expected(row: dict[str, str]) -> int | None:
    return None if row["score"] == "-" else int(row["score"])


def test_the_labelled_set_is_as_its_readme_says() -> None:
    data = rows()
    assert len(data) >= 250
    assert 0.55 <= sum(r["lang"] == "it" for r in data) / len(data) <= 0.65
    assert sum(r["score"] == "-" for r in data) >= 80
    assert [r["split"] for r in data] == [
        "test" if n % 3 == 2 else "train" for n in range(len(data))
    ]
    assert len({r["text"] for r in data}) == len(data)


def test_accuracy_on_the_labelled_set() -> None:
    data = rows()
    right = [score_of(r["text"]) == expected(r) for r in data]
    held_out = [ok for ok, r in zip(right, data, strict=True) if r["split"] == "test"]
    assert sum(right) / len(right) >= ACCURACY_FLOOR
    assert sum(held_out) / len(held_out) >= HELD_OUT_ACCURACY_FLOOR


def test_non_answers_are_not_read_as_scores() -> None:
    read = [r for r in rows() if expected(r) is None and score_of(r["text"]) is not None]
    assert [r["text"] for r in read if r["kind"] == CRITICAL] == []
    assert len(read) <= MAX_FALSE_RATINGS
