"""Recent search for the X emulator: X's query language, parsed and matched against posts, and
the time window X searches in.

A practical subset of the language, written from X's "Build a query" guide
(docs.x.com/x-api/posts/search/integrate/build-a-query):

- terms: keywords, matched against the post's tokens ("coca-cola" and "Coca Cola" both hold the
  tokens coca, cola; emoji are tokens of their own), "exact phrases" (the same, token by token),
  #hashtags and @mentions (exact matches of the post's entities); case and accents are ignored,
  as X's search ignores them;
- operators: from:, to:, url:, retweets_of:, conversation_id:, in_reply_to_tweet_id:,
  retweets_of_tweet_id:, quotes_of_tweet_id: (and their *_status_id aliases), is:retweet,
  is:reply, is:quote, is:verified, has:hashtags, has:mentions, has:links, has:media, lang:.
  The other documented operators (context:, entity:, place:, list:, sample:...) are accepted and
  match nothing: the emulator has no annotations, places, lists or media;
- logic: a space is AND, OR joins alternatives, AND binds first (`a OR b c` is `a OR (b c)`),
  parentheses group, `-` negates a term or a group.

Queries X refuses are refused with X's words. Where X's answers were seen (quoted in public bug
reports), the message is X's; the others are marked "wording not confirmed".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# docs.x.com/x-api/posts/search/integrate/build-a-query, "Query limitations": 512 characters for
# recent search on self-serve (pay-per-use) access, 4,096 with Enterprise.
QUERY_LIMIT = 512
# Recent search covers the last seven days (docs.x.com/x-api/posts/search/introduction).
SEARCH_WINDOW = timedelta(days=7)
# start_time and end_time "must be a minimum of 10 seconds prior to the request time".
NEWEST_TIME = timedelta(seconds=10)
_TWITTER_EPOCH_MS = 1288834974657

# Conjunction-required operators only narrow a search; a query of only these is refused.
CONJUNCTION = {
    "is": ("retweet", "reply", "quote", "verified", "nullcast"),
    "has": (
        "hashtags", "cashtags", "links", "mentions", "media", "media_link", "images",
        "video_link", "videos", "geo",
    ),
    "lang": (),
}  # fmt: skip
STANDALONE = (
    "from", "to", "url", "retweets_of", "in_reply_to_tweet_id", "in_reply_to_status_id",
    "retweets_of_tweet_id", "retweets_of_status_id", "quotes_of_tweet_id", "quotes_of_status_id",
    "context", "entity", "conversation_id", "list", "place", "place_country", "point_radius",
    "bounding_box", "geo_bounding_box", "sample",
)  # fmt: skip
# A query of only these is refused like one of only negations (X answered so for "a").
_STOPWORDS = frozenset({"a", "an", "the"})


class QueryRefused(ValueError):
    """X's 400 for a query it cannot parse: `messages` as X lists them."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(", ".join(messages))
        self.messages = list(messages)

    @property
    def message(self) -> str:
        return "There were errors processing your request: " + ", ".join(self.messages)


# --- what a query sees of a post ----------------------------------------------------------------
@dataclass(frozen=True)
class Post:
    tokens: tuple[str, ...]
    author_id: str
    author: str  # username, folded
    verified: bool
    lang: str
    hashtags: frozenset[str]
    mentions: frozenset[str]
    urls: tuple[str, ...]
    replied_to_user: tuple[str, str] | None  # (id, folded username)
    references: Mapping[str, str]  # referenced_tweets: type -> id
    retweeted_author: tuple[str, str] | None
    conversation_id: str


def post_view(
    tweet: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    tweets: Mapping[str, Mapping[str, Any]],
) -> Post:
    """The parts of an emulator tweet that search operators look at."""

    def user(uid: str | None) -> tuple[str, str] | None:
        found = users.get(uid or "")
        return (found["id"], fold(found["username"])) if found else None

    author = users[tweet["author_id"]]
    entities = tweet.get("entities", {})
    references = {ref["type"]: ref["id"] for ref in tweet.get("referenced_tweets", [])}
    retweeted = tweets.get(references.get("retweeted", ""))
    return Post(
        tokens=tokens_of(tweet["text"]),
        author_id=author["id"],
        author=fold(author["username"]),
        verified=bool(author.get("verified")),
        lang=tweet.get("lang", ""),
        hashtags=frozenset(fold(h["tag"]) for h in entities.get("hashtags", [])),
        mentions=frozenset(fold(m["username"]) for m in entities.get("mentions", [])),
        urls=tuple(fold(u.get("expanded_url", u["url"])) for u in entities.get("urls", [])),
        replied_to_user=user(tweet.get("in_reply_to_user_id")),
        references=references,
        retweeted_author=user(retweeted["author_id"]) if retweeted else None,
        conversation_id=tweet.get("conversation_id", ""),
    )


