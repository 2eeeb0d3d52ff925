"""How often does the spike detector cry wolf, how fast does it see an outage, how long does a
check take? (bot/domain/spikes.py, issue 16)

Run:  .venv/bin/python bench/spikes.py [--weeks 100] [--volumes 2,4,6,10] [--spans 15,60]
                                        [--chances none,1e-4,1e-5] [--outage 60]

Traffic is generated as the tests do: negative posts arrive as a Poisson process whose rate is
fixed per local quarter hour in Europe/Rome, busiest on weekday office hours (`--volumes`: the
busy quarter hour's mean count), 1/20 of that at night, about half at weekends. For each volume,
each baseline span (`--spans`, minutes: 15 is "the same 15 minutes of earlier weeks", 60 the
shipped centred hour) and each `max_chance` (`--chances`; "none" is None, the ratio and floor
alone), `--weeks` independent weeks, each with its own four weeks of history (fixed seeds: the
same weeks for every setting), are stepped every 5 minutes with otherwise default thresholds
(ratio 3, floor 10). Each week is run twice: as generated (every alert is false), and with an
outage added on Tuesday, `--outage` posts spread evenly over 14:10-15:00.

Columns: false alarms per week (mean) and the share of weeks with at least one; outages found
(alerted between 14:10 and 15:00); minutes from 14:10 to the alert (median, max); minutes from
15:00 to "subsided" (median, max). Then the cost of one check (the windows, five bisections
over sorted timestamps, `assess`) over a week of 2,016 checks. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.spikes import (
    Decision,
    Incident,
    SpikeThresholds,
    assess,
    baseline_windows,
    count_in,
    recent_window,
    usual,
)

ROME = ZoneInfo("Europe/Rome")
STEP = timedelta(minutes=5)
HOUR_SHAPE = (
    *(0.05,) * 7,
    *(0.2, 0.5, 1.0, 1.0, 1.0, 1.0, 0.8),
    *(1.0, 1.0, 1.0, 1.0, 0.85, 0.7, 0.6, 0.6, 0.4, 0.15),
)
WEEKDAY_SHAPE = (1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.5)
WEEK_START = datetime(2026, 11, 9, tzinfo=ROME)  # a Monday; its history crosses a DST change
OUTAGE = (datetime(2026, 11, 10, 14, 10, tzinfo=ROME), datetime(2026, 11, 10, 15, tzinfo=ROME))


def traffic(busy_per_quarter: float, rng: random.Random) -> list[datetime]:
    """Sorted arrival times, UTC, from four weeks and an hour before WEEK_START to a week after."""
    times = []
    slot = (WEEK_START - timedelta(weeks=4, hours=1)).astimezone(UTC)
    end = WEEK_START + timedelta(weeks=1)
    while slot < end:
        local = slot.astimezone(ROME)
        per_second = busy_per_quarter * 4 / 3600 * HOUR_SHAPE[local.hour]
        per_second *= WEEKDAY_SHAPE[local.weekday()]
        at = slot + timedelta(seconds=rng.expovariate(per_second))
        while at < slot + timedelta(minutes=15):
            times.append(at)
            at += timedelta(seconds=rng.expovariate(per_second))
        slot += timedelta(minutes=15)
    return times


def outage(count: int, rng: random.Random) -> list[datetime]:
    seconds = (OUTAGE[1] - OUTAGE[0]).total_seconds()
    return [OUTAGE[0] + timedelta(seconds=rng.uniform(0, seconds)) for _ in range(count)]


def week(times: list[datetime], thresholds: SpikeThresholds) -> list[tuple[Decision, datetime]]:
    """Step the week every 5 minutes; the ALERT and SUBSIDED messages, with their times."""
    state: Incident | None = None
    said: list[tuple[Decision, datetime]] = []
    now = WEEK_START.astimezone(UTC)
    while now < WEEK_START + timedelta(weeks=1):
        counts = [count_in(times, span) for span in baseline_windows(now, ROME, thresholds)]
        recent = count_in(times, recent_window(now, thresholds))
        assessment = assess(now, recent, usual(counts, thresholds), state, thresholds)
        if assessment.decision in (Decision.ALERT, Decision.SUBSIDED):
            said.append((assessment.decision, now))
        state = assessment.state
        now += STEP
    return said


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def measure(volume: float, span: int, chance: float | None, weeks: int, outage_posts: int) -> str:
    thresholds = SpikeThresholds(baseline_span=timedelta(minutes=span), max_chance=chance)
    false_alarms, weeks_with_one, found, delays, tails = 0, 0, 0, [], []
    for number in range(weeks):
        rng = random.Random(f"{volume}/{number}")  # the same weeks for every span
        times = traffic(volume, rng)
        alerts = [at for what, at in week(times, thresholds) if what == Decision.ALERT]
        false_alarms += len(alerts)
        weeks_with_one += bool(alerts)
        said = week(sorted(times + outage(outage_posts, rng)), thresholds)
        in_outage = [at for what, at in said if what == Decision.ALERT and OUTAGE[0] <= at]
        in_outage = [at for at in in_outage if at <= OUTAGE[1]]
        if in_outage:
            found += 1
            delays.append(minutes(in_outage[0] - OUTAGE[0]))
            after = [at for what, at in said if what == Decision.SUBSIDED and at > in_outage[0]]
            tails.append(minutes(after[0] - OUTAGE[1]) if after else float("nan"))
    delay = f"{statistics.median(delays):4.0f} {max(delays):4.0f}" if delays else "   -    -"
    tail = f"{statistics.median(tails):4.0f} {max(tails):4.0f}" if tails else "   -    -"
    return (
        f"{volume:6g} {span:5d} {chance or '-':>6}   {false_alarms / weeks:6.3f}"
        f" {weeks_with_one / weeks:6.1%}   {found:4d}/{weeks:<4d} {delay}   {tail}"
    )


def timing(volume: float) -> str:
    times = traffic(volume, random.Random(0))
    thresholds = SpikeThresholds()
    started = time.perf_counter()
    week(times, thresholds)
    elapsed = time.perf_counter() - started
    checks = int(timedelta(weeks=1) / STEP)
    return (
        f"one week, {checks} checks, {len(times)} posts in five weeks: {elapsed * 1000:.0f} ms"
        f" ({elapsed / checks * 1e6:.0f} µs a check)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=100)
    parser.add_argument("--volumes", default="2,4,6,10")
    parser.add_argument("--spans", default="15,60")
    parser.add_argument("--chances", default="none,1e-4,1e-5")
    parser.add_argument("--outage", type=int, default=60)
    args = parser.parse_args()
    chances = [None if c == "none" else float(c) for c in args.chances.split(",")]
    print("busy   span chance   false/week  weeks>=1   outage found  delay(min)   subsided(min)")
    print("/15min  (min)                                             med  max     med  max")
    for volume in (float(v) for v in args.volumes.split(",")):
        for span in (int(s) for s in args.spans.split(",")):
            for chance in chances:
                print(measure(volume, span, chance, args.weeks, args.outage), flush=True)
        print()
    print(timing(6.0))


if __name__ == "__main__":
    main()
