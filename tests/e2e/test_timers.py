"""The scheduler of one process: polls resumed at once by a new leader, the response-time sweep
re-armed when a commit brings a deadline forward."""

from __future__ import annotations

from datetime import timedelta

from bot.scheduling import Timers
from storage.models import Conversation
from tests.e2e.conftest import Harness


class Takeover:
    """Leadership another replica holds until `ours` is set."""

    def __init__(self) -> None:
        self.ours = False

    def is_leader(self) -> bool:
        return self.ours

    def resign(self) -> None:
        self.ours = False


def test_a_replica_that_takes_over_the_lead_polls_at_once(bot: Harness) -> None:
    leadership = Takeover()
    timers = Timers(bot.app.settings, bot.app.services, bot.clock, leadership)  # type: ignore[arg-type]
    timers.scheduler.start(paused=True)  # jobs are looked at, never run
    try:
        timers.start_polling()
        poll = timers.scheduler.get_job("poll:x")
        poll.modify(next_run_time=bot.clock.now() + timedelta(seconds=55))  # idled meanwhile
        timers._elect()
        assert poll.next_run_time is not None and poll.next_run_time > bot.clock.now()

        leadership.ours = True  # the leader died: this replica took the lock
        timers._elect()
        assert timers.scheduler.get_job("poll:x").next_run_time == bot.clock.now()
    finally:
        timers.scheduler.shutdown(wait=False)


def test_a_deadline_brought_forward_by_a_commit_re_arms_the_sweep_once(bot: Harness) -> None:
    timers = Timers(bot.app.settings, bot.app.services, bot.clock)
    timers.scheduler.start(paused=True)  # jobs are looked at, run by hand
    try:
        timers._arm_sla(bot.clock.now() + timedelta(days=1))
        bot.x.add_user("giulia_r", "Giulia Rossi")
        bot.x.post_tweet("giulia_r", "@acmecare my parcel is stuck")
        bot.poll()  # a new conversation, its first alert well within the day

        timers.wake_sla()
        timers.wake_sla()  # a burst of commits: one look
        [recheck] = [j for j in timers.scheduler.get_jobs() if j.id == "sla-recheck"]
        recheck.func()

        with bot.app.database.reading() as session:
            [due] = session.query(Conversation.next_alert_at).all()
        assert due[0] is not None
        assert timers.scheduler.get_job("sla").next_run_time == due[0]
    finally:
        timers.scheduler.shutdown(wait=False)
