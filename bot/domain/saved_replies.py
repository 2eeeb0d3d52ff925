"""Saved replies: the team's well-written answers to the questions that keep coming, in Italian
and English, filled in for one customer and sent as an agent's own answer.

A saved reply has a short name (`rimborso-tempi`: lower-case letters, digits and dashes, what
agents type to find it), an optional topic, a text per language and whether it may be used in
public. Its texts take three placeholders, `{name}` (the customer's name), `{agent}` (the
agent's first name) and `{handle}` (the customer's @handle); `{{`/`}}` write literal braces. The
syntax and its errors are the notice templates' (`bot.domain.templates`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.templates import TemplateError, placeholders_in, render_template

REPLY_PLACEHOLDERS = ("name", "agent", "handle")
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
NAME_LENGTH = 40
TOPIC_LENGTH = 40
TEXT_LENGTH = 3000  # a modal's text input holds no more


@dataclass(frozen=True)
class SavedReplyDraft:
    """What a team member typed in the editor."""

    name: str
    topic: str
    text_it: str
    text_en: str
    public: bool


@dataclass(frozen=True)
class SavedReply:
    id: int
    name: str
    topic: str
    text_it: str
    text_en: str
    public: bool

    def text_in(self, language: str) -> str:
        """The text for a customer writing in `language`, else the other one."""
        preferred, other = (self.text_it, self.text_en)
        if language != "it":
            preferred, other = other, preferred
        return preferred or other


@dataclass(frozen=True)
class ReplyValues:
    """What fills a saved reply's placeholders for one customer."""

    name: str
    agent: str
    handle: str  # "@giulia_r", or "" on a network without handles


class SavedReplyError(ValueError):
    """A saved reply that cannot be saved: `field` says where, the message what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def checked(draft: SavedReplyDraft, taken: Iterable[str] = ()) -> SavedReplyDraft:
    """The draft as stored (trimmed, the name lower-cased), or SavedReplyError; `taken` are the
    names other saved replies already have."""
    name = draft.name.strip().lower()
    if not NAME.fullmatch(name) or len(name) > NAME_LENGTH:
        raise SavedReplyError(
            "name",
            f"a name is up to {NAME_LENGTH} lower-case letters, digits and dashes, "
            "e.g. rimborso-tempi",
        )
    if name in taken:
        raise SavedReplyError("name", f"there is already a saved reply called {name}")
    topic = " ".join(draft.topic.split())
    if len(topic) > TOPIC_LENGTH:
        raise SavedReplyError("topic", f"a topic is up to {TOPIC_LENGTH} characters")
    text_it, text_en = draft.text_it.strip(), draft.text_en.strip()
    if not text_it and not text_en:
        raise SavedReplyError("text_it", "write the reply in Italian, in English, or both")
    for field, text in (("text_it", text_it), ("text_en", text_en)):
        if len(text) > TEXT_LENGTH:
            raise SavedReplyError(field, f"a reply is up to {TEXT_LENGTH} characters")
        try:
            placeholders_in(text, REPLY_PLACEHOLDERS)
        except TemplateError as error:
            raise SavedReplyError(field, str(error)) from None
    return SavedReplyDraft(name, topic, text_it, text_en, draft.public)


def fill(reply: SavedReply, language: str, values: ReplyValues) -> str:
    """The reply for one customer, in their language; a placeholder with nothing to put in it
    (no @handle on WhatsApp) leaves no stray space before punctuation."""
    filled = render_template(
        reply.text_in(language),
        {"name": values.name, "agent": values.agent, "handle": values.handle},
        REPLY_PLACEHOLDERS,
    )
    return re.sub(r"[ \t]+([,.;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", filled)).strip()


def matching(replies: Sequence[SavedReply], query: str, *, public: bool) -> list[SavedReply]:
    """Type-ahead: replies whose name, topic or text holds every word typed, names first;
    only those that may be used in public for a public conversation."""
    words = query.lower().split()
    usable = [r for r in replies if r.public or not public]

    def rank(reply: SavedReply) -> tuple[int, str] | None:
        name = f"{reply.name} {reply.topic}".lower()
        everything = f"{name} {reply.text_it} {reply.text_en}".lower()
        if not all(word in everything for word in words):
            return None
        return (0 if all(word in name for word in words) else 1, reply.name)

    ranked = [(key, r) for r in usable if (key := rank(r)) is not None]
    return [reply for _, reply in sorted(ranked, key=lambda item: item[0])]
