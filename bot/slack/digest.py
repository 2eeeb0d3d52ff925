"""The weekly digest job: last week's figures in the channel, with a chart in its thread; the
satisfaction figures too when surveys were asked that week."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.i18n import DEFAULT, _, current, speaking
from bot.reports.chart import weekly_chart
from bot.reports.csat import fallback as csat_fallback
from bot.reports.csat import summary_lines
from bot.reports.render import kpi_blocks
from bot.services.outbox import DigestJob, read
from bot.services.stats import Stats
from bot.services.worker import Job
from bot.slack.answers import topic_lines
from bot.slack.blocks import section
from bot.slack.mrkdwn import truncate


class DigestHandler:
    max_attempts = 5

    def __init__(
        self, client: WebClient, stats: Stats, post: Any, call: Any, language: str = DEFAULT
    ) -> None:
        self.client = client
        self.stats = stats
        self._post = post  # SlackJobHandlers._post: posts once, found by its key on a retry
        self._call = call  # SlackJobHandlers._call: Slack errors as delivery errors
        self.language = language  # TEAM_LANGUAGE: the digest is a channel post

    def perform(self, job: Job) -> dict[str, Any]:
        with speaking(self.language):
            return self._perform(job)

    def _perform(self, job: Job) -> dict[str, Any]:
        payload = read(DigestJob, job.payload)
        since, until, channel = payload.since, payload.until, payload.channel
        scope = self.stats.digest_scope(channel)
        # "week of 16 Nov 2026", as strftime("%d %b %Y") wrote it; "settimana del 16 nov 2026".
        week = _("week of {date}").format(date=format_date(since, "dd MMM y", locale=current()))
        fallback, body = kpi_blocks(self.stats.report(since, until, scope), f"Carebridge · {week}")
        topics, growing = self.stats.topic_figures(since, until)
        if topics:
            lines = topic_lines(topics, growing, _("Top topics"), top=5)
            body = [*body, section(truncate("\n".join(lines), 2900))]
        # Satisfaction only when surveys were asked: a team without them reads nothing of it.
        satisfaction = self.stats.csat(since, until, scope)
        csat = satisfaction.team
        if csat.asked:
            lines = summary_lines(satisfaction, _("Satisfaction"))
            body = [*body, section(truncate("\n".join(lines), 2900))]
            fallback = f"{fallback}; {csat_fallback(csat)}"
        ts = self._post(job, channel, None, fallback, body)
        series = self.stats.daily_series(since, until, scope)
        scores = csat if csat.answered else None
        chart = weekly_chart(series, _("Conversations, {week}").format(week=week), scores)
        if scores:
            what = _("Daily volume and first-response time, satisfaction scores, {week}")
        else:
            what = _("Daily volume and first-response time, {week}")
        self._call(
            self.client.files_upload_v2,
            channel=channel,
            thread_ts=ts,
            file=chart,
            filename=f"carebridge-{since.date().isoformat()}.png",
            title=what.format(week=week),
        )
        return {"ts": ts}

    def record(self, session: Session, job: Job, result: Any, now: datetime) -> None:
        pass  # nothing to remember: the outbox row itself says the week's digest went out

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        pass  # logged by the worker; next week's digest is independent
