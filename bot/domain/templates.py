"""The automatic notices the bot sends to customers, and the templates teams write for them.

Three notices, each in Italian and English (chosen by the language of the customer's message):

* `out_of_hours`: we're closed, these are our hours, an agent will answer {next_open};
* `netiquette`: please keep it respectful, our rules are at {rules_url};
* `csat`: how did we do, from 1 to 5? (the satisfaction survey, privately, after Resolve).

A template is plain text with up to four placeholders, `{name}`, `{hours}`, `{next_open}` and
`{rules_url}`; `{{` and `}}` write literal braces. Nothing else in braces is allowed: no format
specs, no attributes, no positional fields, so a template written in Slack can never reach
into Python objects the way `str.format` could.

Italian defaults address the customer with "tu": it is how brands talk on social networks, and
one register throughout keeps the notices from sounding stitched together. Custom templates
should follow it too.

The names of days and months come from Babel's CLDR data, never from the system `locale`
(which differs between machines and containers: a notice must read the same everywhere); the
grammar around them (Italian elision, "il 1°") is written out here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_month_names

from bot.domain.hours import BusinessHours, Interval, parse_business_hours


class NoticeKind(StrEnum):
    OUT_OF_HOURS = "out_of_hours"
    NETIQUETTE = "netiquette"
    CSAT = "csat"  # the satisfaction survey's question, after Resolve (always private)


LANGUAGES = ("it", "en")
FALLBACK_LANGUAGE = "en"  # the notice for a customer who writes in neither language
PLACEHOLDERS = ("name", "hours", "next_open", "rules_url")

DEFAULTS: Mapping[tuple[NoticeKind, str], str] = {
    (NoticeKind.OUT_OF_HOURS, "it"): (
        "Ciao {name}, grazie per averci scritto! In questo momento siamo chiusi "
        "(i nostri orari: {hours}). Ti risponderemo {next_open}."
    ),
    (NoticeKind.OUT_OF_HOURS, "en"): (
        "Hi {name}, thanks for getting in touch! We're closed right now "
        "(our hours: {hours}). We'll get back to you {next_open}."
    ),
    (NoticeKind.NETIQUETTE, "it"): (
        "Ciao {name}, vogliamo davvero aiutarti: per farlo ti chiediamo di mantenere un tono "
        "rispettoso, con noi e con gli altri. Le nostre regole: {rules_url}"
    ),
    (NoticeKind.NETIQUETTE, "en"): (
        "Hi {name}, we really want to help: to do that, please keep the conversation "
        "respectful, towards us and towards others. Our community rules: {rules_url}"
    ),
    # Answerable in words where the network has no buttons: "a number from 1 to 5".
    (NoticeKind.CSAT, "it"): (
        "Ciao {name}, com'è andata con noi? Dacci un voto da 1 a 5: 5 vuol dire benissimo, "
        "1 male. Se vuoi, aggiungi due parole: le leggiamo tutte."
    ),
    (NoticeKind.CSAT, "en"): (
        "Hi {name}, how did we do, from 1 to 5? Reply with a number: 5 means great, 1 poor. "
        "Add a few words if you like: we read them all."
    ),
}


class TemplateError(ValueError):
    """A template that cannot be saved; the message says what is wrong, for the Slack form."""


def notice_language(code: str | None) -> str:
    """The notice language for a detected language code: `it-IT` -> `it`; unknown -> English."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else FALLBACK_LANGUAGE


# --- templates ---------------------------------------------------------------------------------

_Part = tuple[str, str | None]  # literal text, then the placeholder that follows it (if any)


