"""Notice templates: defaults, validation, rendering, and the hours/next-opening phrases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import BusinessCalendar, BusinessHours, parse_business_hours
from bot.domain.templates import (
    BUSY_WEEK,
    DEFAULTS,
    LANGUAGES,
    LONGEST_NEXT_OPEN,
    LONGEST_VALUES,
    PLACEHOLDERS,
    NoticeKind,
    NoticeValues,
    TemplateError,
    describe_hours,
    describe_next_open,
    example_values,
    notice_language,
    notice_text,
    render_template,
    validate_template,
)
from bot.networks.x import X
from bot.networks.x.text import X_MAX_WEIGHTED_LENGTH, x_weighted_length

ROME = ZoneInfo("Europe/Rome")
ALLOWED = "allowed {name}, {hours}, {next_open}, {rules_url}"
VALUES = NoticeValues(
    name="Giulia",
    hours="lun-ven 9:00-18:00",
    next_open="domani alle 9:00",
    rules_url="https://example.com/regole",
)


def rome(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


# --- defaults -----------------------------------------------------------------------------------


def test_there_is_a_default_for_every_kind_and_language() -> None:
    assert set(DEFAULTS) == {(kind, lang) for kind in NoticeKind for lang in LANGUAGES}


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_defaults_are_valid_and_fit_an_x_reply_with_the_longest_values(
    key: tuple[NoticeKind, str],
) -> None:
    template = DEFAULTS[key]
    on_x(template, length=x_weighted_length)
    # Filled in their own language and measured plainly, links at full length, still fits.
    filled = notice_text(key[0], key[1], LONGEST_VALUES[key[1]])
    assert len(filled) <= X_MAX_WEIGHTED_LENGTH
    assert "{" not in filled and "}" not in filled


def test_the_out_of_hours_defaults_say_when_and_the_netiquette_ones_link_the_rules() -> None:
    for language in LANGUAGES:
        assert "{hours}" in DEFAULTS[(NoticeKind.OUT_OF_HOURS, language)]
        assert "{next_open}" in DEFAULTS[(NoticeKind.OUT_OF_HOURS, language)]
        assert "{rules_url}" in DEFAULTS[(NoticeKind.NETIQUETTE, language)]


def test_italian_defaults_use_tu_throughout() -> None:
    italian = " ".join(DEFAULTS[(kind, "it")] for kind in NoticeKind).lower()
    assert "ti " in italian
    for formal in (" vi ", " voi ", " lei ", " la preghiamo", "vostr"):
        assert formal not in italian


def test_the_longest_values_are_as_long_as_promised() -> None:
    for values in LONGEST_VALUES.values():
        assert len(values.name) == 30
        assert len(values.rules_url) == 60
    assert LONGEST_VALUES["it"].hours == (
        "lun-ven 8:00-13:00 e 14:00-20:00, sab 9:00-13:00, dom 10:00-12:00"
    )
    assert describe_hours(parse_business_hours(BUSY_WEEK), "en") == LONGEST_VALUES["en"].hours


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_next_opening_within_a_year_is_longer_than_the_longest_one(language: str) -> None:
    now = rome(1, 1, 12)
    phrases = {
        describe_next_open(now + timedelta(days=d, hours=h), now, ROME, language)
        for d in range(364)
        for h in (-3, 0, 10)
    }
    assert max(len(phrase) for phrase in phrases) <= len(LONGEST_NEXT_OPEN[language])
    # ...and the longest is a phrase it really writes.
    assert (
        describe_next_open(rome(9, 30, 10, 30), now, ROME, language)
        == (LONGEST_NEXT_OPEN[language])
    )


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the notice is empty: write the text customers should receive"),
        ("  \n ", "the notice is empty: write the text customers should receive"),
        ("Ciao {nome}!", f"unknown placeholder {{nome}}: {ALLOWED}"),
        ("Ciao {}!", f"unknown placeholder {{}}: {ALLOWED}"),
        ("Hi {name!r}", f"unknown placeholder {{name!r}}: {ALLOWED}"),
        ("Hi {name:>40}", f"unknown placeholder {{name:>40}}: {ALLOWED}"),
        ("Hi {name.__class__}", f"unknown placeholder {{name.__class__}}: {ALLOWED}"),
        ("Hi {Name}", f"unknown placeholder {{Name}}: {ALLOWED} (did you mean {{name}}?)"),
        ("Hi { hours }", f"unknown placeholder {{ hours }}: {ALLOWED} (did you mean {{hours}}?)"),
        (
            "Hi {name, see you",
            "unbalanced braces: the '{' near \"Hi {name, see yo…\" is never closed "
            "(write {{ for a literal brace)",
        ),
        (
            "Hi {na{me}",
            "unbalanced braces: the '{' near \"Hi {na{me}\" is never closed "
            "(write {{ for a literal brace)",
        ),
        (
            "Thanks for waiting, we are back} soon",
            "unbalanced braces: the '}' near \"…we are back} soon\" has no opening '{' "
            "(write }} for a literal brace)",
        ),
        (
            "Hi name} :)",
            "unbalanced braces: the '}' near \"Hi name} :)\" has no opening '{' "
            "(write }} for a literal brace)",
        ),
        (
            "Hi {name}}",
            "unbalanced braces: the '}' near \"Hi {name}}\" has no opening '{' "
            "(write }} for a literal brace)",
        ),
    ],
)
def test_validate_template_says_exactly_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as error:
        validate_template(text)
    assert str(error.value) == message


def test_a_template_error_is_a_value_error() -> None:
    assert issubclass(TemplateError, ValueError)


def on_x(text: str, length: Callable[[str], int] = len) -> None:
    """Validate for a public notice on X: 280 less "@" + a 15-character handle + " "."""
    assert X.public_notice_room == 263
    validate_template(text, max_length=X.public_notice_room, length=length, network="X")


def test_too_long_gives_the_length_after_filling_with_the_longest_values() -> None:
    # 280 less "@" + a 15-character handle + " " leaves 263 for the notice itself.
    on_x("{name} " + "x" * 232)  # 30 + 1 + 232 = 263: fits exactly
    # Italian is the longer filling: 30 + 1 + 26 ("il 30 settembre alle 10:30") + 1 + 213.
    template = "{name} {next_open} " + "x" * 213
    with pytest.raises(TemplateError) as error:
        on_x(template)
    assert str(error.value) == (
        "too long: 271 characters after filling with the longest realistic values, "
        "a notice on X has room for 263 after the customer's @handle (shorten it by 8)"
    )


def test_the_length_is_measured_with_the_function_passed_in() -> None:
    # 230 characters plus a 60-character link: too long plainly, fine as X counts it (t.co: 23).
    template = "x" * 230 + " {rules_url}"
    with pytest.raises(TemplateError, match="too long: 291 characters"):
        on_x(template)
    on_x(template, length=x_weighted_length)
    # Emoji weigh two on X.
    with pytest.raises(TemplateError, match="too long: 300 characters"):
        on_x("🙂" * 150, length=x_weighted_length)


def test_no_max_length_checks_only_the_syntax() -> None:
    validate_template("x" * 5000, max_length=None)
    with pytest.raises(TemplateError, match="unknown placeholder"):
        validate_template("{foo}", max_length=None)


def test_a_length_exactly_at_the_limit_is_fine() -> None:
    on_x("x" * 263)
    with pytest.raises(TemplateError, match="too long: 264 characters"):
        on_x("x" * 264)
    validate_template("x" * 100, max_length=100)


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ciao {name}!", "Ciao Giulia!"),
        ("{{name}} is {name}", "{name} is Giulia"),
        ("{{{name}}}", "{Giulia}"),
        ("}} {{ }}", "} { }"),
        ("{name}{name}", "GiuliaGiulia"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_render_template(text: str, expected: str) -> None:
    assert render_template(text, {"name": "Giulia"}) == expected


def test_values_are_inserted_literally_never_read_as_placeholders() -> None:
    assert render_template("Hi {name}", {"name": "{hours} }{"}) == "Hi {hours} }{"


def test_render_refuses_bad_templates_and_missing_values() -> None:
    with pytest.raises(TemplateError, match="unknown placeholder"):
        render_template("{foo}", {"foo": "x"})
    with pytest.raises(KeyError, match="rules_url"):
        render_template("{rules_url}", {"name": "x"})


# --- notice_text --------------------------------------------------------------------------------


def test_notice_text_renders_the_default_without_an_override() -> None:
    assert notice_text(NoticeKind.OUT_OF_HOURS, "it", VALUES) == (
        "Ciao Giulia, grazie per averci scritto! In questo momento siamo chiusi "
        "(i nostri orari: lun-ven 9:00-18:00). Ti risponderemo domani alle 9:00."
    )
    english = notice_text(NoticeKind.NETIQUETTE, "en", VALUES)
    assert english.startswith("Hi Giulia, ")
    assert english.endswith("Our community rules: https://example.com/regole")


def test_notice_text_prefers_the_stored_override() -> None:
    override = "{name}: siamo chiusi, a {next_open}! {{bot}}"
    assert notice_text(NoticeKind.OUT_OF_HOURS, "it", VALUES, override) == (
        "Giulia: siamo chiusi, a domani alle 9:00! {bot}"
    )


@pytest.mark.parametrize("override", [None, "", "   "])
def test_a_blank_override_falls_back_to_the_default(override: str | None) -> None:
    assert notice_text(NoticeKind.NETIQUETTE, "it", VALUES, override) == notice_text(
        NoticeKind.NETIQUETTE, "it", VALUES
    )


def test_notices_exist_only_in_known_languages() -> None:
    with pytest.raises(ValueError, match="no notices in 'de'"):
        notice_text(NoticeKind.NETIQUETTE, "de", VALUES)


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("it", "it"),
        ("IT", "it"),
        ("it-IT", "it"),
        ("it_CH", "it"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("und", "en"),
    ],
)
def test_notice_language(code: str | None, language: str) -> None:
    assert notice_language(code) == language


def test_example_values_for_a_preview() -> None:
    values = example_values("it", hours=parse_business_hours("sat 10:00-12:00"))
    assert values.hours == "sab 10:00-12:00"
    assert values.next_open == "domani alle 9:00"
    assert example_values("en").hours == "Mon-Fri 9:00-18:00, Sat 9:00-13:00"
    assert example_values("en", rules_url="https://b.example/r").rules_url == "https://b.example/r"
    for language in LANGUAGES:
        for kind in NoticeKind:
            assert "{" not in notice_text(kind, language, example_values(language))


# --- describe_hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "it", "en"),
    [
        (
            "mon-fri 09:00-18:00; sat 09:00-13:00",
            "lun-ven 9:00-18:00, sab 9:00-13:00",
            "Mon-Fri 9:00-18:00, Sat 9:00-13:00",
        ),
        (
            "mon-fri 08:00-13:00; mon-fri 14:00-20:00; sat 09:00-13:00; sun 10:00-12:00",
            "lun-ven 8:00-13:00 e 14:00-20:00, sab 9:00-13:00, dom 10:00-12:00",
            "Mon-Fri 8:00-13:00 and 14:00-20:00, Sat 9:00-13:00, Sun 10:00-12:00",
        ),
        (
            "mon 08:00-10:00; mon 11:00-13:00; mon 14:30-16:00",
            "lun 8:00-10:00, 11:00-13:00 e 14:30-16:00",
            "Mon 8:00-10:00, 11:00-13:00 and 14:30-16:00",
        ),
        # Same hours on days that are not consecutive: separate groups, Monday first.
        (
            "mon 09:00-12:00; wed 09:00-12:00; sun 09:00-12:00",
            "lun 9:00-12:00, mer 9:00-12:00, dom 9:00-12:00",
            "Mon 9:00-12:00, Wed 9:00-12:00, Sun 9:00-12:00",
        ),
        # Overlapping rules read as the stretch they cover.
        ("tue 09:00-12:00; tue 11:00-13:30", "mar 9:00-13:30", "Tue 9:00-13:30"),
        ("mon-sun 09:00-21:00", "tutti i giorni 9:00-21:00", "every day 9:00-21:00"),
        ("sat-sun 00:00-24:00", "sab-dom 0:00-24:00", "Sat-Sun 0:00-24:00"),
        ("mon-sun 00:00-24:00", "sempre", "always"),
        ("", "sempre", "always"),
    ],
)
def test_describe_hours(hours: str, it: str, en: str) -> None:
    parsed = parse_business_hours(hours)
    assert describe_hours(parsed, "it") == it
    assert describe_hours(parsed, "en") == en


def test_describe_hours_of_a_week_with_no_open_day() -> None:
    closed = BusinessHours(tuple(() for _ in range(7)))
    assert describe_hours(closed, "it") == "nessuno"
    assert describe_hours(closed, "en") == "none"


# --- describe_next_open -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "moment", "it", "en"),
    [
        # 2026-01-09 is a Friday.
        (rome(1, 9, 12, 5), rome(1, 9, 14), "oggi alle 14:00", "today at 14:00"),
        (rome(1, 9, 18, 30), rome(1, 10, 9), "domani alle 9:00", "tomorrow at 9:00"),
        (rome(1, 9, 18, 30), rome(1, 12, 9), "lunedì alle 9:00", "on Monday at 9:00"),
        (rome(1, 9, 18, 30), rome(1, 15, 8, 30), "giovedì alle 8:30", "on Thursday at 8:30"),
        # Six days ahead is still a weekday name; seven is a date (same weekday as today).
        (rome(1, 9, 18), rome(1, 15, 9), "giovedì alle 9:00", "on Thursday at 9:00"),
        (rome(1, 9, 18), rome(1, 16, 9), "il 16 gennaio alle 9:00", "on 16 January at 9:00"),
        (
            rome(12, 23, 18),
            rome(1, 2, 9, year=2027),
            "il 2 gennaio alle 9:00",
            "on 2 January at 9:00",
        ),
        # Italian elision and the ordinal first of the month.
        (rome(4, 20, 18), rome(5, 1, 9), "il 1° maggio alle 9:00", "on 1 May at 9:00"),
        (rome(2, 27, 18), rome(3, 8, 9), "l'8 marzo alle 9:00", "on 8 March at 9:00"),
        (rome(9, 1, 18), rome(9, 11, 10), "l'11 settembre alle 10:00", "on 11 September at 10:00"),
        (rome(1, 9, 0, 10), rome(1, 9, 1), "oggi all'1:00", "today at 1:00"),
        (rome(1, 9, 23, 10), rome(1, 10, 0), "domani alle 0:00", "tomorrow at 0:00"),
        # A year or more ahead, the year tells which 2 January.
        (
            rome(1, 2, 18),
            rome(1, 2, 9, year=2027),
            "il 2 gennaio 2027 alle 9:00",
            "on 2 January 2027 at 9:00",
        ),
        (
            rome(1, 3, 18),
            rome(1, 2, 9, year=2027),
            "il 2 gennaio alle 9:00",
            "on 2 January at 9:00",
        ),
    ],
)
def test_describe_next_open(now: datetime, moment: datetime, it: str, en: str) -> None:
    assert describe_next_open(moment, now, ROME, "it") == it
    assert describe_next_open(moment, now, ROME, "en") == en


def test_days_are_counted_on_the_local_calendar_not_in_utc() -> None:
    # 00:30 in Rome is still yesterday in UTC: the opening at 9:00 is today for the customer.
    now = rome(1, 10, 0, 30)
    assert now.astimezone(UTC).day == 9
    assert describe_next_open(rome(1, 10, 9), now, ROME, "it") == "oggi alle 9:00"
    # 23:30 in Rome is 22:30 UTC; 9:00 Rome the next day is "domani" both ways.
    assert describe_next_open(rome(1, 11, 9), rome(1, 10, 23, 30), ROME, "en") == (
        "tomorrow at 9:00"
    )


def test_any_zone_in_any_zone_out() -> None:
    now = rome(1, 10, 0, 30).astimezone(UTC)
    opening = rome(1, 10, 9).astimezone(ZoneInfo("America/New_York"))
    assert describe_next_open(opening, now, ROME, "it") == "oggi alle 9:00"
    # The same instants on New York's clock: 18:30 and 3:00 the day after.
    assert describe_next_open(opening, now, ZoneInfo("America/New_York"), "en") == (
        "tomorrow at 3:00"
    )


def test_across_the_spring_dst_change() -> None:
    # Saturday 28 March 2026, 22:00; clocks go forward on Sunday the 29th; we open Monday.
    calendar = BusinessCalendar(parse_business_hours("mon-fri 09:00-18:00"), ROME)
    now = rome(3, 28, 22)
    opening = calendar.next_open(now)
    assert opening is not None
    assert describe_next_open(opening, now, ROME, "it") == "lunedì alle 9:00"
    assert describe_next_open(opening, now, ROME, "en") == "on Monday at 9:00"


def test_across_the_autumn_dst_change() -> None:
    # Saturday 24 October 2026, 23:30; the 25th lasts 25 hours; 9:00 on Monday stays 9:00.
    calendar = BusinessCalendar(parse_business_hours("mon-fri 09:00-18:00"), ROME)
    now = rome(10, 24, 23, 30)
    opening = calendar.next_open(now)
    assert opening is not None
    assert describe_next_open(opening, now, ROME, "it") == "lunedì alle 9:00"


def test_naive_datetimes_and_unknown_languages_are_refused() -> None:
    naive = datetime(2026, 1, 9, 9)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="no time zone"):
        describe_next_open(naive, rome(1, 9), ROME, "it")
    with pytest.raises(ValueError, match="no time zone"):
        describe_next_open(rome(1, 9), naive, ROME, "it")
    with pytest.raises(ValueError, match="no notices in 'fr'"):
        describe_next_open(rome(1, 9), rome(1, 9), ROME, "fr")
    with pytest.raises(ValueError, match="no notices in 'fr'"):
        describe_hours(BusinessHours(), "fr")


def test_placeholders_are_the_fields_of_notice_values() -> None:
    assert tuple(NoticeValues.__dataclass_fields__) == PLACEHOLDERS


def test_a_template_must_say_something_besides_its_placeholders() -> None:
    for text in ("{name}", "{name}, {hours}", "  {rules_url} . "):
        with pytest.raises(TemplateError, match="only placeholders"):
            validate_template(text)
    validate_template("Hi {name}")


def test_a_stored_template_that_renders_empty_falls_back_to_the_default() -> None:
    values = NoticeValues(name="", hours="", next_open="", rules_url="")
    text = notice_text(NoticeKind.OUT_OF_HOURS, "en", values, "{name}")
    assert text.startswith("Hi, thanks for getting in touch!")
