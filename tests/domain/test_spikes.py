"""Spike alerts: one alert per incident, one "subsided", silence otherwise, on generated weeks."""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from bot.domain.spike_alert import NegativePost, SpikeAlert, describe_spike, top_words
from bot.domain.spikes import (
    Assessment,
    Decision,
    Incident,
    SpikeThresholds,
    alert_line,
    assess,
    baseline_windows,
    count_in,
    recent_window,
    usual,
)

ROME = ZoneInfo("Europe/Rome")
STEP = timedelta(minutes=5)
DEFAULT = SpikeThresholds()


def rome(day: str, clock: str = "00:00") -> datetime:
    """A local time in Rome: rome("2026-11-10", "14:10")."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ROME)


# --- Generated traffic ---------------------------------------------------------------------------
# Negative posts a small Italian brand gets: nearly none at night, about 6 per quarter hour at
# the busiest hours on weekdays (the "usually 6"), fewer at weekends. A Poisson process,
# rate fixed per local quarter hour.

BUSY_PER_HOUR = 24.0
HOUR_SHAPE = (
    *(0.05,) * 7,  # 00-06
    *(0.2, 0.5, 1.0, 1.0, 1.0, 1.0, 0.8),  # 07-13
    *(1.0, 1.0, 1.0, 1.0, 0.85, 0.7, 0.6, 0.6, 0.4, 0.15),  # 14-23
)
WEEKDAY_SHAPE = (1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.5)  # Monday first

COMPLAINTS = (
    "il pacco non è ancora arrivato, sono {n} giorni che aspetto",
    "ennesimo addebito sbagliato in bolletta, vergogna",
    "servizio clienti pessimo, nessuno risponde mai",
    "rimborso mai arrivato dopo il reso di {n} settimane fa",
    "il corriere ha lasciato il pacco sotto la pioggia",
    "la fibra va a singhiozzo da ieri sera",
    "negozio di via Roma chiuso in orario di apertura",
    "operatore scortese al telefono, che figura",
    "ordine cancellato senza avvisare, assurdo",
    "prodotto arrivato rotto e nessuna risposta",
    "l'app mostra un tracking sbagliato da {n} giorni",
    "still waiting for my refund, {n} weeks now",
    "worst customer service ever, nobody answers",
    "parcel delivered to the wrong address again",
    "charged twice this month, sort it out",
    "the courier never showed up, wasted my whole day",
    "store staff were rude to my mum today",
    "order cancelled without any notice",
    "broadband keeps dropping every evening",
)
OUTAGE_TEXTS = (
    "l'app non funziona, impossibile fare login",
    "app down? can't login since lunch",
    "non riesco a fare il login dall'app 😡",
    "is the app down? login keeps failing",
    "app in crash, il login non funziona",
    "login impossibile sull'app, errore {n}",
    "the app is down again, login broken",
    "app ko, il login non va. non funziona niente",
)


def _post(at: datetime, text: str, rng: random.Random, verified_share: float) -> NegativePost:
    handle = f"u{rng.randrange(10**6)}"
    text = text.format(n=rng.randint(2, 9))
    if rng.random() < 0.4:
        text = f"@Zefiro_IT {text}"
    if rng.random() < 0.2:
        text += f" https://t.co/{rng.randrange(10**6)}"
    return NegativePost(
        at=at,
        text=text,
        verified=rng.random() < verified_share,
        url=f"https://x.com/{handle}/status/{rng.randrange(10**12)}",
        network=rng.choice(("x", "x", "facebook", "instagram")),
        followers=rng.randrange(50, 5000),
    )


def busy_week_rate(local: datetime) -> float:
    return BUSY_PER_HOUR * HOUR_SHAPE[local.hour] * WEEKDAY_SHAPE[local.weekday()]


def evening_match_rate(local: datetime) -> float:
    """A streaming brand: the usual day, plus 48 complaints an hour during the match that
    starts at 21:00 local every evening (21:00-21:45): sharp edges at a local time."""
    match = 48.0 if local.hour == 21 and local.minute < 45 else 0.0
    return busy_week_rate(local) + match


def background(
    start: datetime, end: datetime, seed: int, rate: Callable[[datetime], float]
) -> list[NegativePost]:
    rng = random.Random(seed)
    posts = []
    quarter = timedelta(minutes=15)
    slot = start.astimezone(UTC)
    while slot < end:
        per_second = rate(slot.astimezone(ROME)) / 3600
        at = slot + timedelta(seconds=rng.expovariate(per_second)) if per_second else end
        while at < min(slot + quarter, end):
            posts.append(_post(at, rng.choice(COMPLAINTS), rng, verified_share=0.02))
            at += timedelta(seconds=rng.expovariate(per_second))
        slot += quarter
    return posts


def burst(start: datetime, end: datetime, count: int, seed: int) -> list[NegativePost]:
    """`count` posts about one problem, spread evenly at random over [start, end)."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    return [
        _post(start + timedelta(seconds=rng.uniform(0, span)), rng.choice(OUTAGE_TEXTS), rng, 0.05)
        for _ in range(count)
    ]


