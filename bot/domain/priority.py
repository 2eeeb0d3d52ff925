"""Priority of a new conversation: a small points table an agent can check by hand.

Each fact about the customer or the message is worth points; the total picks the priority, and
every fact that scored becomes a reason shown on the card ("journalist, Corriere (VIP) · 48k
followers · angry · 3rd contact this week").

    fact                                            points  reason
    VIP note on the customer                           2    "journalist, Corriere (VIP)"
    followers >= followers_urgent (100k)               4    "120k followers"
    followers >= followers_high (10k)                  2    "48k followers"
    verified account                                   1    "verified"
    angry: sentiment at or below ANGRY_AT (-0.3)       1    "angry"
    an urgency keyword in the message                  1    'says "rimborso"'
    contacts in the repeat window >= repeat_contacts   1    "3rd contact this week"

    total >= 4 -> urgent;  total >= 2 -> high;  otherwise normal;
    total == 0 and the message is positive -> low.

So one strong fact is enough for high (a VIP, 10k followers) and a very large account alone is
urgent; soft signals (verified, angry, keyword, repeat) raise the priority only together: two make
it high, four urgent. A single soft signal stays normal but is still listed, so the agent sees it.

"Positive" means a sentiment at or above POSITIVE_AT (0.3), or a thank-you ("grazie", "thanks")
that is not a question and not negative: "Dove è il mio ordine? grazie" is a question, and stays
normal. Low priority gets the longest response target, so it is kept for messages that need
nothing urgent from us.

Keywords are word stems, matched case- and accent-insensitively at the start of a word and only
with a common Italian or English ending after them (ENDINGS), so "bloccat" matches bloccato and
bloccata, "scam" matches scams and scammed but not scampi, "truff" matches truffa but not truffle.
A doubled final consonant is allowed before an ending of two letters or more (cancelled,
cancellare) but not before a single vowel ("cancello" is a gate). A keyword of several words
("legal action") matches those words in a row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.sla import Priority

ANGRY_AT = -0.3  # sentiment at or below this is "angry"
POSITIVE_AT = 0.3  # sentiment at or above this is "positive"

URGENT_FROM = 4  # points
HIGH_FROM = 2

VIP_POINTS = 2
FOLLOWERS_URGENT_POINTS = 4
FOLLOWERS_HIGH_POINTS = 2
SIGNAL_POINTS = 1  # verified, angry, keyword, repeat contact

DEFAULT_URGENCY_KEYWORDS: tuple[str, ...] = (
    # Italian
    "urgent",  # urgente, urgenti, urgentemente
    "urgenz",  # urgenza
    "emergenz",
    "disdett",  # disdetta
    "rimbors",  # rimborso, rimborsare, rimborsato
    "truff",  # truffa, truffato, truffatori
    "frod",  # frode, frodi
    "bloccat",  # bloccato, bloccata, bloccati
    "avvocat",
    "denunci",  # denuncia, denuncio, denunciare
    "diffid",  # diffida
    # English
    "refund",
    "fraud",
    "scam",
    "cancel",
    "blocked",
    "hacked",
    "lawyer",
    "legal action",
    "chargeback",
    "emergency",
    "asap",
)

THANKS_KEYWORDS: tuple[str, ...] = ("grazi", "ringrazi", "thank", "thx")

# Endings a stem may take: the plain word, then common English and Italian inflections.
ENDINGS = frozenset(
    {
        "",
        # English
        *("s", "es", "d", "ed", "ing", "ly", "er", "ers", "y", "ies", "able", "ulent"),
        *("ment", "ments", "ation", "ations"),
        # Italian
        *("a", "e", "i", "o", "ato", "ata", "ati", "ate"),
        *("are", "ere", "ire", "ando", "endo", "ente", "enti", "emente", "mente"),
        *("azione", "azioni", "atore", "atori", "atrice"),
    }
)
_VOWELS = frozenset("aeiou")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class PriorityRules:
    followers_high: int = 10_000  # PRIORITY_FOLLOWERS_HIGH
    followers_urgent: int = 100_000  # PRIORITY_FOLLOWERS_URGENT
    urgency_keywords: tuple[str, ...] = DEFAULT_URGENCY_KEYWORDS  # PRIORITY_KEYWORDS
    repeat_contacts: int = 3  # the 3rd contact or more within the window counts
    repeat_window_days: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.followers_high <= self.followers_urgent:
            raise ValueError(
                "follower thresholds must be positive with high <= urgent, not "
                f"{self.followers_high} and {self.followers_urgent}"
            )
        if self.repeat_contacts < 2:
            raise ValueError(f"repeat_contacts must be 2 or more, not {self.repeat_contacts}")
        if self.repeat_window_days < 1:
            raise ValueError(f"repeat_window_days must be 1 or more: {self.repeat_window_days}")


@dataclass(frozen=True)
class PriorityInput:
    vip_note: str | None  # e.g. "journalist, Corriere"; None or blank when not a VIP
    followers: int
    verified: bool
    sentiment_score: float  # [-1, 1]
    text: str  # the customer's latest message
    contacts_in_window: int  # this person's conversations in the repeat window, this one included


@dataclass(frozen=True)
class PriorityResult:
    priority: Priority
    reasons: tuple[str, ...]  # heaviest first, e.g. ("journalist, Corriere (VIP)", "48k followers")
    points: int = 0


def score_priority(facts: PriorityInput, rules: PriorityRules) -> PriorityResult:
    """The priority for `facts` under `rules`, with the reasons that produced it."""
    scored: list[tuple[int, str]] = []  # (points, reason), in table order
    vip = (facts.vip_note or "").strip()
    if vip:
        scored.append((VIP_POINTS, f"{vip} (VIP)"))
    if facts.followers >= rules.followers_urgent:
        scored.append((FOLLOWERS_URGENT_POINTS, f"{compact_count(facts.followers)} followers"))
    elif facts.followers >= rules.followers_high:
        scored.append((FOLLOWERS_HIGH_POINTS, f"{compact_count(facts.followers)} followers"))
    if facts.verified:
        scored.append((SIGNAL_POINTS, "verified"))
    if facts.sentiment_score <= ANGRY_AT:
        scored.append((SIGNAL_POINTS, "angry"))
    hits = keyword_hits(facts.text, rules.urgency_keywords)
    if hits:
        scored.append((SIGNAL_POINTS, "says " + ", ".join(f'"{hit}"' for hit in hits[:2])))
    if facts.contacts_in_window >= rules.repeat_contacts:
        window = "this week" if rules.repeat_window_days == 7 else _days(rules.repeat_window_days)
        scored.append((SIGNAL_POINTS, f"{ordinal(facts.contacts_in_window)} contact {window}"))

    points = sum(p for p, _ in scored)
    # sorted() is stable: equal weights keep the table's order (VIP before followers).
    reasons = tuple(reason for _, reason in sorted(scored, key=lambda s: -s[0]))
    if points >= URGENT_FROM:
        priority = Priority.URGENT
    elif points >= HIGH_FROM:
        priority = Priority.HIGH
    elif points == 0 and _positive(facts):
        priority, reasons = Priority.LOW, (_positive(facts),)
    else:
        priority = Priority.NORMAL
    return PriorityResult(priority, reasons, points)


def _positive(facts: PriorityInput) -> str:
    """Why the message counts as positive ("positive", "thank-you"), or "" when it does not."""
    if facts.sentiment_score >= POSITIVE_AT:
        return "positive"
    thanks = bool(keyword_hits(facts.text, THANKS_KEYWORDS))
    # "grazie" often closes a question ("dov'è il pacco? grazie"): a question is not a thank-you.
    return "thank-you" if thanks and facts.sentiment_score >= 0 and "?" not in facts.text else ""


def keyword_hits(text: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
    """The words of `text` (as written, in order, each once) that match one of `keywords`."""
    words = _WORD.findall(text)
    plain = [_fold(word) for word in words]
    hits: list[str] = []
    for i, first in enumerate(plain):
        for stem in _stems(keywords):
            # The cheap test first: this runs for every word against every keyword.
            if not first.startswith(stem[0]):
                continue
            if all(
                i + j < len(plain) and _matches(plain[i + j], part) for j, part in enumerate(stem)
            ):
                hit = " ".join(words[i : i + len(stem)])
                if hit.lower() not in (h.lower() for h in hits):
                    hits.append(hit)
                break
    return tuple(hits)


@lru_cache(maxsize=16)
def _stems(keywords: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Each keyword as its folded words, made once per list rather than once per message."""
    stems = (tuple(_fold(w) for w in _WORD.findall(k)) for k in keywords)
    return tuple(stem for stem in stems if stem)


