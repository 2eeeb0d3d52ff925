"""How well `read_rating` reads survey answers written in words, and what it costs.

Run:  .venv/bin/python bench/csat.py [--data tests/data/csat/replies.tsv] [--errors]

Loads the labelled replies (tests/data/csat/README.md: a text, the score it gives or "-" when
it answers nothing, its language, split, kind and batch) and scores the shipped
`bot.domain.csat.read_rating` on them:

- accuracy: the reading is exactly right (the same score, or None for a non-answer);
- "is a rating" as a detection: precision is the share of messages read as a score that are
  answers (a non-answer read as a score is the costly error: it swallows the customer's new
  question), recall the share of answers read as a score;
- score@read: among answers read as a score, the share with the right score;
- FP a non-answer read as a score, of which "critical" are follow-up questions and requests
  (kind `question`); FN an answer not read; "wrong" an answer read with another score.

Lines by split (every third line is `test`, held out: the rules were not changed to fit
them), language and batch (batch 1 was written with the rules, 2 and 3 after them, see the
data's README). Then the time per message. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.domain import csat
from bot.domain.csat import read_rating

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "csat" / "replies.tsv"
CRITICAL = "question"  # follow-up questions and requests: never to be read as a score
REPEATS = 20


@dataclass(frozen=True)
class Row:
    text: str
    score: int | None  # None: not an answer to the survey
    lang: str
    split: str
    kind: str
    batch: str


def load(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as file:
        records = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    rows = [
        Row(r["text"], _score(r["score"]), r["lang"], r["split"], r["kind"], r["batch"])
        for r in records
    ]
    for number, row in enumerate(rows):  # the split is by rule: nothing moved between splits
        if row.split != ("test" if number % 3 == 2 else "train"):
            raise ValueError(f"line {number + 2}: split {row.split!r} breaks the every-third rule")
    return rows


def _score(cell: str) -> int | None:
    return None if cell == "-" else int(cell)


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    precision: float
    recall: float
    score_when_read: float
    false_positives: int
    critical: int
    missed: int
    wrong: int


def score(pairs: Iterable[tuple[Row, int | None]]) -> Scores:
    """From (row, score read or None) pairs."""
    pairs = list(pairs)
    read = [(r, got) for r, got in pairs if got is not None]
    answers = [(r, got) for r, got in pairs if r.score is not None]
    true_positives = [(r, got) for r, got in read if r.score is not None]
    false_positives = [r for r, _ in read if r.score is None]
    return Scores(
        n=len(pairs),
        accuracy=_share(sum(r.score == got for r, got in pairs), len(pairs)),
        precision=_share(len(true_positives), len(read)),
        recall=_share(len(true_positives), len(answers)),
        score_when_read=_share(sum(r.score == got for r, got in true_positives), len(read)),
        false_positives=len(false_positives),
        critical=sum(r.kind == CRITICAL for r in false_positives),
        missed=sum(got is None for _, got in answers),
        wrong=sum(got is not None and got != r.score for r, got in answers),
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


HEADER = (
    f"{'lines':<13} {'n':>4}  {'acc':>5}  {'P(rating)':>9} {'R(rating)':>9} {'score@read':>10}"
    f"  {'FP':>3} {'critical':>8} {'FN':>3} {'wrong':>5}"
)


def line(label: str, s: Scores) -> str:
    return (
        f"{label:<13} {s.n:>4}  {s.accuracy:.3f}  {s.precision:>9.3f} {s.recall:>9.3f}"
        f" {s.score_when_read:>10.3f}  {s.false_positives:>3} {s.critical:>8} {s.missed:>3}"
        f" {s.wrong:>5}"
    )


# Lines of the table: (label, split, language, batch), "all" keeps every value.
SECTIONS = [
    [(f"{split} {lang}", split, lang, "all") for lang in ("all", "it", "en")]
    for split in ("all", "train", "test")
] + [[(f"batch {b} {split}", split, "all", b) for b in "123" for split in ("all", "test")]]


def table(readings: list[tuple[Row, int | None]]) -> None:
    print(HEADER)
    for section in SECTIONS:
        for label, split, lang, batch in section:
            kept = [
                (r, got)
                for r, got in readings
                if split in ("all", r.split)
                and lang in ("all", r.lang)
                and batch in ("all", r.batch)
            ]
            print(line(label, score(kept)))
        print()


def errors(readings: list[tuple[Row, int | None]]) -> None:
    wrong = [(r, got) for r, got in readings if r.score != got]
    print(f"Errors: {len(wrong)} (expected -> read)")
    for r, got in wrong:
        expected = "-" if r.score is None else r.score
        shown = f"[{r.split:<5} {r.lang} {r.kind:<9} batch {r.batch}] {expected} -> {got or '-'}"
        print(f"  {shown}  {r.text}")
    print()


def timing(rows: list[Row]) -> None:
    texts = [r.text for r in rows]
    csat._FOLDED.clear()  # the first pass with the caches cold
    csat._spelling.cache_clear()
    start = time.perf_counter()
    for text in texts:
        read_rating(text)
    cold = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    for _ in range(REPEATS):
        for text in texts:
            read_rating(text)
    warm = (time.perf_counter() - start) / (REPEATS * len(texts))
    long = "Buonasera, " + "il pacco 4411 non è ancora arrivato e nessuno risponde. " * 20
    start = time.perf_counter()
    for _ in range(REPEATS * 10):
        read_rating(long)
    longest = (time.perf_counter() - start) / (REPEATS * 10)
    print(f"Time per message over the file ({len(texts)} replies):")
    print(f"  first pass, caches cold: {cold * 1e6:6.1f} µs")
    print(f"  mean of {REPEATS} more passes:  {warm * 1e6:6.1f} µs")
    print(f"  a {len(long)}-character complaint: {longest * 1e6:6.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--errors", action="store_true", help="list every reading that is wrong")
    args = parser.parse_args()
    rows = load(args.data)
    readings = [(r, rating.score if (rating := read_rating(r.text)) else None) for r in rows]
    langs = {lang: sum(r.lang == lang for r in rows) for lang in ("it", "en")}
    non_answers = [r for r in rows if r.score is None]
    print(
        f"{len(rows)} replies: {langs['it']} it + {langs['en']} en, "
        f"{sum(r.split == 'test' for r in rows)} held out (test); {len(non_answers)} non-answers, "
        f"{sum(r.kind == CRITICAL for r in non_answers)} of them critical (follow-ups).\n"
    )
    table(readings)
    if args.errors:
        errors(readings)
    timing(rows)


if __name__ == "__main__":
    main()
