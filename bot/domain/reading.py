"""What a customer's words say: their language, their mood and whether they are abusive.

Pure functions of the text, together a third of what storing a message costs: read before the
write transaction that stores the message, so SQLite's writer lock is not held meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.identifiers import Identifier, find_identifiers
from bot.domain.language import guess_language
from bot.domain.netiquette import Assessment, assess
from bot.domain.sentiment import sentiment


@dataclass(frozen=True, slots=True)
class Reading:
    language: str  # "it" or "en"
    sentiment: float  # from -1 (angry) to 1 (delighted)
    netiquette: Assessment  # both languages' word lists: a guessed language can be wrong
    identifiers: tuple[Identifier, ...] = ()  # phone numbers, e-mails, order numbers

    @classmethod
    def of(cls, text: str) -> Reading:
        return cls(
            guess_language(text), sentiment(text).score, assess(text), find_identifiers(text)
        )
