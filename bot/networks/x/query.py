"""X's rules for a search query (LISTEN_QUERY), checked when the configuration is read, so that a
mistake is named at start-up rather than refused by X at every poll.

The rules are X's "Build a query" guide (docs.x.com/x-api/posts/search/integrate/build-a-query)
and the recent-search reference (docs.x.com/x-api/posts/recent-search); X's own refusals, as
quoted in public bug reports, show which mistakes it answers with a 400 ("Ambiguous use of and
as a keyword", "no viable alternative at character '''", "is/has/lang cannot be used as a
standalone operator", "Rules must contain a non-negation term", "Reference to invalid
operator"). The check is lexical: a query it passes can still match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# "Query limitations" in the guide: recent search takes 512 characters on self-serve
# (pay-per-use) access, 4,096 with Enterprise; the count is of the whole query, spaces and
# operators included. The reference's 1-4096 is the Enterprise bound.
RECENT_SEARCH_QUERY_LIMIT = 512
# The guide's operator table. is:, has: and lang: are "conjunction-required": they only narrow a
# search, so a query needs another positive term too.
STANDALONE_OPERATORS = frozenset(
    {
        "from", "to", "url", "retweets_of", "in_reply_to_tweet_id", "in_reply_to_status_id",
        "retweets_of_tweet_id", "retweets_of_status_id", "quotes_of_tweet_id",
        "quotes_of_status_id", "context", "entity", "conversation_id", "list", "place",
        "place_country", "point_radius", "bounding_box", "geo_bounding_box", "sample",
    }
)  # fmt: skip
NARROWING_OPERATORS = {
    "is": {"retweet", "reply", "quote", "verified", "nullcast"},
    "has": {
        "hashtags", "cashtags", "links", "mentions", "media", "media_link", "images",
        "video_link", "videos", "geo",
    },
    "lang": None,  # any language code
}  # fmt: skip
# Words X's search ignores: a query of only these matches nothing (X refuses "a" alone).
STOPWORDS = frozenset({"a", "an", "the"})


@dataclass(frozen=True)
class _Term:
    text: str
    position: int  # 1-based, as X counts
    negated: bool
    narrowing: bool  # is:, has:, lang:

    @property
    def ignored(self) -> bool:
        return self.text.lower() in STOPWORDS


def valid_query(query: str) -> str | None:
    """What is wrong with `query` as an X recent-search query, in words; None when nothing is."""
    if not query.strip():
        return "the query is empty"
    if len(query) > RECENT_SEARCH_QUERY_LIMIT:
        return (
            f"the query is {len(query)} characters long; X's recent search takes at most "
            f"{RECENT_SEARCH_QUERY_LIMIT} (4,096 only with Enterprise access)"
        )
    problems: list[str] = []
    terms = _scan(query, problems)
    if not problems and terms and all(term.negated for term in terms):
        problems.append(
            "every term is negated: X needs at least one term that posts must have "
            "(e.g. acme -from:acmecare)"
        )
    elif not problems and all(t.negated or t.narrowing or t.ignored for t in terms):
        weak = "is:, has: and lang: only narrow a search"
        if not any(t.narrowing and not t.negated for t in terms):
            weak = 'X ignores words such as "a" and "the"'
        problems.append(f'{weak}: add a keyword, a "phrase", a #hashtag, an @mention or from:')
    return "; ".join(problems) or None


def listen_query(value: str) -> str:
    """A setting parser (bot.parsing's convention): the query, or ValueError naming the fault."""
    problem = valid_query(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _scan(query: str, problems: list[str]) -> list[_Term]:
    """The query's terms; what breaks X's syntax goes to `problems`."""
    terms: list[_Term] = []
    opened: list[int] = []  # positions of the parentheses not yet closed
    previous = "start"  # "start", "(", "OR" or "term": what an OR or ")" follows
    i = 0
    while i < len(query):
        char, position = query[i], i + 1
        if char.isspace():
            i += 1
        elif char == "(":
            opened.append(position)
            previous, i = "(", i + 1
        elif char == ")":
            if not opened:
                problems.append(f"a closing parenthesis at position {position} has no opening one")
            elif previous == "(":
                problems.append(f"empty parentheses at position {opened[-1]}")
            elif previous == "OR":
                problems.append(f"OR needs a term after it (before position {position})")
            if opened:
                opened.pop()
            previous, i = "term", i + 1
        elif char == "-" and query[i + 1 : i + 2] == "(":
            problems.append(
                f"X does not negate a group (position {position}): negate each term instead, "
                "e.g. -refund -return rather than -(refund OR return)"
            )
            i += 1
        else:
            term, i = _read_term(query, i, problems)
            if term is None:
                continue
            if term.text == "OR" and not term.negated:
                if previous in ("start", "(", "OR"):
                    problems.append(f"OR at position {position} needs a term before it")
                previous = "OR"
                continue
            terms.append(term)
            previous = "term"
    if previous == "OR":
        problems.append("the query ends with OR: it needs a term after it")
    problems.extend(f"the parenthesis at position {p} is not closed" for p in opened)
    return terms


def _read_term(query: str, i: int, problems: list[str]) -> tuple[_Term | None, int]:
    """The term starting at `i` (after an optional "-"), and where the next one starts."""
    position = i + 1
    negated = query[i] == "-" and i + 1 < len(query) and not query[i + 1].isspace()
    start = i + 1 if negated else i
    if query[start] == "'":
        problems.append(f"X takes phrases in double quotes, not single ones (position {start + 1})")
        return None, start + 1
    end = start
    while end < len(query) and not query[end].isspace() and query[end] not in "()":
        if query[end] == '"':  # a phrase, or an operator's quoted value (url:"...")
            if end > start and query[end - 1] != ":":
                break
            closing = query.find('"', end + 1)
            if closing < 0:
                problems.append(f"the double quote at position {end + 1} is not closed")
                return None, len(query)
            end = closing + 1
            break
        end += 1
    text = query[start:end]
    if not text.startswith('"'):
        problem = _word_problem(text, start + 1)
        if problem is not None:
            problems.append(problem)
            return None, end
    name, colon, _ = text.partition(":")
    narrowing = bool(colon) and name in NARROWING_OPERATORS and not text.startswith('"')
    return _Term(text, position, negated, narrowing), end


def _word_problem(word: str, position: int) -> str | None:
    if word.lower() == "and" or word == "or":
        keyword = word.lower()
        join = "a space (AND is implicit)" if keyword == "and" else "OR in capitals"
        return (
            f"X reads {word!r} (position {position}) as an ambiguous keyword: join terms with "
            f'{join}, or write "{keyword}" in double quotes to find the word'
        )
    name, colon, value = word.partition(":")
    if not colon or not name or word[0] in "#@$":
        return None
    if name in ("http", "https"):
        return f'a link must be quoted (position {position}): write url:"{word}" or "{word}"'
    if name in STANDALONE_OPERATORS:
        return None if value else f"{name}: needs a value (position {position})"
    if name in NARROWING_OPERATORS:
        allowed = NARROWING_OPERATORS[name]
        if allowed is None:
            return None if value else f"lang: needs a language code (position {position})"
        if value in allowed:
            return None
        return f"X has no operator {word} (position {position}); {name}: takes " + ", ".join(
            sorted(allowed)
        )
    return (
        f'X has no operator {name}: (position {position}); quote the word if it is text ("{word}")'
    )
