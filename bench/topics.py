"""Which topic-suggestion method works best on the labelled set, and how does it learn?

Run:  .venv/bin/python bench/topics.py [--data tests/data/topics/topics.jsonl]
                                       [--split test|dev] [--errors N] [--sweep]

Loads the labelled messages (tests/data/topics/README.md) and compares four methods, all
starting from the default profiles (bot/domain/topic_defaults.py) plus, for the learning curve,
N labelled past conversations per topic (N = 0, 5, 20) drawn from the dev split as a team would
have them. Figures are on the held-out test split by default (`--split dev` scores the dev
messages not drawn as examples: that is what the settings were tuned on). With N > 0 each
figure is the mean over DRAWS draws of examples (fixed hashes, so the run is deterministic).

- `keywords`: the shipped `suggest` with the profiles' examples removed (keywords only).
- `centroid`: TF-IDF nearest centroid over stems; the keywords are one more "example" of
  their topic; abstains below a cosine similarity or a margin over the runner-up.
- `naive_bayes`: multinomial Naive Bayes over stems, keywords counted as KEYWORD_COUNT
  occurrences, uniform prior; abstains when no stem is known or the posterior is low.
  Both abstention settings (and alpha, KEYWORD_COUNT) are the best mean dev accuracy over
  N = 0, 5, 20 among thresholds that cannot suggest on a tie.
- `keywords+learned`: the shipped `bot.domain.topics.suggest`: the keywords plus keyword
  weights learned from the examples (purity x support of each stem).

Then the learning curve again with profiles that know only the topic's name in both languages
(NAMES_ONLY: a topic a team adds with two keywords), where the examples must do the work.

Scoring: a message labelled "other" counts as right when the method abstains (the agent picks
"other" by hand) or suggests "other"; for macro-F1 an abstention is the prediction "other".
Coverage is the share of messages with a suggestion; "acc@sugg" the accuracy among those.
It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.domain.topic_defaults import DEFAULT_TOPICS
from bot.domain.topics import Suggestion, TopicProfile, content_stems, suggest

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "topics" / "topics.jsonl"
OTHER = "other"
SHOTS = (0, 5, 20)
DRAWS = 5
KEYWORD_COUNT = 10  # pseudo-occurrences of a keyword's stems for Naive Bayes (chosen on dev)
SHOWN = 80  # characters of a message shown in the error list

Predict = Callable[[str], str | None]
# A team's own minimal profiles: each topic's name in Italian and English, nothing else.
NAMES_ONLY = {
    "delivery": ("consegna", "delivery"),
    "refund": ("rimborso", "refund"),
    "billing": ("bolletta", "bill"),
    "account": ("account", "app"),
    "fault": ("guasto", "fault"),
    "product": ("prodotto", "product"),
    "store": ("negozio", "store"),
    "staff": ("personale", "staff"),
    "praise": ("complimenti", "thanks"),
    "other": ("altro", "other"),
}


@dataclass(frozen=True)
class Row:
    text: str
    lang: str
    topic: str
    hard: bool
    split: str


def load(path: Path) -> list[Row]:
    rows = [Row(**json.loads(line)) for line in path.read_text("utf-8").splitlines() if line]
    for row in rows:  # the split is a fixed hash of the text: nothing moved between splits
        if row.split != split_of(row.text):
            raise ValueError(f"split {row.split!r} is not the hash's: {row.text!r}")
    return rows


def split_of(text: str) -> str:
    return "test" if hashlib.sha256(text.encode()).digest()[0] % 5 < 2 else "dev"


def with_examples(
    rows: list[Row], shots: int, draw: int, names_only: bool = False
) -> tuple[TopicProfile, ...]:
    """The default profiles (or NAMES_ONLY ones) plus `shots` dev messages per topic, chosen
    by a hash per draw."""

    def order(row: Row) -> bytes:
        return hashlib.sha256(f"{draw}:{row.text}".encode()).digest()

    chosen = {
        p.name: tuple(r.text for r in sorted((r for r in rows if r.topic == p.name), key=order))
        for p in DEFAULT_TOPICS
    }
    return tuple(
        replace(
            p,
            keywords=NAMES_ONLY[p.name] if names_only else p.keywords,
            examples=chosen[p.name][:shots],
        )
        for p in DEFAULT_TOPICS
    )


# --- Candidates ---------------------------------------------------------------------------------


def keywords_only(profiles: Sequence[TopicProfile]) -> Predict:
    bare = tuple(replace(p, examples=()) for p in profiles)
    return lambda text: _topic(suggest(text, bare))


def shipped(profiles: Sequence[TopicProfile]) -> Predict:
    return lambda text: _topic(suggest(text, profiles))


def _topic(suggestion: Suggestion | None) -> str | None:
    return suggestion.topic if suggestion else None


def _documents(profile: TopicProfile) -> list[list[str]]:
    return [content_stems(", ".join(profile.keywords))] + [
        content_stems(e) for e in profile.examples
    ]


def centroid(
    profiles: Sequence[TopicProfile], min_similarity: float = 0.05, margin: float = 0.03
) -> Predict:
    documents = [(p.name, d) for p in profiles for d in _documents(p)]
    frequency = Counter(s for _, d in documents for s in set(d))
    idf = {s: math.log((1 + len(documents)) / (1 + f)) + 1 for s, f in frequency.items()}
    centroids: dict[str, Counter[str]] = {p.name: Counter() for p in profiles}
    for name, document in documents:
        centroids[name].update(_unit(Counter(document), idf))
    units = {name: _unit(c, {}) for name, c in centroids.items()}

    def predict(text: str) -> str | None:
        vector = _unit(Counter(content_stems(text)), idf)
        scores = sorted(
            ((sum(w * units[n].get(s, 0.0) for s, w in vector.items()), n) for n in units),
            reverse=True,
        )
        (best, name), (second, _) = scores[0], scores[1]
        return name if best >= min_similarity and best - second >= margin else None

    return predict


def _unit(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    weights = {s: n * idf.get(s, 1.0) for s, n in counts.items() if not idf or s in idf}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {s: w / norm for s, w in weights.items()} if norm else {}


def naive_bayes(
    profiles: Sequence[TopicProfile], alpha: float = 0.1, min_posterior: float = 0.55
) -> Predict:
    counts = {p.name: Counter[str]() for p in profiles}
    for p in profiles:
        counts[p.name].update({s: KEYWORD_COUNT for s in content_stems(", ".join(p.keywords))})
        for example in p.examples:
            counts[p.name].update(content_stems(example))
    vocabulary = {s for c in counts.values() for s in c}
    totals = {n: sum(c.values()) + alpha * len(vocabulary) for n, c in counts.items()}

    def predict(text: str) -> str | None:
        known = [s for s in content_stems(text) if s in vocabulary]
        if not known:
            return None
        logs = {
            n: sum(math.log((c[s] + alpha) / totals[n]) for s in known) for n, c in counts.items()
        }
        top = max(logs.values())
        exp = {n: math.exp(v - top) for n, v in logs.items()}
        name = max(exp, key=lambda n: exp[n])
        return name if exp[name] / sum(exp.values()) >= min_posterior else None

    return predict


Factory = Callable[[Sequence[TopicProfile]], Predict]
METHODS: dict[str, Factory] = {
    "keywords": keywords_only,
    "centroid": centroid,
    "naive_bayes": naive_bayes,
    "keywords+learned": shipped,
}


# --- Metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    coverage: float
    accuracy_when_suggesting: float


def score(pairs: list[tuple[str, str | None]]) -> Scores:
    """From (gold, predicted or None) pairs; see the module docstring for "other"."""
    right = sum(gold == (predicted or OTHER) for gold, predicted in pairs)
    suggested = [(g, p) for g, p in pairs if p is not None]
    labels = sorted({g for g, _ in pairs} | {p or OTHER for _, p in pairs})
    f1 = [_f1([(g, p or OTHER) for g, p in pairs], label) for label in labels]
    return Scores(
        right / len(pairs),
        sum(f1) / len(f1),
        len(suggested) / len(pairs),
        sum(g == p for g, p in suggested) / len(suggested) if suggested else 0.0,
    )


def _f1(pairs: list[tuple[str, str]], label: str) -> float:
    tp = sum(g == label and p == label for g, p in pairs)
    predicted = sum(p == label for _, p in pairs)
    actual = sum(g == label for g, _ in pairs)
    return 2 * tp / (predicted + actual) if predicted + actual else 0.0


def mean(scores: list[Scores]) -> Scores:
    return Scores(
        *(sum(getattr(s, f) for s in scores) / len(scores) for f in Scores.__annotations__)
    )


def evaluate(
    rows: list[Row],
    split: str,
    make: Factory,
    shots: int,
    names_only: bool = False,
) -> dict[str, Scores]:
    """Scores per language ("all", "it", "en"), averaged over the draws of examples."""
    dev = [r for r in rows if r.split == "dev"]
    runs: dict[str, list[Scores]] = {"all": [], "it": [], "en": []}
    for draw in range(DRAWS if shots else 1):
        profiles = with_examples(dev, shots, draw, names_only)
        used = {e for p in profiles for e in p.examples}
        predict = make(profiles)
        scored = [r for r in rows if r.split == split and r.text not in used]
        for lang in runs:
            selected = [r for r in scored if lang in ("all", r.lang)]
            runs[lang].append(score([(r.topic, predict(r.text)) for r in selected]))
    return {lang: mean(s) for lang, s in runs.items()}


def per_message(predict: Predict, texts: list[str], repeats: int = 5) -> float:
    predict(texts[0])  # builds and caches the profiles' index
    start = time.perf_counter()
    for _ in range(repeats):
        for text in texts:
            predict(text)
    return (time.perf_counter() - start) / (repeats * len(texts))


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def table(rows: list[Row], split: str, methods: dict[str, Factory], names_only: bool) -> None:
    languages = "  ".join(f"{lang:<25}" for lang in ("all", "it", "en"))
    print(f"{'method':<18} {'N':>2}  {languages}".rstrip())
    print(f"{'':<18} {'':>2}  " + "  ".join(f"{'acc   F1    cov  acc@sugg':<25}" for _ in "123"))
    for name, make in methods.items():
        for shots in SHOTS:
            cells = [
                f"{s.accuracy:.3f} {s.macro_f1:.3f} {s.coverage:.2f} "
                f"{s.accuracy_when_suggesting:.3f}"
                for s in evaluate(rows, split, make, shots, names_only).values()
            ]
            print(f"{name:<18} {shots:>2}  " + "  ".join(f"{c:<25}" for c in cells).rstrip())
        print()


def sweep(rows: list[Row], split: str) -> None:
    print(f"Shipped method on {split}: min_confidence against accuracy, coverage, acc@sugg")
    for shots in SHOTS:
        for threshold in (0.5, 0.6, 0.7, 0.8):

            def make(p: Sequence[TopicProfile], t: float = threshold) -> Predict:
                return lambda text: _topic(suggest(text, p, min_confidence=t))

            s = evaluate(rows, split, make, shots)["all"]
            print(f"  N={shots:>2} min_confidence {threshold:.1f}: acc {s.accuracy:.3f}", end="")
            print(f"  cov {s.coverage:.2f}  acc@sugg {s.accuracy_when_suggesting:.3f}")
    print()


def errors(rows: list[Row], split: str, shots: int) -> None:
    profiles = with_examples([r for r in rows if r.split == "dev"], shots, 0)
    used = {e for p in profiles for e in p.examples}
    print(f"Shipped errors on {split}, N = {shots} (draw 0): gold -> suggested, or - abstained")
    for r in rows:
        got = suggest(r.text, profiles)
        if r.split != split or r.text in used or (got.topic if got else OTHER) == r.topic:
            continue
        shown = f"{got.topic} {got.confidence:.2f} {','.join(got.evidence)}" if got else "-"
        print(
            f"  [{r.lang} {r.topic:>8}{' hard' if r.hard else ''}] -> {shown:<36} {shorten(r.text)}"
        )
    print()


def timing(rows: list[Row], split: str) -> None:
    dev = [r for r in rows if r.split == "dev"]
    texts = [r.text for r in rows if r.split == split]
    print(f"Time per message, mean over the {split} split x 5, default profiles with N = 20")
    print("examples per topic, after the profiles' index was built:")
    for name, make in METHODS.items():
        print(f"  {name:<18} {per_message(make(with_examples(dev, 20, 0)), texts) * 1e6:6.0f} µs")
    # A team with 15 topics: the defaults and five of its own (copies under other names).
    ten = with_examples(dev, 20, 1)
    fifteen = ten + tuple(replace(p, name=f"{p.name} (team)") for p in ten[:5])
    start = time.perf_counter()
    suggest("x", fifteen)
    built = (time.perf_counter() - start) * 1e3
    print(f"  {'shipped, 15 topics':<18} {per_message(shipped(fifteen), texts) * 1e6:6.0f} µs")
    print(f"  building that index (15 topics, 300 examples), once per list: {built:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--errors", type=int, metavar="N", help="list the shipped errors at N")
    parser.add_argument("--sweep", action="store_true", help="min_confidence against coverage")
    args = parser.parse_args()
    rows = load(args.data)
    counts = Counter((r.split, r.lang) for r in rows)
    print(
        f"{len(rows)} messages: dev {counts['dev', 'it']} it + {counts['dev', 'en']} en, ", end=""
    )
    print(f"test {counts['test', 'it']} it + {counts['test', 'en']} en. Scored: {args.split}.")
    print(
        f"N = labelled past conversations per topic, from dev (mean of {DRAWS} draws if N > 0).\n"
    )
    print("Default profiles (bot/domain/topic_defaults.py):\n")
    table(rows, args.split, METHODS, names_only=False)
    print("Names-only profiles (NAMES_ONLY: two keywords per topic), shipped method:\n")
    table(rows, args.split, {"keywords+learned": shipped}, names_only=True)
    if args.sweep:
        sweep(rows, args.split)
    if args.errors is not None:
        errors(rows, args.split, args.errors)
    timing(rows, args.split)


if __name__ == "__main__":
    main()