# --- Stepping the detector, as the scheduler will ----------------------------------------------


@dataclass(frozen=True)
class Step:
    at: datetime
    recent: int
    usual: float
    assessment: Assessment
    alert: SpikeAlert | None  # built on ALERT only


def run(
    posts: Sequence[NegativePost],
    start: datetime,
    end: datetime,
    thresholds: SpikeThresholds = DEFAULT,
    zone: tzinfo = ROME,
) -> list[Step]:
    """Check every 5 minutes from start to end, keeping the state between checks."""
    posts = sorted(posts, key=lambda p: p.at)
    times = [p.at for p in posts]
    state: Incident | None = None
    steps = []
    now = start.astimezone(UTC)
    while now < end:
        window = recent_window(now, thresholds)
        counts = [count_in(times, span) for span in baseline_windows(now, zone, thresholds)]
        usual_now = usual(counts, thresholds)
        recent = count_in(times, window)
        assessment = assess(now, recent, usual_now, state, thresholds)
        alert = None
        if assessment.decision == Decision.ALERT:
            first, last = bisect_left(times, window.start), bisect_left(times, window.end)
            alert = describe_spike(posts[first:last], usual_now, thresholds)
        steps.append(Step(now, recent, usual_now, assessment, alert))
        state = assessment.state
        now += STEP
    return steps


def messages(steps: Sequence[Step]) -> list[tuple[Decision, datetime]]:
    """What the channel would get: ALERT and SUBSIDED, with their local times."""
    return [
        (s.assessment.decision, s.at.astimezone(ROME))
        for s in steps
        if s.assessment.decision in (Decision.ALERT, Decision.SUBSIDED)
    ]


# The week under test, Monday to Monday, with four weeks of history before it (and the hour
# before those, which the first baseline spans reach into).
WEEK_START, WEEK_END = rome("2026-11-09"), rome("2026-11-16")
HISTORY_START = WEEK_START - timedelta(weeks=4, hours=1)
OUTAGE_START, OUTAGE_END = rome("2026-11-10", "14:10"), rome("2026-11-10", "15:00")
OUTAGE_POSTS = 80  # 24 a quarter hour on top of a usual 6: 5x
# Two weeks earlier, the same Tuesday afternoon had an incident of its own: the median must
# not let it raise this week's bar.
EARLIER_OUTAGE = (rome("2026-10-27", "14:00"), rome("2026-10-27", "15:00"))


@cache
def busy_month() -> tuple[NegativePost, ...]:
    posts = background(HISTORY_START, WEEK_END, seed=16, rate=busy_week_rate)
    return (*posts, *burst(*EARLIER_OUTAGE, count=70, seed=1))


@cache
def week_with_outage() -> tuple[NegativePost, ...]:
    return (*busy_month(), *burst(OUTAGE_START, OUTAGE_END, count=OUTAGE_POSTS, seed=2))


@cache
def outage_week_steps() -> tuple[Step, ...]:
    return tuple(run(week_with_outage(), WEEK_START, WEEK_END))


def test_a_week_with_one_outage_gets_one_alert_and_one_all_clear() -> None:
    steps = outage_week_steps()

    (alert, alerted_at), (subsided, subsided_at) = messages(steps)
    assert (alert, subsided) == (Decision.ALERT, Decision.SUBSIDED)
    assert OUTAGE_START < alerted_at <= OUTAGE_START + timedelta(minutes=15)
    assert OUTAGE_END < subsided_at <= OUTAGE_END + timedelta(minutes=45)
    # Between the two, the incident is ONGOING at every check: no repeat, no flapping.
    during = [s.assessment.decision for s in steps if alerted_at < s.at < subsided_at]
    assert set(during) == {Decision.ONGOING}
    ended = next(s.assessment.incident for s in steps if s.at == subsided_at)
    assert ended is not None and ended.started_at == alerted_at
    assert ended.peak >= 20 and OUTAGE_START < ended.peak_at < OUTAGE_END


def test_the_alert_says_how_many_how_usual_which_words_and_who() -> None:
    step = next(s for s in outage_week_steps() if s.alert is not None)
    alert = step.alert
    assert alert is not None

    assert alert.count == step.recent >= alert_line(step.usual)
    assert abs(alert.usual - step.usual) <= 0.5 and 3 <= alert.usual <= 8  # a busy Tuesday
    assert alert.top_words == ("app", "login", "funziona")  # not "fare" ("fare il login")
    in_window = [p for p in week_with_outage() if step.at - DEFAULT.window <= p.at < step.at]
    assert alert.verified == sum(p.verified for p in in_window)
    verified_urls = {p.url for p in in_window if p.verified}
    assert len(alert.examples) == 3
    assert set(alert.examples[: len(verified_urls)]) <= verified_urls  # verified ones first
    assert sum(n for _, n in alert.networks) == alert.count


