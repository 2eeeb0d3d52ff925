"""What a spike alert says (issue 16), as data: bot/slack renders it and mentions the on-call
agent. The caller passes the recent window's negative posts (bot.domain.spikes decides when).

Top words reuse topic suggestion's text features: `sentiment.tokens` normalises and drops
@handles and URLs, `topics.content_stems` drops Italian and English function words and numbers,
and stems, so "pagamento" and "pagamenti" are one word, shown as the posts write it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from bot.domain.sentiment import tokens
from bot.domain.spikes import DEFAULT_THRESHOLDS, SpikeThresholds
from bot.domain.topics import content_stems

TOP_WORDS = 3
EXAMPLES = 3
# Words that complaints use whatever went wrong ("non riesco a fare il login", "can't get in"),
# on top of the function words topic suggestion already leaves out.
_GENERIC_WORD_LIST = """
    fare fatto riesco riesce riusciamo posso puoi potete essere avere va vanno
    cant cannot get got make keep keeps trying tried doesnt isnt
"""
GENERIC_WORDS = frozenset(_GENERIC_WORD_LIST.split())


@dataclass(frozen=True)
class NegativePost:
    """A negative post of any kind or network. `followers` when the network tells."""

    at: datetime
    text: str
    verified: bool
    url: str
    network: str
    followers: int | None = None


@dataclass(frozen=True)
class SpikeAlert:
    """The alert's content; the renderer adds the on-call agent and the wording."""

    count: int  # negative posts in the recent window
    usual: int  # rounded, as people read it
    window: timedelta
    top_words: tuple[str, ...]  # most posts first, as written (lower case, no accents)
    verified: int  # posts from verified accounts
    examples: tuple[str, ...]  # URLs: verified first, then most followed, then latest
    networks: tuple[tuple[str, int], ...]  # (network, posts), most posts first


def describe_spike(
    posts: Sequence[NegativePost],
    usual_count: float,
    thresholds: SpikeThresholds = DEFAULT_THRESHOLDS,
    *,
    ignored_words: Collection[str] = (),
) -> SpikeAlert:
    """The alert for the recent window's negative posts. `ignored_words` are words that say
    nothing about the problem, like the brand's name written out ("vodafone"); @handles, URLs,
    function words and numbers are never top words."""
    posts = sorted(posts, key=lambda p: p.at)  # ties among words go to the earliest
    networks = Counter(p.network for p in posts).most_common()
    return SpikeAlert(
        count=len(posts),
        usual=int(usual_count + 0.5),
        window=thresholds.window,
        top_words=top_words(posts, ignored_words),
        verified=sum(p.verified for p in posts),
        examples=_examples(posts),
        networks=tuple(networks),
    )


def top_words(
    posts: Sequence[NegativePost], ignored_words: Collection[str] = (), top: int = TOP_WORDS
) -> tuple[str, ...]:
    """The content words used by most posts (each post counts a word once, so one rant that
    repeats a word is one vote), matched by stem ("pagamento", "pagamenti") and shown in their
    most frequent form. Ties go to the word seen first."""
    ignored = _generic_stems() | {stem for word in ignored_words for stem in content_stems(word)}
    posts_using: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for post in posts:
        seen: dict[str, None] = {}  # ordered, so that ties are deterministic
        for token in tokens(post.text):
            stem = _content_stem(token.text)
            if stem is None or stem in ignored:
                continue
            forms.setdefault(stem, Counter())[token.text] += 1
            seen[stem] = None
        posts_using.update(seen.keys())
    ranked = sorted(posts_using, key=lambda stem: -posts_using[stem])  # stable: first seen wins
    return tuple(forms[stem].most_common(1)[0][0] for stem in ranked[:top])


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    return frozenset(stem for word in GENERIC_WORDS for stem in content_stems(word))


@lru_cache(maxsize=16384)
def _content_stem(word: str) -> str | None:
    """The topic stemmer's stem of one normalised token, None for a function word, a number,
    an emoji or a mark: the same stopwords and stems as topic suggestion."""
    found = content_stems(word)
    if len(found) != 1 or not any(char.isalpha() for char in found[0]):
        return None
    return found[0]


def _examples(posts: Sequence[NegativePost]) -> tuple[str, ...]:
    ranked = sorted(posts, key=lambda p: (p.verified, p.followers or 0, p.at), reverse=True)
    return tuple(dict.fromkeys(p.url for p in ranked if p.url))[:EXAMPLES]