def _matches(word: str, stem: str) -> bool:
    if not word.startswith(stem):
        return False
    rest = word[len(stem) :]
    if rest in ENDINGS:
        return True
    # cancel-l-ed, scam-m-ed: a doubled consonant, then a real ending (not a lone vowel).
    doubled = stem[-1] not in _VOWELS and rest[:1] == stem[-1]
    return doubled and len(rest) >= 3 and rest[1:] in ENDINGS


def _fold(text: str) -> str:
    """Lower case without accents: "Urgénte" and "urgente" compare equal."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def parse_keywords(text: str) -> tuple[str, ...]:
    """The PRIORITY_KEYWORDS setting: comma-separated stems; blank means the defaults.

    Items are stripped and lower-cased and duplicates dropped; an empty item (",," or a trailing
    comma) or one without letters or digits is an error, since it is most likely a typo that would
    otherwise silently match nothing.
    """
    if not text.strip():
        return DEFAULT_URGENCY_KEYWORDS
    keywords: list[str] = []
    for raw in text.split(","):
        keyword = " ".join(raw.split()).lower()
        if not keyword:
            raise ValueError(f"PRIORITY_KEYWORDS has an empty item: {text!r}")
        if not _WORD.search(keyword):
            raise ValueError(f"PRIORITY_KEYWORDS item {raw.strip()!r} has no letters or digits")
        if keyword not in keywords:
            keywords.append(keyword)
    return tuple(keywords)


def ordinal(n: int) -> str:
    """1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd 23rd ... 111th."""
    teens = 10 <= n % 100 <= 20  # 11th, 12th, 13th, not 11st
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def compact_count(n: int) -> str:
    """950, 48k, 48.5k, 1.2M: the format of bot.slack.blocks.compact_number, which the domain
    cannot import. Rounds up across a unit (999,999 is "1M", not "1000k")."""
    if n < 1_000:
        return str(n)
    if round(n / 1_000, 1) < 1_000:
        return f"{n / 1_000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def _days(n: int) -> str:
    return "in 24 h" if n == 1 else f"in {n} days"
