"""Topic suggestion: which of the team's topics a customer's message is about.

Every conversation gets a topic from a short list the team manages (`/care topics`); the card
shows a suggestion the agent can change with one click. A topic is a TopicProfile: a name,
keywords the team typed (words or phrases, Italian or English) and, optionally, examples: the
customer texts of past conversations the team filed under it. The standard profiles a new team
starts with are in `bot.domain.topic_defaults`.

Method, chosen by measurement on tests/data/topics/ (bench/topics.py prints the figures and
the alternatives it beat: a TF-IDF nearest centroid and Naive Bayes, both seeded with the
keywords; keywords plus a centroid similarity also lost, on dev, while this was tuned):

- Words: `sentiment.tokens` normalises them (case, accents, "nn", "x", @handles and URLs
  dropped, emoji kept), and a light IT/EN suffix stripping makes "rimborso", "rimborsi",
  "rimborsato" one stem, as it does "refund", "refunds", "refunded". No language guess is
  needed: stems of both languages live together.
- Keywords: each keyword found adds its weight to its topic, once. A stem that k topics share
  weighs 1/k; a phrase weighs one per word. In stems of 6+ letters one typo after the first
  letter (a letter missing, extra, wrong, or two swapped) still matches, for TYPO_WEIGHT.
- Examples teach more keywords: a stem found in k examples of a topic, and in n examples of
  all topics, weighs purity x support = k / (n + 1) x k / (k + 1) for that topic: below 1, a
  keyword's worth. Words the team's customers use for a topic ("campo", "giga") start to
  count; words common to every topic ("ordine", "grazie") stay near 0. A stem seen once is
  worth at most 0.25, so one example cannot decide alone. No examples, keywords only.
- Abstention: confidence = best / (best + runner-up + PRIOR). The default `min_confidence`
  0.5 means the best topic leads the runner-up by PRIOR at least, so ties never suggest, and
  it needs MIN_EVIDENCE. A wrong suggestion costs the agent a click and some trust; a missing
  one only the click.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.sentiment import tokens


@dataclass(frozen=True)
class TopicProfile:
    """One of the team's topics. `name` is what the card shows and the conversation keeps
    (unique in the team's list); `keywords` are words or phrases in either language
    ("rimborso", "money back"), matched whatever their case, accents, inflection or one typo;
    `examples` are customer texts the team filed under this topic (a few dozen recent ones
    are plenty). Tuples, not lists: the compiled list is cached by value."""

    name: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    topic: str  # a TopicProfile.name
    confidence: float  # in (0, 1): how clearly this topic beats the others
    evidence: tuple[str, ...]  # the keywords found, then words shared with its examples


PRIOR = 0.25  # how far the best topic must lead the runner-up, with min_confidence 0.5
MIN_CONFIDENCE = 0.5
MIN_EVIDENCE = 0.5  # half a keyword (a keyword two topics share) at least
TYPO_WEIGHT = 0.8  # a keyword matched with one typo counts this much
TYPO_MIN_LENGTH = 6  # shorter stems have too many real words one typo away ("change", "charge")
EVIDENCE_WORDS = 3  # words learned from the examples, at most, shown as evidence

# Longest first; a suffix is stripped only if MIN_STEM letters remain. Italian plurals, genders
# and participles, English plurals and verb forms: coarse, but the same on keywords and messages.
# Not "-ere": it ends as many nouns ("corriere", "carattere") as verbs.
_SUFFIXES = (
    *("azioni", "azione", "izioni", "izione", "amenti", "amento", "zioni", "zione", "mente"),
    *("ando", "endo", "ings", "ing", "ato", "ata", "ati", "ate", "ito", "ita", "iti", "ite"),
    *("uto", "uta", "are", "ire", "ies", "ed", "es", "hi", "he", "s", "a", "e", "i", "o", "y"),
)
_MIN_STEM = 3  # so "gls" is not "gli", "reso" and "resi" are both "res"
# Function words carry no topic; they are left out of the example vectors (not of phrases).
_STOPWORD_LIST = """
    il lo la i gli le un una uno di del della dello dei degli delle da dal dalla dai in nel
    nella nei con su sul sulla per tra fra a al allo alla ai agli alle e ed o ma se che chi
    cui non mi ti ci vi si ne me te lui lei noi voi loro io tu mio mia miei mie tuo tua suo
    sua vostro vostra vostri questo questa quello quella sono sei ha ho hai abbiamo avete
    hanno come cosa dove quando perche piu anche gia ancora poi solo molto tutto tutti ciao
    buongiorno buonasera salve favore ok
    the a an and or but if of to in on at for from with by about as is are was were be been
    am do does did have has had i you he she it we they me my your our their this that these
    those there here what why how when where who which can could would should will just so
    not no yes hi hello hey please im its dont still any
"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())


def stems(text: str) -> list[str]:
    """The message's words (and emoji), normalised and stemmed, in order; marks dropped."""
    return [_stem(word) for word in _words(text)]


def content_stems(text: str) -> list[str]:
    """The stems examples are learned from: no function words, no numbers."""
    return [stem for stem, _ in _content(_words(text))]


def _content(words: list[str]) -> list[tuple[str, str]]:
    return [(_stem(w), w) for w in words if w not in _STOPWORDS and not w.isdigit()]


def _words(text: str) -> list[str]:
    return [t.text for t in tokens(text) if t.text[0].isalnum() or _is_emoji(t.text[0])]


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if not word.isalpha():
        return word  # "4g", "190", emoji
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def _one_deleted(stem: str) -> list[str]:
    """The stem with its first, second... letter deleted."""
    return [stem[:i] + stem[i + 1 :] for i in range(len(stem))]


@dataclass(frozen=True)
class _Keyword:
    topic: int  # index in the profile list
    stems: tuple[str, ...]
    label: str  # as the team wrote it, for the evidence
    weight: float


@dataclass(frozen=True)
class _Index:
    """Everything `suggest` needs, built once per distinct topic list (see `_index`)."""

    names: tuple[str, ...]
    words: dict[str, list[_Keyword]]  # single-word keywords by stem
    phrases: dict[str, list[_Keyword]]  # multi-word keywords by first stem
    near: dict[str, set[tuple[str, int]]]  # a keyword stem minus one letter -> (stem, where)
    learned: dict[str, list[tuple[int, float]]]  # stem -> (topic, weight), from the examples


@lru_cache(maxsize=32)
def _index(topics: tuple[TopicProfile, ...]) -> _Index:
    # A stem (or phrase) in several topics' keywords says less about each: split its weight.
    owners: dict[tuple[str, ...], set[int]] = {}
    labels: dict[tuple[int, tuple[str, ...]], str] = {}
    for number, topic in enumerate(topics):
        for label in topic.keywords:
            key = tuple(stems(label))
            if key:
                owners.setdefault(key, set()).add(number)
                labels.setdefault((number, key), label)
    words: dict[str, list[_Keyword]] = {}
    phrases: dict[str, list[_Keyword]] = {}
    near: dict[str, set[tuple[str, int]]] = {}
    for (number, key), label in labels.items():
        keyword = _Keyword(number, key, label, len(key) / len(owners[key]))
        (words if len(key) == 1 else phrases).setdefault(key[0], []).append(keyword)
        if len(key) == 1 and len(key[0]) >= TYPO_MIN_LENGTH:
            for position, variant in enumerate(_one_deleted(key[0])[1:], start=1):
                near.setdefault(variant, set()).add((key[0], position))
    names = tuple(t.name for t in topics)
    return _Index(names, words, phrases, near, _learned(topics))


def _learned(topics: tuple[TopicProfile, ...]) -> dict[str, list[tuple[int, float]]]:
    """Keyword weights learned from the examples (see the module docstring)."""
    seen_in = [Counter(s for e in t.examples for s in set(content_stems(e))) for t in topics]
    everywhere = sum(seen_in, Counter[str]())
    learned: dict[str, list[tuple[int, float]]] = {}
    for number, counts in enumerate(seen_in):
        for stem, k in counts.items():
            purity, support = k / (everywhere[stem] + 1), k / (k + 1)
            learned.setdefault(stem, []).append((number, purity * support))
    return learned


def suggest(
    text: str, topics: Sequence[TopicProfile], *, min_confidence: float = MIN_CONFIDENCE
) -> Suggestion | None:
    """The team's topic this message is most clearly about, or None when no topic is clearly
    ahead (then the agent picks). Deterministic, offline; the topic list is compiled once and
    cached, so repeated calls with an equal list cost only the scoring."""
    index = _index(tuple(topics))
    if not index.names:
        return None
    words = _words(text)
    scores = [0.0] * len(index.names)
    keywords: list[list[str]] = [[] for _ in index.names]
    for keyword, strength in _keywords_found([_stem(w) for w in words], index).items():
        scores[keyword.topic] += keyword.weight * strength
        keywords[keyword.topic].append(keyword.label)
    learned: list[list[tuple[float, str]]] = [[] for _ in index.names]
    for stem, word in dict(_content(words)).items():
        for number, weight in index.learned.get(stem, ()):
            scores[number] += weight
            learned[number].append((weight, word))
    ranked = sorted(range(len(scores)), key=lambda n: -scores[n])  # stable: ties keep list order
    best = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    confidence = scores[best] / (scores[best] + runner_up + PRIOR)
    if scores[best] < MIN_EVIDENCE or confidence < min_confidence:
        return None
    taught = [w for _, w in sorted(learned[best], key=lambda e: -e[0])[:EVIDENCE_WORDS]]
    evidence = tuple(dict.fromkeys([*keywords[best], *taught]))
    return Suggestion(index.names[best], round(confidence, 3), evidence)


def _keywords_found(words: list[str], index: _Index) -> dict[_Keyword, float]:
    """Each keyword found in the message, with 1 for an exact match, TYPO_WEIGHT for one typo."""
    found: dict[_Keyword, float] = {}
    for position, word in enumerate(words):
        for keyword in index.phrases.get(word, ()):
            if tuple(words[position : position + len(keyword.stems)]) == keyword.stems:
                found[keyword] = 1.0
        if word in index.words:
            for keyword in index.words[word]:
                found[keyword] = 1.0
        elif len(word) >= TYPO_MIN_LENGTH:
            for stem in _one_typo_away(word, index):
                for keyword in index.words[stem]:
                    found[keyword] = max(found.get(keyword, 0.0), TYPO_WEIGHT)
    return found


def _one_typo_away(word: str, index: _Index) -> set[str]:
    """Keyword stems one edit from `word`, found by deleting a letter from each side (the
    symmetric-deletion trick): deleting the same position is a wrong letter, neighbouring
    positions two swapped letters; farther apart would be two edits ("gratu", "great"). The
    first letter is never the typo: people rarely get it wrong, and forgiving it turns
    "cortese" into "scortese"."""
    close = {stem for stem, _ in index.near.get(word, ())}  # the word lacks a letter
    for position, variant in enumerate(_one_deleted(word)[1:], start=1):
        if variant in index.words and len(variant) >= TYPO_MIN_LENGTH:
            close.add(variant)  # the word has a letter too many
        for stem, where in index.near.get(variant, ()):
            if abs(position - where) <= 1:
                close.add(stem)
    return close