def fold(text: str) -> str:
    """Case and accents away: X's search matches "Diacrítica" and "diacritica" alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens_of(text: str) -> tuple[str, ...]:
    """Text as X's search tokenizes it: runs of letters and digits, and each symbol (emoji) on
    its own; punctuation and spaces only separate."""
    tokens: list[str] = []
    word = ""
    for char in fold(text):
        if char.isalnum() or char == "_":
            word += char
            continue
        if word:
            tokens.append(word)
            word = ""
        if unicodedata.category(char).startswith("S"):
            tokens.append(char)
    if word:
        tokens.append(word)
    return tuple(tokens)


def _contains(tokens: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    size = len(wanted)
    return size > 0 and any(tokens[i : i + size] == wanted for i in range(len(tokens) - size + 1))


# --- the query as a tree ------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    kind: str  # "keyword", "phrase", "hashtag", "mention", "cashtag" or an operator's name
    value: str
    position: int  # 1-based, as X reports positions

    @property
    def standalone(self) -> bool:
        if self.kind in CONJUNCTION:
            return False
        return self.kind != "keyword" or fold(self.value) not in _STOPWORDS

    def matches(self, post: Post) -> bool:
        return _MATCHERS.get(self.kind, _nothing)(fold(self.value), post)


@dataclass(frozen=True)
class Not:
    node: Node

    def matches(self, post: Post) -> bool:
        return not self.node.matches(post)


@dataclass(frozen=True)
class AllOf:
    nodes: tuple[Node, ...]

    def matches(self, post: Post) -> bool:
        return all(node.matches(post) for node in self.nodes)


@dataclass(frozen=True)
class AnyOf:
    nodes: tuple[Node, ...]

    def matches(self, post: Post) -> bool:
        return any(node.matches(post) for node in self.nodes)


Node = Term | Not | AllOf | AnyOf


def _id_or_name(value: str, user: tuple[str, str] | None) -> bool:
    return user is not None and value.removeprefix("@") in user


def _nothing(value: str, post: Post) -> bool:
    return False


def _reference(kind: str) -> Callable[[str, Post], bool]:
    return lambda value, post: post.references.get(kind) == value


_HAS: dict[str, Callable[[Post], bool]] = {
    "hashtags": lambda post: bool(post.hashtags),
    "mentions": lambda post: bool(post.mentions),
    "links": lambda post: bool(post.urls),
    "cashtags": lambda post: any(token == "$" for token in post.tokens),
}
_IS: dict[str, Callable[[Post], bool]] = {
    "retweet": lambda post: "retweeted" in post.references,
    "quote": lambda post: "quoted" in post.references,
    "reply": lambda post: post.replied_to_user is not None,
    "verified": lambda post: post.verified,
}
_MATCHERS: dict[str, Callable[[str, Post], bool]] = {
    "keyword": lambda value, post: _contains(post.tokens, tokens_of(value)),
    "phrase": lambda value, post: _contains(post.tokens, tokens_of(value)),
    "cashtag": lambda value, post: _contains(post.tokens, tokens_of(value)),
    "hashtag": lambda value, post: value[1:] in post.hashtags,
    "mention": lambda value, post: value[1:] in post.mentions,
    "from": lambda value, post: _id_or_name(value, (post.author_id, post.author)),
    "to": lambda value, post: _id_or_name(value, post.replied_to_user),
    "retweets_of": lambda value, post: _id_or_name(value, post.retweeted_author),
    "url": lambda value, post: any(value in url for url in post.urls),
    "conversation_id": lambda value, post: post.conversation_id == value,
    "in_reply_to_tweet_id": _reference("replied_to"),
    "in_reply_to_status_id": _reference("replied_to"),
    "retweets_of_tweet_id": _reference("retweeted"),
    "retweets_of_status_id": _reference("retweeted"),
    "quotes_of_tweet_id": _reference("quoted"),
    "quotes_of_status_id": _reference("quoted"),
    "lang": lambda value, post: post.lang == value,
    "is": lambda value, post: _IS.get(value, lambda post: False)(post),
    "has": lambda value, post: _HAS.get(value, lambda post: False)(post),
}


# --- parsing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # "(", "-(", ")", "OR" or "term"
    position: int
    term: Term | None = None
    negated: bool = False


def parse(query: str) -> Node:
    """The query as a tree, or QueryRefused with what X would say about it."""
    tokens, errors = _lex(query)
    parser = _Parser(tokens, len(query))
    root = parser.parse() if not errors else None
    errors += parser.errors
    if root is None or errors:
        raise QueryRefused(errors)
    positive = [term for term, negated in parser.terms if not negated]
    if not positive:
        raise QueryRefused(
            [
                "Rules must contain a non-negation term (at position 1)",
                "Rules must contain at least one positive, non-stopword clause (at position 1)",
            ]
        )
    if not any(term.standalone for term in positive):
        if any(term.kind in CONJUNCTION for term in positive):
            message = "is/has/lang cannot be used as a standalone operator (at position 1)"
            raise QueryRefused([message])
        raise QueryRefused(
            ["Rules must contain at least one positive, non-stopword clause (at position 1)"]
        )
    return root


def _lex(query: str) -> tuple[list[_Token], list[str]]:
    tokens: list[_Token] = []
    errors: list[str] = []
    i, size = 0, len(query)
    while i < size:
        char, position = query[i], i + 1
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append(_Token(char, position))
            i += 1
            continue
        negated = char == "-" and i + 1 < size and not query[i + 1].isspace()
        if negated:
            i += 1
            if query[i] == "(":
                tokens.append(_Token("-(", position))
                i += 1
                continue
        start = i
        if query[i] == "'":  # X: single quotes are no quotes
            errors.append(f"no viable alternative at character ''' (at position {i + 1})")
            i += 1
            continue
        if query[i] == '"':
            end = query.find('"', i + 1)
            if end < 0:
                # Wording not confirmed against the real API.
                errors.append(f"missing closing quote (at position {i + 1})")
                break
            phrase = Term("phrase", query[i + 1 : end], position)
            tokens.append(_Token("term", position, phrase, negated))
            i = end + 1
            continue
        while i < size and not query[i].isspace() and query[i] not in '()"':
            i += 1
        if i < size and query[i] == '"' and query[i - 1] == ":":  # url:"https://..."
            end = query.find('"', i + 1)
            if end < 0:
                errors.append(f"missing closing quote (at position {i + 1})")  # not confirmed
                break
            word = query[start:i] + query[i + 1 : end]
            i = end + 1
        else:
            word = query[start:i]
        if word == "OR" and not negated:
            tokens.append(_Token("OR", position))
            continue
        term, error = _term(word, position)
        if term is not None:
            tokens.append(_Token("term", position, term, negated))
        else:
            errors.append(error or f"no viable alternative at input '{word}'")
    return tokens, errors


def _term(word: str, position: int) -> tuple[Term | None, str | None]:
    if word.lower() == "and":
        return None, (
            "Ambiguous use of and as a keyword. Use a space to logically join two clauses, or "
            f'"and" to find occurrences of and in text (at position {position})'
        )
    if word == "or":  # wording not confirmed (X's answer for "and" is)
        return None, (
            "Ambiguous use of or as a keyword. Use a capitalized OR to logically join two "
            f'clauses, or "or" to find occurrences of or in text (at position {position})'
        )
    for prefix, kind in (("#", "hashtag"), ("@", "mention"), ("$", "cashtag")):
        if word.startswith(prefix) and len(word) > 1:
            return Term(kind, word, position), None
    name, colon, value = word.partition(":")
    if not colon or not name:
        return Term("keyword", word, position), None
    known = name in STANDALONE or (
        name in CONJUNCTION and (not CONJUNCTION[name] or value in CONJUNCTION[name])
    )
    if not known:
        shown = word if name in CONJUNCTION else name
        return None, (
            f"Reference to invalid operator '{shown}'. Operator is not available in current "
            f"product or product packaging. (at position {position})"
        )
    return Term(name, value, position), None


class _Parser:
    """or_expr := and_expr ("OR" and_expr)*; and_expr := unary+; unary := term | "(" or_expr ")"
    | "-(" or_expr ")". AND binds first, as X evaluates."""

    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens = tokens
        self.at = 0
        self.end = length + 1  # where X reports <EOF>
        self.errors: list[str] = []
        self.terms: list[tuple[Term, bool]] = []  # every term, and whether it ends up negated
        self._negated = False

    def parse(self) -> Node | None:
        root = self._or()
        if root is not None and self.at < len(self.tokens):
            extra = self.tokens[self.at]
            self.errors.append(f"missing EOF at '{_shown(extra)}' (at position {extra.position})")
        return root

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _or(self) -> Node | None:
        first = self._and()
        if first is None:
            return None
        branches = [first]
        while (token := self._peek()) is not None and token.kind == "OR":
            self.at += 1
            branch = self._and()
            if branch is None:
                return None
            branches.append(branch)
        return branches[0] if len(branches) == 1 else AnyOf(tuple(branches))

    def _and(self) -> Node | None:
        items: list[Node] = []
        while (token := self._peek()) is not None and token.kind not in ("OR", ")"):
            item = self._unary(token)
            if item is None:
                return None
            items.append(item)
        if not items:
            token = self._peek()
            where = token.position if token else self.end
            shown = _shown(token) if token else "<EOF>"
            # Wording not confirmed against the real API (an ANTLR message, as X's others are).
            self.errors.append(f"no viable alternative at input '{shown}' (at position {where})")
            return None
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def _unary(self, token: _Token) -> Node | None:
        self.at += 1
        if token.kind == "term":
            assert token.term is not None
            self.terms.append((token.term, self._negated != token.negated))
            return Not(token.term) if token.negated else token.term
        negated = token.kind == "-("
        outer, self._negated = self._negated, self._negated != negated
        inner = self._or()
        self._negated = outer
        closing = self._peek()
        if inner is None:
            return None
        if closing is None or closing.kind != ")":
            where = closing.position if closing else self.end
            shown = _shown(closing) if closing else "<EOF>"
            self.errors.append(f"missing ')' at '{shown}' (at position {where})")  # not confirmed
            return None
        self.at += 1
        return Not(inner) if negated else inner


def _shown(token: _Token) -> str:
    if token.term is not None:
        return token.term.value if token.term.kind != "phrase" else f'"{token.term.value}"'
    return token.kind


# --- the time window ----------------------------------------------------------------------------
def window_errors(
    now: datetime,
    *,
    start_time: datetime | None,
    end_time: datetime | None,
    since_id: int | None,
) -> list[tuple[str, str, str]]:
    """(parameter, value, message) for each bound X refuses: older than its seven days, or newer
    than 10 seconds ago. Messages as X answers (quoted in public bug reports); X echoes times to
    the minute."""
    oldest = now - SEARCH_WINDOW
    errors = []
    for name, moment in (("start_time", start_time), ("end_time", end_time)):
        if moment is None:
            continue
        shown = _minute(moment)
        if name == "start_time" and moment < oldest:
            message = f"Invalid '{name}':'{shown}'. '{name}' must be on or after {_minute(oldest)}"
            errors.append((name, shown, message))
        elif moment > now - NEWEST_TIME:
            message = (
                f"Invalid '{name}':'{shown}'. '{name}' must be a minimum of 10 seconds prior to "
                "the request time."
            )
            errors.append((name, shown, message))
    if since_id is not None and posted_at(since_id) <= oldest:
        message = (
            f"'since_id' must be a tweet id created after {_minute(oldest)}. Please use a "
            f"'since_id' that is larger than {first_id_after(oldest)}"
        )
        errors.append(("since_id", str(since_id), message))
    return errors


def posted_at(tweet_id: int) -> datetime:
    """When a snowflake id was made: its top bits are milliseconds since X's epoch."""
    return datetime.fromtimestamp(((tweet_id >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def first_id_after(moment: datetime) -> int:
    return (int(moment.timestamp() * 1000) - _TWITTER_EPOCH_MS) << 22


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