def test_busy_hours_and_tiny_night_counts_raise_nothing() -> None:
    """The whole month without this week's outage: quiet every night and every busy hour."""
    steps = run(busy_month(), WEEK_START, WEEK_END)
    assert messages(steps) == []
    nights = [s for s in steps if s.at.astimezone(ROME).hour < 6]
    assert max(s.usual for s in nights) < 1 and any(s.recent >= 2 for s in nights)
    assert max(s.recent for s in steps) >= 9  # busy quarter hours happened, still no alert


def test_the_floor_keeps_small_numbers_quiet() -> None:
    night = rome("2026-11-11", "03:00")
    assert assess(night, 2, 0.0, None).decision == Decision.NOTHING
    assert assess(night, 9, 0.5, None).decision == Decision.NOTHING
    assert assess(night, 10, 0.5, None).decision == Decision.ALERT


def test_the_line_is_3x_the_usual_and_no_less_than_chance_allows() -> None:
    ratio_and_floor = SpikeThresholds(max_chance=None)
    assert [alert_line(u, ratio_and_floor) for u in (0, 2, 6, 10)] == [10, 10, 18, 30]
    # Ordinary traffic with a usual of 4 reaches 12 about once in 1,100 quarter hours, and
    # 16 once in 200,000: the line asks for the latter. From a usual of ~9, 3x is the stricter.
    assert [alert_line(u) for u in (0, 2, 4, 6, 10)] == [10, 11, 16, 20, 30]
    assert alert_line(800) == 2400


def test_thresholds_come_from_the_settings() -> None:
    """A medium spike (Thursday 11:00, 18 posts in 10 minutes, about 4x the usual 6) alerts
    at the default 3x, not at 5x, nor with a floor of 40."""
    medium = burst(rome("2026-11-12", "11:00"), rome("2026-11-12", "11:10"), count=18, seed=3)
    posts = (*busy_month(), *medium)
    morning = rome("2026-11-12", "09:00"), rome("2026-11-12", "13:00")

    assert [m for m, _ in messages(run(posts, *morning))] == [Decision.ALERT, Decision.SUBSIDED]
    assert messages(run(posts, *morning, SpikeThresholds(ratio=5))) == []
    assert messages(run(posts, *morning, SpikeThresholds(floor=40))) == []
    now = rome("2026-11-12", "11:15")
    assert assess(now, 24, 6.0, None).decision == Decision.ALERT
    assert assess(now, 24, 6.0, None, SpikeThresholds(ratio=5)).decision == Decision.NOTHING


@pytest.mark.parametrize(
    ("start", "change", "end"),
    [
        # Clocks back on Sunday 25 October at 03:00, and forward on Sunday 29 March at 02:00.
        (rome("2026-10-21"), rome("2026-10-25", "03:00"), rome("2026-10-28")),
        (rome("2026-03-25"), rome("2026-03-29", "03:00"), rome("2026-04-01")),
    ],
)
def test_a_week_with_a_dst_change_compares_local_times(
    start: datetime, change: datetime, end: datetime
) -> None:
    """Every evening at 21:00 local the match brings complaints. Compared with earlier weeks at
    the same local time that is usual. Stepped back 168 hours instead (the UTC zone), the days
    after the change meet the wrong hour of earlier weeks, and the match (or, in spring, the
    9:00 rush) looks like an incident."""
    posts = background(start - timedelta(weeks=4, hours=1), end, seed=25, rate=evening_match_rate)

    assert messages(run(posts, start, end)) == []
    false_alarms = messages(run(posts, start, end, zone=UTC))
    assert len(false_alarms) >= 4 and all(at > change for _, at in false_alarms)


def test_baseline_windows_keep_the_local_weekday_and_time() -> None:
    # Tuesday 3 November, 14:00 CET; four weeks back crosses the change of 25 October.
    now = rome("2026-11-03", "14:07:30")
    spans = baseline_windows(now, ROME)
    middles = [(s.start + (s.end - s.start) / 2).astimezone(ROME) for s in spans]
    assert [m.strftime("%a %d %H:%M") for m in middles] == [
        "Tue 27 14:00",
        "Tue 20 14:00",
        "Tue 13 14:00",
        "Tue 06 14:00",
    ]
    assert all(s.end - s.start == timedelta(hours=1) for s in spans)
    assert spans[0].end - spans[1].end == timedelta(weeks=1, hours=1)  # the hour given back


