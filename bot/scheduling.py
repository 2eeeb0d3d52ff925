"""The one scheduler (APScheduler 3, in memory): a poller per account, the next deadline,
handoffs, the digest, the hourly clean-up of finished outbox jobs.

Never one job per conversation: a single `sla` job is re-armed for the earliest `next_alert_at`
in the database (and at least every SAFETY_INTERVAL, to see what other processes changed). No
run is ever skipped as "misfired": a late sweep still fires, and marks late alerts as such.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.config import Settings
from bot.services.registry import Services
from storage.leadership import Leadership

log = structlog.get_logger(__name__)
SAFETY_INTERVAL = timedelta(seconds=30)
MEMBERS_INTERVAL = timedelta(seconds=25)  # under half of ChannelMembers' one-minute cache
LEADERSHIP_INTERVAL = timedelta(seconds=5)  # a dead leader is replaced within this (+ a poll)
# A survey goes out within this of its CSAT_DELAY; a team's target alert within this of its time.
SURVEY_INTERVAL = timedelta(seconds=30)
SPIKE_INTERVAL = timedelta(minutes=5)  # an incident is seen within 5 minutes of its window filling
NEVER_SKIP: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


class Timers:
    def __init__(
        self,
        settings: Settings,
        services: Services,
        clock: Clock,
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.clock = clock
        # Replicas share the outbox; only the leader polls, sweeps, hands off and digests.
        self.leadership = leadership
        self._leading = leadership is None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._sla_at: datetime | None = None
        self._recheck_pending = False
        self._handoff_at: datetime | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.scheduler.start()
        if self.leadership is not None:
            self._elect()
            self.scheduler.add_job(
                self._elect,
                IntervalTrigger(seconds=LEADERSHIP_INTERVAL.total_seconds()),
                id="leadership",
                **NEVER_SKIP,
            )
        self.start_polling()
        self.start_listening()
        self.start_spike_watch()
        self.start_digest()
        self.scheduler.add_job(
            self._guard("team_targets", self.services.forwarding.sweep),
            IntervalTrigger(seconds=SURVEY_INTERVAL.total_seconds()),
            id="team_targets",
            **NEVER_SKIP,
        )
        self.scheduler.add_job(
            self._guard("surveys", self.services.surveys.send_due),
            IntervalTrigger(seconds=SURVEY_INTERVAL.total_seconds()),
            id="surveys",
            **NEVER_SKIP,
        )
        self.scheduler.add_job(
            self._guard("housekeeping", self.services.housekeeping.prune),
            IntervalTrigger(hours=1),
            id="housekeeping",
            next_run_time=self.clock.now() + timedelta(minutes=5),  # not in start-up's way
            **NEVER_SKIP,
        )
        self.start_deadlines()
        self.arm_handoff()
        # Every replica keeps its own view of who is in the support channels: renewed ahead of
        # its expiry, so an agent's answer never waits for Slack to list them.
        self.scheduler.add_job(
            self.refresh_members,
            IntervalTrigger(seconds=MEMBERS_INTERVAL.total_seconds()),
            id="channel_members",
            **NEVER_SKIP,
        )

    def refresh_members(self) -> None:
        try:
            self.services.access.refresh(self.services.accounts.support_channels())
        except Exception:  # the next run tries again; the scheduler must keep running
            log.exception("channel_members.crashed")

    def start_polling(self) -> None:
        """One job per polled account, at its own pace: a slow or failing account holds up no
        other (the scheduler's threads run them side by side)."""
        for account in self.services.accounts:
            if not account.polled:
                continue
            seconds = account.config.value("poll_seconds") or 60
            self.scheduler.add_job(
                self._guard("poll", partial(self.services.poller.poll, account)),
                IntervalTrigger(seconds=int(seconds)),
                id=f"poll:{account.name}",
                next_run_time=self.clock.now(),
                **NEVER_SKIP,
            )

    def start_listening(self) -> None:
        """One search of every listening account per LISTEN_POLL_SECONDS (X bills each post
        read: the interval and X_READ_BUDGET keep the bill known)."""
        if not self.services.listener.listening():
            return
        self.scheduler.add_job(
            self._guard("listen", self.services.listener.poll_once),
            IntervalTrigger(seconds=self.settings.listen_poll_seconds),
            id="poll:listen",  # "poll:": polled by the leader, at once after a takeover
            next_run_time=self.clock.now() + timedelta(seconds=30),  # after the support streams
            **NEVER_SKIP,
        )
        self.scheduler.add_job(
            self._guard("listen_summary", self.services.listener.summarise),
            IntervalTrigger(minutes=1),  # a flood's posts: one summary card a minute
            id="listen_summary",
            **NEVER_SKIP,
        )

    def start_spike_watch(self) -> None:
        """Negative posts against the usual, every few minutes (bot/services/spikes.py)."""
        spikes = self.services.spikes
        if spikes is None:
            return
        self.scheduler.add_job(
            self._guard("spikes", spikes.check),
            IntervalTrigger(seconds=SPIKE_INTERVAL.total_seconds()),
            id="spikes",
            **NEVER_SKIP,
        )

    def start_digest(self) -> None:
        if self.settings.digest is None:
            return
        weekday, at = self.settings.digest
        self.scheduler.add_job(
            self._guard("digest", self.services.stats.enqueue_digest),
            CronTrigger(
                day_of_week=weekday, hour=at.hour, minute=at.minute, timezone=self.settings.timezone
            ),
            id="digest",
            **NEVER_SKIP,
        )

    def start_deadlines(self) -> None:
        """Arm the response-time timer; alerts that came due while the bot was down fire now."""
        self._arm_sla(self.clock.now())

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self.leadership is not None:
            self.leadership.resign()

    def _elect(self) -> None:
        assert self.leadership is not None
        was_leading, self._leading = self._leading, self.leadership.is_leader()
        if self._leading and not was_leading:
            log.info("leadership.leading")
            now = self.clock.now()
            self._arm_sla(now)  # catch up on what came due meanwhile
            self.arm_handoff()
            # Poll now: waiting for the next tick of a job that idled while another replica led
            # leaves the networks unread for up to a poll interval after every takeover.
            for job in self.scheduler.get_jobs():
                if job.id.startswith("poll:"):
                    job.modify(next_run_time=now)

    # --- response times ----------------------------------------------------------------------
    def wake_sla(self) -> None:
        """After a commit: a deadline may have moved earlier than the armed run. Looked at in
        the scheduler's threads, not the committing one (a Slack acknowledgement, an answer on
        its way): the commits of a burst share one look."""
        with self._lock:
            if self._recheck_pending:
                return
            self._recheck_pending = True
        self.scheduler.add_job(
            self._recheck_sla,
            DateTrigger(run_date=self.clock.now()),
            id="sla-recheck",
            replace_existing=True,
            **NEVER_SKIP,
        )

    def _recheck_sla(self) -> None:
        with self._lock:
            self._recheck_pending = False  # a commit from here on asks for a look of its own
        earliest = self.services.sweeper.next_wake()
        with self._lock:
            armed = self._sla_at
        if earliest is not None and (armed is None or earliest < armed):
            self._arm_sla(earliest)

    def _sweep(self) -> None:
        if not self._leading:
            return  # the leader sweeps; this replica re-arms when it becomes the leader
        try:
            self.services.sweeper.sweep()
        except Exception:
            log.exception("sla.sweep_failed")
        self._check_handoff()
        # Re-armed last: a run armed for "now" while this one still ran would be skipped.
        now = self.clock.now()
        earliest = self.services.sweeper.next_wake()
        limit = now + SAFETY_INTERVAL
        self._arm_sla(limit if earliest is None else max(min(earliest, limit), now))

    def _check_handoff(self) -> None:
        """A rotation set on another replica: the next handoff moved, so re-arm for it."""
        try:
            handoff = self.services.oncall.next_handoff()
        except Exception:
            log.exception("oncall.check_failed")
            return
        with self._lock:
            armed = self._handoff_at
        if handoff != armed:
            self.arm_handoff()

    def _arm_sla(self, at: datetime) -> None:
        with self._lock:
            self._sla_at = at
            self.scheduler.add_job(
                self._sweep,
                DateTrigger(run_date=at),
                id="sla",
                replace_existing=True,
                **NEVER_SKIP,
            )

    # --- on call -----------------------------------------------------------------------------
    def arm_handoff(self) -> None:
        """Announce the next handoff when it comes; re-armed when the rotation changes."""
        handoff = self.services.oncall.next_handoff()
        with self._lock:
            self._handoff_at = handoff
        if handoff is None:
            if self.scheduler.get_job("handoff") is not None:
                self.scheduler.remove_job("handoff")
            return

        def announce() -> None:
            try:
                if self._leading:
                    self.services.oncall.announce_handoff(handoff)
            finally:
                self.arm_handoff()

        self.scheduler.add_job(
            announce,
            DateTrigger(run_date=handoff),
            id="handoff",
            replace_existing=True,
            **NEVER_SKIP,
        )

    def _guard(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if not self._leading:
                return  # polling and the digest belong to the leader
            try:
                job()
            except Exception:  # the next run tries again; the scheduler must keep running
                log.exception(f"{name}.crashed")

        return run
