"""KPIs from stored conversations: `/care stats`, `carebridge stats`, and the weekly digest.

Figures are per support channel or per brand account when asked (`/care stats 7d acme-care`);
typed in one of several support channels, `/care stats` shows that channel's conversations.
The satisfaction figures (bot/domain/csat_kpis.py) follow the same scope, over the surveys
asked in the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from bot.domain.answers import (
    CommandError,
    CsatStats,
    SavedReplyStats,
    SavedReplyUse,
    StatsReport,
    TopicFigures,
    TopicStats,
)
from bot.domain.csat_kpis import CsatReport, csat_report
from bot.domain.kpis import DailyPoint, KpiReport, kpi_report
from bot.domain.kpis import daily_series as daily
from bot.domain.periods import parse_since
from bot.domain.teams import TeamStats
from bot.services.context import Context
from bot.services.listening import reads_this_month
from bot.services.service_hours import ServiceHours
from storage import csat_queries, kpi_queries, reply_queries, team_queries, topic_queries
from storage.kpi_queries import Scope

log = structlog.get_logger(__name__)
GROWTH_FLOOR = 3  # conversations more than the period before, to call a topic growing
WROTE_AGAIN_WITHIN = timedelta(hours=24)  # a customer writing again this soon was not settled
__all__ = ["Scope", "Stats"]


class Stats:
    def __init__(self, context: Context, hours: ServiceHours) -> None:
        self.context = context
        self.hours = hours  # business-time figures use each account's hours and the holidays

    @property
    def zone(self) -> ZoneInfo:
        return self.hours.default.zone

    def report(
        self, since: datetime, until: datetime | None = None, scope: Scope | None = None
    ) -> KpiReport:
        now = self.context.clock.now()
        until = until or now
        with self.context.database.reading() as session:

            def business_wait(account: str | None, opened: datetime, answered: datetime) -> float:
                calendar = self.hours.calendar(session, account)
                return calendar.between(opened, answered).total_seconds()

            samples = kpi_queries.samples(
                session, scope or Scope(), since, until, now, business_wait
            )
        return kpi_report(samples, since, until)

    def csat(
        self, since: datetime, until: datetime | None = None, scope: Scope | None = None
    ) -> CsatReport:
        """The satisfaction figures of the surveys asked in `[since, until)`, in `scope`."""
        until = until or self.context.clock.now()
        with self.context.database.reading() as session:
            cells = csat_queries.survey_counts(session, scope or Scope(), since, until)
        # Two accounts of one network are one line: the network is what the team compares.
        labelled = [replace(c, network=self.context.label(c.network)) for c in cells]
        return csat_report(labelled, since, until)

    def daily_series(
        self, since: datetime, until: datetime, scope: Scope | None = None
    ) -> list[DailyPoint]:
        with self.context.database.reading() as session:
            openings = kpi_queries.openings(session, scope or Scope(), since, until)
        return daily(openings, since, until, self.zone)

    def command(
        self, text: str, channel: str | None = None
    ) -> StatsReport | CsatStats | SavedReplyStats | TopicStats | TeamStats | CommandError:
        """`/care stats [today|7d|30d] [account|all]`: the figures, privately;
        `/care stats replies [period]`: the saved replies used; `/care stats topics [period]`:
        per topic; `/care stats csat [period] [account|all]`: satisfaction, in full."""
        words = text.split()
        if words and words[0].lower() == "replies":
            return self.saved_replies(words[1] if len(words) > 1 else "30d")
        if words and words[0].lower() == "teams":
            return self.teams(words[1] if len(words) > 1 else "30d")
        if words and words[0].lower() == "topics":
            return self.topics(words[1] if len(words) > 1 else "30d")
        if words and words[0].lower() == "csat":
            return self.csat_command(words[1:], channel)
        asked = self._period_and_scope(words, channel, "7d")
        if isinstance(asked, CommandError):
            return asked
        period, since, scope = asked
        report = self.report(since, scope=scope)
        reads = reads_this_month(self.context)
        csat = self.csat(since, scope=scope)
        teams = self.teams(period) if scope == Scope() else None
        forwarded = teams if isinstance(teams, TeamStats) and teams.forwarded else None
        return StatsReport(
            report, period, scope.account, scope.channel, reads, csat, teams=forwarded
        )

    def csat_command(self, words: Sequence[str], channel: str | None) -> CsatStats | CommandError:
        """`/care stats csat [period] [account|all]`: 30 days unless told, as the other
        breakdowns (answers are few: a week per agent is often one or two)."""
        asked = self._period_and_scope(words, channel, "30d")
        if isinstance(asked, CommandError):
            return asked
        period, since, scope = asked
        return CsatStats(self.csat(since, scope=scope), period, scope.account, scope.channel)

    def _period_and_scope(
        self, words: Sequence[str], channel: str | None, default: str
    ) -> tuple[str, datetime, Scope] | CommandError:
        """`[period] [account|all]` as typed, or what is wrong with it."""
        period = words[0] if words else default
        since = self._since(period, self.context.clock.now())
        if isinstance(since, CommandError):
            return since
        scope = self.scope(words[1] if len(words) > 1 else None, channel)
        if isinstance(scope, CommandError):
            return scope
        return period, since, scope

    def saved_replies(self, period: str) -> SavedReplyStats | CommandError:
        now = self.context.clock.now()
        since = self._since(period, now)
        if isinstance(since, CommandError):
            return since
        with self.context.database.reading() as session:
            found = reply_queries.saved_reply_uses(session, since, now, WROTE_AGAIN_WITHIN)
            answers = reply_queries.answers_sent(session, since, now)
        uses = [
            SavedReplyUse(r.name, r.by.total(), tuple(r.by.most_common()), r.wrote_again)
            for r in found
        ]
        uses.sort(key=lambda use: (-use.uses, use.name))
        return SavedReplyStats(period, tuple(uses), answers)

    def topics(self, period: str) -> TopicStats | CommandError:
        now = self.context.clock.now()
        since = self._since(period, now)
        if isinstance(since, CommandError):
            return since
        return TopicStats(period, *self.topic_figures(since, now))

    def teams(self, period: str) -> TeamStats | CommandError:
        """`/care stats teams`: forwarded share and time with each specialist team."""
        now = self.context.clock.now()
        since = self._since(period, now)
        if isinstance(since, CommandError):
            return since
        with self.context.database.reading() as session:
            opened, forwarded, figures = team_queries.team_figures(session, since, now, now)
        return TeamStats(period, opened, forwarded, figures)

    def _since(self, period: str, now: datetime) -> datetime | CommandError:
        """The start of a period typed in `/care stats`, or what is wrong with it."""
        try:
            return parse_since(period, now, self.zone)
        except ValueError as error:
            return CommandError(str(error), usage="stats")

    def topic_figures(
        self, since: datetime, until: datetime
    ) -> tuple[tuple[TopicFigures, ...], str | None]:
        """Per topic, this period against the one before it; and the fastest-growing topic
        (at least 3 more conversations, so that 1 -> 2 is no trend)."""
        before = since - (until - since)
        with self.context.database.reading() as session:
            now_counts = topic_queries.topic_counts(session, since, until)
            then = {c.topic: c.opened for c in topic_queries.topic_counts(session, before, since)}
        figures = tuple(
            sorted(
                (
                    TopicFigures(
                        c.topic,
                        c.opened,
                        then.get(c.topic, 0),
                        c.answered_in_time / c.answered if c.answered else None,
                        c.exchanges / c.resolved if c.resolved else None,
                    )
                    for c in now_counts
                ),
                key=lambda f: (-f.conversations, f.topic),
            )
        )
        growth = [(f.conversations - f.previous, f.topic) for f in figures if f.topic]
        best = max(growth, default=(0, ""))
        return figures, best[1] if best[0] >= GROWTH_FLOOR else None

    def scope(self, account: str | None, channel: str | None) -> Scope | CommandError:
        names = sorted(a.name for a in self.context.accounts)
        if account is not None and account.lower() != "all":
            if account not in names:
                return CommandError(
                    f"no account {account[:40]!r}: known are {', '.join(names)}", usage="stats"
                )
            return Scope(account=account)
        channels = self.context.accounts.support_channels()
        if account is None and channel in channels and len(channels) > 1:
            return Scope(channel=channel)
        return Scope()

    # --- the weekly digest ---------------------------------------------------------------------
    def last_week(self, now: datetime) -> tuple[datetime, datetime]:
        """Monday 00:00 to Monday 00:00 of the week before `now`, local time."""
        local = now.astimezone(self.zone)
        this_monday = (local - timedelta(days=local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        last_monday = (this_monday - timedelta(days=7)).replace(tzinfo=None)
        start = last_monday.replace(tzinfo=self.zone)  # 00:00 local, whatever DST did meanwhile
        return start, this_monday

    def enqueue_digest(self, channels: Sequence[str] | None = None) -> None:
        """Queue last week's digest in every support channel (each with its own figures); the
        key makes it once per channel and week whatever the processes."""
        since, until = self.last_week(self.context.clock.now())
        targets = channels or sorted(self.context.accounts.support_channels())
        with self.context.transaction() as session:
            for channel in targets:
                self.context.outbox.digest(session, channel, since, until)
        log.info("digest.queued", week=since.date().isoformat(), channels=len(targets))

    def digest_scope(self, channel: str) -> Scope:
        """A channel's digest counts that channel's conversations when there are several."""
        several = len(self.context.accounts.support_channels()) > 1
        return Scope(channel=channel) if several else Scope()
