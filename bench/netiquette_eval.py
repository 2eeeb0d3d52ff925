"""How well does the netiquette detector do on the labelled set?

Run:  .venv/bin/python bench/netiquette_eval.py [--data tests/data/netiquette.jsonl] [--all-errors]

Loads the labelled messages (see tests/data/README.md), runs `assess` on each (language=None:
both languages' rules), and prints precision, recall, F1 and TP/FP/FN/TN per split (dev,
test, all) and per language, then the same with `language=guess_language(text)` (narrower
lexicons, as a caller may pass), then the false positives and false negatives of the test split
(`--all-errors`: of every split), then the accuracy of `guess_language` against the `lang` field.
The targets are precision >= 0.95 and recall >= 0.8 on the test split. It measures; it asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

from bot.domain.language import guess_language
from bot.domain.netiquette import Verdict, assess

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "netiquette.jsonl"
SHOWN = 90  # characters of a message shown in the error lists


@dataclass(frozen=True)
class Row:
    text: str
    lang: str
    label: str
    kind: str
    split: str
    flagged: bool  # the detector's verdict is ABUSE (both languages' rules)
    reasons: tuple[str, ...]
    flagged_narrowed: bool  # the verdict with language=guess_language(text), as a caller may do

    @property
    def abusive(self) -> bool:
        return self.label == "abuse"


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            assessment = assess(item["text"])
            rows.append(
                Row(
                    text=item["text"],
                    lang=item["lang"],
                    label=item["label"],
                    kind=item["kind"],
                    split=item["split"],
                    flagged=assessment.verdict == Verdict.ABUSE,
                    reasons=assessment.reasons,
                    flagged_narrowed=assess(item["text"], guess_language(item["text"])).verdict
                    == Verdict.ABUSE,
                )
            )
    return rows


def scores(rows: list[Row]) -> str:
    tp = sum(r.flagged and r.abusive for r in rows)
    fp = sum(r.flagged and not r.abusive for r in rows)
    fn = sum(not r.flagged and r.abusive for r in rows)
    tn = sum(not r.flagged and not r.abusive for r in rows)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return (
        f"{len(rows):>5} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f}"
        f" {tp:>5} {fp:>4} {fn:>4} {tn:>5}"
    )


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--all-errors", action="store_true", help="list errors of every split")
    args = parser.parse_args()
    rows = load(args.data)

    print(f"{'split':<6} {'lang':<4} {'n':>5} {'precision':>9} {'recall':>7} {'F1':>6}", end="")
    print(f" {'TP':>5} {'FP':>4} {'FN':>4} {'TN':>5}")
    for split in ("dev", "test", "all"):
        in_split = [r for r in rows if split in ("all", r.split)]
        for lang in ("all", "en", "it"):
            selected = [r for r in in_split if lang in ("all", r.lang)]
            print(f"{split:<6} {lang:<4} {scores(selected)}")

    listed = rows if args.all_errors else [r for r in rows if r.split == "test"]
    title = "all splits" if args.all_errors else "test split"
    for name, wrong in (
        ("False positives", [r for r in listed if r.flagged and not r.abusive]),
        ("False negatives", [r for r in listed if not r.flagged and r.abusive]),
    ):
        print(f"\n{name} ({title}): {len(wrong)}")
        for r in wrong:
            why = f"  <- {'; '.join(r.reasons)}" if r.reasons else ""
            print(f"  [{r.split} {r.lang} {r.kind}] {shorten(r.text)}{why}")

    print("\nWith language=guess_language(text) (narrowed lexicons):")
    for split in ("dev", "test", "all"):
        in_split = [r for r in rows if split in ("all", r.split)]
        narrowed = [replace(r, flagged=r.flagged_narrowed) for r in in_split]
        print(f"{split:<6} {'all':<4} {scores(narrowed)}")

    print()
    for split in ("dev", "test", "all"):
        in_split = [r for r in rows if split in ("all", r.split)]
        right = sum(guess_language(r.text) == r.lang for r in in_split)
        print(f"language guess {split:<4}: {right}/{len(in_split)} = {right / len(in_split):.3f}")


if __name__ == "__main__":
    main()
