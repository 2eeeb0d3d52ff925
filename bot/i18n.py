"""The language Carebridge speaks to the team: gettext catalogues, read with Babel.

Every word an agent, lead or manager reads goes through `_()` (or `ngettext`), with English as
the message ids and one catalogue per language in `bot/locale/<lang>/LC_MESSAGES/carebridge.po`.
gettext is the standard for this (translators' tools, plural rules, context); Babel reads and
writes the catalogues and formats dates, numbers and durations from CLDR data, so no locale
needs installing on the machine. The catalogues are read from their text form once per
process: there is no compiled file to forget to rebuild (`scripts/i18n` updates them).

Which language is the one in force is a context variable: whoever renders for someone sets it
(`speaking("it")`): a channel message the team's (TEAM_LANGUAGE), a private message, App Home or
a modal the person's own (`/care language`, else their Slack locale).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal

LANGUAGES = ("en", "it")
DEFAULT = "en"
DOMAIN = "carebridge"
LOCALE_DIR = Path(__file__).parent / "locale"
_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


def language_of(code: str | None) -> str | None:
    """ "it-IT", "it_IT", "IT" -> "it"; None for a language Carebridge does not speak."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Render in `language` (an unknown one: English) within the block."""
    token = _current.set(language_of(language) or DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def _(message: str) -> str:
    return translations(current()).gettext(message)


def N_(message: str) -> str:
    """Marks a message for the catalogues where it is defined (a table at import time);
    `_()` translates it where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


@cache
def translations(language: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


# --- numbers, times and durations, for the language in force --------------------------------------
def number(value: int | float) -> str:
    """1234 -> "1,234" / "1.234"."""
    return format_decimal(value, locale=current())


def compact(value: int) -> str:
    """48200 -> "48.2K" / "48,2K"."""
    return format_compact_decimal(value, format_type="short", fraction_digits=1, locale=current())


def clock(moment: datetime, zone: ZoneInfo) -> str:
    """ "9:00", "14:32" on the local clock."""
    return format_time(moment.astimezone(zone), "H:mm", locale=current())


def relative(delta: timedelta) -> str:
    """ "in 12 minutes" / "tra 12 minuti"; "12 minutes ago" / "12 minuti fa"."""
    return format_timedelta(delta, add_direction=True, threshold=1.0, locale=current())
