"""The first start's backfill shows it is moving: a log event per page with the count so far."""

from __future__ import annotations

from structlog.testing import capture_logs

from bot.clock import ManualClock
from bot.sandbox.world import running_world


def test_each_backfilled_page_is_logged_then_polls_are_quiet(
    database_url: str, clock: ManualClock
) -> None:
    with running_world(database_url, clock) as world:
        for n in range(130):
            world.x.add_user(f"customer{n}", f"Customer {n}")
            world.x.post_tweet(f"customer{n}", f"@acmecare question number {n}")
        with capture_logs() as first_start:
            assert world.poll() == 130
        progress = [e for e in first_start if e["event"] == "poll.backfill_progress"]
        assert [(e["stream"], e["pages"], e["fetched"]) for e in progress] == [
            ("mentions", 1, 100),
            ("mentions", 2, 130),
        ]
        world.x.add_user("later", "Later Customer")
        world.x.post_tweet("later", "@acmecare one more")
        with capture_logs() as later:
            assert world.poll() == 1
        assert [e for e in later if e["event"] == "poll.backfill_progress"] == []