def _parse(text: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> list[_Part]:
    """Split a template into literal runs and placeholders (those `allowed`); TemplateError on
    bad syntax."""
    parts: list[_Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "{":
            close, reopen = text.find("}", i + 1), text.find("{", i + 1)
            if close == -1 or -1 < reopen < close:
                raise TemplateError(
                    f"unbalanced braces: the '{{' near \"{_near(text, i)}\" is never closed "
                    "(write {{ for a literal brace)"
                )
            field = text[i + 1 : close]
            if field not in allowed:
                raise TemplateError(_unknown(field, allowed))
            parts.append(("".join(literal), field))
            literal = []
            i = close + 1
        elif char == "}":
            raise TemplateError(
                f"unbalanced braces: the '}}' near \"{_near(text, i)}\" has no opening '{{' "
                "(write }} for a literal brace)"
            )
        else:
            literal.append(char)
            i += 1
    parts.append(("".join(literal), None))
    return parts


def _near(text: str, index: int) -> str:
    """A short stretch of the template around `index`, one line, to point at the problem."""
    start, end = max(0, index - 12), index + 13
    snippet = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


def _unknown(field: str, allowed: tuple[str, ...]) -> str:
    names = ", ".join("{" + p + "}" for p in allowed)
    message = f"unknown placeholder {{{field}}}: allowed {names}"
    guess = field.strip().lower()
    if guess in allowed:  # `{Name}`, `{ hours }`: say which one was meant
        message += f" (did you mean {{{guess}}}?)"
    return message


def placeholders_in(text: str, allowed: tuple[str, ...]) -> list[str]:
    """The placeholders `text` uses, in order; TemplateError for bad syntax or one not in
    `allowed` (saved replies have placeholders of their own)."""
    return [field for _, field in _parse(text, allowed) if field is not None]


def render_template(
    text: str, values: Mapping[str, str], allowed: tuple[str, ...] = PLACEHOLDERS
) -> str:
    """Fill the placeholders of `text` with `values`; `{{`/`}}` become literal braces.

    Values go in as they are: braces inside a value are not read as placeholders. Raises
    TemplateError for bad syntax and KeyError when `values` lacks a placeholder the text uses.
    """
    rendered: list[str] = []
    for literal, field in _parse(text, allowed):
        rendered.append(literal)
        if field is not None:
            if field not in values:
                raise KeyError(f"no value for the placeholder {{{field}}}")
            rendered.append(values[field])
    return "".join(rendered)


def validate_template(
    text: str,
    *,
    max_length: int | None = None,
    length: Callable[[str], int] = len,
    network: str = "the network",
) -> None:
    """Raise TemplateError unless `text` is a template we can send.

    It must not be blank, must use only the four placeholders with balanced braces, and, when
    `max_length` is given, must fit in it once filled with the longest realistic values in
    either language (see LONGEST_VALUES). `length` measures the filled text the way `network`
    counts (X weighs links and emoji its own way); `max_length` is the room a public notice has
    there, after the customer's @handle where the network's notices start with one.
    """
    if not text.strip():
        raise TemplateError("the notice is empty: write the text customers should receive")
    if not "".join(literal for literal, _ in _parse(text)).strip(" \t\n,.;:!?"):
        # A placeholder alone may be empty once filled (no name, say): say something too.
        raise TemplateError(
            "the notice has only placeholders: write the words customers should read around them"
        )
    if max_length is None:
        return
    filled = max(length(render_template(text, _as_mapping(v))) for v in LONGEST_VALUES.values())
    if filled > max_length:
        raise TemplateError(
            f"too long: {filled} characters after filling with the longest realistic values, "
            f"a notice on {network} has room for {max_length} after the customer's @handle "
            f"(shorten it by {filled - max_length})"
        )


@dataclass(frozen=True)
class NoticeValues:
    """What fills the placeholders of a notice."""

    name: str  # the customer's display name
    hours: str  # describe_hours(...)
    next_open: str  # describe_next_open(...)
    rules_url: str  # the community rules page


def _as_mapping(values: NoticeValues) -> dict[str, str]:
    return asdict(values)


def notice_text(
    kind: NoticeKind, language: str, values: NoticeValues, override: str | None = None
) -> str:
    """The notice to send: the team's stored template if there is one, else the default.

    A blank override counts as none: sending an empty reply is never what a team meant.
    """
    _check_language(language)
    template = override if override and override.strip() else DEFAULTS[(kind, language)]
    text = render_template(template, _as_mapping(values))
    text = text if values.name else _without_name(text)
    if not text.strip() and template is not DEFAULTS[(kind, language)]:
        return notice_text(kind, language, values)  # a stored text that says nothing here
    return text


def _without_name(text: str) -> str:
    """A notice rendered with no name: "Ciao , grazie" reads "Ciao, grazie"."""
    text = re.sub(r"[ \t]+([,.!?;:])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# --- hours ------------------------------------------------------------------------------------

_ALWAYS = {"it": "sempre", "en": "always"}
_EVERY_DAY = {"it": "tutti i giorni", "en": "every day"}
_NEVER = {"it": "nessuno", "en": "none"}
_AND = {"it": "e", "en": "and"}
_WHOLE_DAY = (Interval(time(0), time.max),)


def describe_hours(hours: BusinessHours, language: str) -> str:
    """Weekly hours as customers read them: `lun-ven 9:00-18:00, sab 9:00-13:00`.

    Consecutive days with the same hours share a range; several intervals in a day read
    `8:00-13:00 e 14:00-20:00`; closed days are left out. Open round the clock every day (or
    no hours configured) is `sempre` / `always`.
    """
    _check_language(language)
    week = [_merged(day) for day in hours.by_weekday]
    if hours.always_open or all(day == _WHOLE_DAY for day in week):
        return _ALWAYS[language]
    names = get_day_names("abbreviated", locale=language)  # Monday is 0, as in weekday()
    groups: list[tuple[int, int, tuple[Interval, ...]]] = []  # first day, last day, intervals
    for day, intervals in enumerate(week):
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == intervals:
            groups[-1] = (groups[-1][0], day, intervals)
        elif intervals:
            groups.append((day, day, intervals))
    if not groups:
        return _NEVER[language]
    described = []
    for first, last, intervals in groups:
        if (first, last) == (0, 6):
            days = _EVERY_DAY[language]
        else:
            days = names[first] if first == last else f"{names[first]}-{names[last]}"
        described.append(f"{days} {_join([_interval(i) for i in intervals], language)}")
    return ", ".join(described)


def _merged(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """Overlapping or touching intervals as one: `9-12; 11-13` was meant as 9-13."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if merged and interval.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, interval.end))
        else:
            merged.append(interval)
    return tuple(merged)


def _interval(interval: Interval) -> str:
    return f"{_clock(interval.start)}-{_clock(interval.end)}"


def _clock(moment: time) -> str:
    """24-hour clock without a leading zero on the hour (9:00); the end of day is 24:00."""
    if moment == time.max:
        return "24:00"
    return f"{moment.hour}:{moment.minute:02d}"


def _join(items: list[str], language: str) -> str:
    """`a`, `a e b`, `a, b e c` (no serial comma in either language, to keep it short)."""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {_AND[language]} {items[-1]}"


# --- next opening -----------------------------------------------------------------------------

WEEKDAY_HORIZON = 6  # up to this many days ahead a weekday name is clear; beyond, a date
YEAR_HORIZON = 365  # from a year ahead "2 January" could mean an earlier one: add the year


def describe_next_open(moment: datetime, now: datetime, zone: ZoneInfo, language: str) -> str:
    """When an agent will answer, relative to `now`, on the local clock of `zone`.

    it: `oggi alle 14:00`, `domani alle 9:00`, `lunedì alle 9:00`, `il 2 gennaio alle 9:00`;
    en: `today at 14:00`, `tomorrow at 9:00`, `on Monday at 9:00`, `on 2 January at 9:00`.
    Days are counted between local dates, so 00:30 to 09:00 the same morning is "today" even
    when UTC says otherwise, and a DST change in between shifts nothing. Both datetimes must be
    aware.
    """
    _check_language(language)
    for value in (moment, now):
        if value.utcoffset() is None:
            raise ValueError(f"{value} has no time zone: the next opening needs aware datetimes")
    local = moment.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    clock = _clock(local.time())
    if language == "it":
        # "alle 9:00", but "all'1:00": l'una, the only hour that starts with a vowel.
        at = f"all'{clock}" if local.hour == 1 else f"alle {clock}"
        if days == 0:
            return f"oggi {at}"
        if days == 1:
            return f"domani {at}"
        if 1 < days <= WEEKDAY_HORIZON:
            return f"{_weekday(local, 'it')} {at}"
        return f"{_italian_date(local, with_year=days >= YEAR_HORIZON)} {at}"
    at = f"at {clock}"
    if days == 0:
        return f"today {at}"
    if days == 1:
        return f"tomorrow {at}"
    if 1 < days <= WEEKDAY_HORIZON:
        return f"on {_weekday(local, 'en')} {at}"
    year = f" {local.year}" if days >= YEAR_HORIZON else ""
    return f"on {local.day} {_month(local, 'en')}{year} {at}"


def _weekday(local: datetime, language: str) -> str:
    return str(get_day_names("wide", locale=language)[local.weekday()])


def _month(local: datetime, language: str) -> str:
    """The month's name as a date says it ("2 January", "2 gennaio"): Babel's format
    context, which in Italian is lower case."""
    return str(get_month_names("wide", context="format", locale=language)[local.month])


def _italian_date(local: datetime, *, with_year: bool) -> str:
    """`il 2 gennaio`, `il 1° maggio`, `l'8 marzo`, `l'11 settembre` (otto, undici: elision)."""
    month = _month(local, "it") + (f" {local.year}" if with_year else "")
    if local.day == 1:
        return f"il 1° {month}"
    if local.day in (8, 11):
        return f"l'{local.day} {month}"
    return f"il {local.day} {month}"


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(
            f"no notices in '{language}': languages are {', '.join(LANGUAGES)} "
            "(notice_language() picks one for any code)"
        )


# --- example and worst-case values ------------------------------------------------------------

# A busy week: the longest hours description a real team is likely to configure.
BUSY_WEEK = "mon-fri 08:00-13:00; mon-fri 14:00-20:00; sat 09:00-13:00; sun 10:00-12:00"
_BUSY_HOURS = parse_business_hours(BUSY_WEEK)
# The longest phrases describe_next_open writes within a year (tests check nothing is longer):
# a two-digit day of the longest month, at a time with two-digit hours.
LONGEST_NEXT_OPEN = {"it": "il 30 settembre alle 10:30", "en": "on 30 September at 10:30"}
LONGEST_VALUES: Mapping[str, NoticeValues] = {
    language: NoticeValues(
        name="Maria Francesca Dell'Acquaviva",  # 30 characters
        hours=describe_hours(_BUSY_HOURS, language),
        next_open=LONGEST_NEXT_OPEN[language],
        rules_url="https://www.example-brand.com/it/assistenza/regole-community",  # 60
    )
    for language in LANGUAGES
}

_EXAMPLE_NEXT_OPEN = {"it": "domani alle 9:00", "en": "tomorrow at 9:00"}
_EXAMPLE_HOURS = parse_business_hours("mon-fri 09:00-18:00; sat 09:00-13:00")


def example_values(
    language: str, *, hours: BusinessHours | None = None, rules_url: str | None = None
) -> NoticeValues:
    """Plausible values for a preview in Slack: the team's hours and rules link when known."""
    _check_language(language)
    return NoticeValues(
        name="Giulia" if language == "it" else "Alex",
        hours=describe_hours(_EXAMPLE_HOURS if hours is None else hours, language),
        next_open=_EXAMPLE_NEXT_OPEN[language],
        rules_url=rules_url or "https://example.com/rules",
    )