def test_baseline_windows_survive_the_missing_hour() -> None:
    # Sunday 5 April, 02:30 CEST: a week before, 02:30 did not exist (02:00 became 03:00).
    spans = baseline_windows(rome("2026-04-05", "02:37:30"), ROME)
    assert [s.end - s.start for s in spans] == [timedelta(hours=1)] * 4
    assert spans == sorted(spans, reverse=True)
    assert spans[0].start.astimezone(ROME).strftime("%a %d %H:%M") in (
        "Sun 29 02:00",
        "Sun 29 03:00",
    )


def test_weeks_before_the_data_began_are_not_counted_as_quiet() -> None:
    now = rome("2026-11-10", "14:15")
    spans = baseline_windows(now, ROME, data_since=now - timedelta(days=15))
    assert len(spans) == 2
    assert usual([]) == 0.0
    assert usual([20, 28, 24, 90]) == 26 / 4  # the median hour, scaled to 15 minutes
    assert usual([5, 7], SpikeThresholds(baseline_span=timedelta(minutes=15))) == 6


def test_hysteresis_one_incident_while_the_count_hovers() -> None:
    """Usual 1: the alert line is the floor, 10; calm is below 5.5 (half way back to the
    usual), at every check for 10 minutes."""
    start = rome("2026-11-10", "10:00")
    counts = [12, 9, 14, 6, 4, 11, 3, 4, 2, 0, 12]
    state: Incident | None = None
    decisions = []
    for minutes, count in zip(range(0, 300, 5), counts, strict=False):
        assessment = assess(start + timedelta(minutes=minutes), count, 1.0, state)
        decisions.append(assessment.decision)
        state = assessment.state
    # 4 at 10:20 began a calm that 11 at 10:25 broke; 3 at 10:30 began the one that lasted.
    assert decisions == [
        Decision.ALERT,
        *[Decision.ONGOING] * 7,
        Decision.SUBSIDED,
        Decision.NOTHING,
        Decision.ALERT,
    ]


def test_the_incident_keeps_its_peak_and_start() -> None:
    start = rome("2026-11-10", "10:00")
    first = assess(start, 15, 3.0, None)
    second = assess(start + STEP, 31, 3.0, first.state)
    third = assess(start + 2 * STEP, 20, 3.0, second.state)
    assert third.state == Incident(start, 3.0, 31, start + STEP, None)


def test_describe_spike_counts_words_not_handles_links_or_brand() -> None:
    at = rome("2026-11-10", "14:20")
    texts = [
        "@Zefiro_IT l'app Zefiro non funziona https://t.co/app123",
        "Zefiro app: pagamenti fermi",
        "app app, non funziona, non pago. vergogna vergogna vergogna",  # one vote per post
        "payments failing on the Zefiro app",
        "#zefiro i pagamenti non vanno",
    ]
    posts = [
        NegativePost(at + timedelta(seconds=i), text, False, f"https://x/{i}", "x")
        for i, text in enumerate(texts)
    ]
    # "pago" and "pagamenti" are one stem, shown as its most used form.
    assert top_words(posts, ignored_words=["Zefiro"]) == ("app", "pagamenti", "funziona")
    assert top_words(posts)[0] in ("zefiro", "app")


def test_examples_prefer_verified_then_followers_then_latest() -> None:
    at = rome("2026-11-10", "14:20")

    def post(minute: int, verified: bool, followers: int | None, url: str) -> NegativePost:
        return NegativePost(
            at + timedelta(minutes=minute), "app down", verified, url, "x", followers
        )

    posts = [
        post(0, False, None, "old"),
        post(1, False, 90_000, "famous"),
        post(2, True, 10, "verified"),
        post(3, False, None, "latest"),
        post(4, False, None, ""),  # no link to show
    ]
    alert = describe_spike(posts, 2.5)
    assert alert.examples == ("verified", "famous", "latest")
    assert (alert.count, alert.usual, alert.verified) == (5, 3, 1)
    assert alert.window == timedelta(minutes=15) and alert.networks == (("x", 5),)


def test_counting_windows_is_half_open() -> None:
    at = rome("2026-11-10", "14:00").astimezone(UTC)
    times = [at - timedelta(minutes=15), at - timedelta(minutes=1), at]
    assert count_in(times, recent_window(at)) == 2


def test_naive_times_and_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        assess(datetime(2026, 11, 10, 14), 3, 1.0, None)  # noqa: DTZ001
    with pytest.raises(ValueError):
        baseline_windows(datetime(2026, 11, 10, 14), ROME)  # noqa: DTZ001
    for bad in ({"ratio": 1.0}, {"floor": 0}, {"weeks": 0}, {"subside_fraction": 1.0}):
        with pytest.raises(ValueError):
            SpikeThresholds(**bad)  # type: ignore[arg-type]
