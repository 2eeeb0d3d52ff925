"""The KPI rules of bot/domain/kpis.py as the database applies them: a hand-built week stored as
conversations and messages, counted by storage/kpi_queries.py, with every expected number worked
out below; and the surveys counted by storage/csat_queries.py. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.kpis import Figures, KpiReport, daily_series, kpi_report
from bot.domain.model import Delivery, Direction, Visibility
from storage.csat_queries import survey_counts
from storage.db import Database
from storage.kpi_queries import Scope, openings, samples
from storage.models import ChannelAccount, Conversation, Customer, Message, Survey

SINCE = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
UNTIL = SINCE + timedelta(days=7)
NOW = UNTIL + timedelta(minutes=15)
TARGET = timedelta(minutes=30)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def day(n: int, hour: int = 9, minute: int = 0) -> datetime:
    """Day n of the window (0 = Monday 16th), at hour:minute UTC."""
    return SINCE + timedelta(days=n, hours=hour, minutes=minute)


@dataclass(frozen=True)
class Ask:
    """A clock started `at`, answered after `wait` minutes (None: not yet), due after `target`."""

    at: datetime
    wait: float | None = None
    business: float | None = None  # the business-time wait kept when answered
    target: timedelta | None = TARGET

    @property
    def answered_at(self) -> datetime | None:
        return None if self.wait is None else self.at + minutes(self.wait)

    @property
    def due_at(self) -> datetime | None:
        return None if self.target is None else self.at + self.target


@dataclass(frozen=True)
class Week:
    first: Ask
    assignee: str | None
    resolved_after: timedelta | None = None
    answers: int = 1
    follow_ups: tuple[Ask, ...] = ()
    channel: str = "C1"


# fmt: off
WEEK = [
    # 1: opened on the window's first instant; met (10 <= 30); follow-up met (20 <= 30).
    Week(Ask(SINCE, 10, 10), "UA", resolved_after=timedelta(hours=2), answers=2,
         follow_ups=(Ask(SINCE + timedelta(hours=1), 20),)),
    # 2: missed (40 > 30); follow-up missed (50 > 30).
    Week(Ask(day(1), 40, 40), "UA", resolved_after=timedelta(hours=4), answers=3,
         follow_ups=(Ask(day(1, 12), 50),)),
    # 3: no target, so not measured; its follow-up is unanswered and overdue: a miss.
    Week(Ask(day(3), 5, 5, target=None), "UB", follow_ups=(Ask(day(3, 12)),)),
    # 4: missed (70 > 30), at night: 15 business minutes.
    Week(Ask(day(3, 22), 70, 15), "UB", resolved_after=timedelta(hours=6), channel="C2"),
    # 5: unassigned, unanswered, overdue since Friday: a miss and never answered.
    Week(Ask(day(4)), None),
    # 6: closed unanswered within its target (spam): never answered, not a target miss. Its
    # follow-up was due after the resolution stopped the clock: not judged.
    Week(Ask(day(5, 10)), "UB", resolved_after=minutes(10), answers=0,
         follow_ups=(Ask(day(5, 10, 5)),)),
    # 7: opened in the window, answered after it (00:10 on the 23rd): still counts; met. Its
    # business wait was not kept (answered before revision 0009): computed as 20 minutes.
    Week(Ask(day(6, 23, 50), 20), "UA"),
    # 10: opened 20 minutes before NOW, due at 00:25: not judged yet; its follow-up neither.
    Week(Ask(day(6, 23, 55)), None, follow_ups=(Ask(day(6, 23, 58)),)),
    # Outside the window: one tick before `since`, and exactly at `until` (exclusive).
    Week(Ask(SINCE - timedelta(microseconds=1)), "UA"),
    Week(Ask(UNTIL), "UA"),
]
# fmt: on


def store(database: Database, week: list[Week]) -> None:
    """As the bot keeps them: the counters of answered follow-ups on the conversation, every
    customer message with its clock."""
    with database.transaction() as session:
        account = ChannelAccount(
            name="acme",
            network="x",
            external_id="1",
            handle="acme",
            slack_channel_id="C1",
            created_at=SINCE,
        )
        session.add(account)
        session.flush()
        for n, spec in enumerate(week):
            first = spec.first
            customer = Customer(
                network="x",
                external_id=str(100 + n),
                handle=f"c{n}",
                name=f"C {n}",
                first_seen_at=first.at,
                updated_at=first.at,
            )
            session.add(customer)
            session.flush()
            answered = [a for a in spec.follow_ups if a.answered_at is not None]
            conversation = Conversation(
                account_id=account.id,
                customer_id=customer.id,
                visibility=Visibility.PUBLIC,
                slack_channel_id=spec.channel,
                assignee=spec.assignee,
                opened_at=first.at,
                last_inbound_at=first.at,
                first_response_at=first.answered_at,
                first_response_due_at=first.due_at,
                first_response_business_seconds=(
                    None if first.business is None else first.business * 60
                ),
                resolved_at=None if spec.resolved_after is None else first.at + spec.resolved_after,
                outbound_count=spec.answers,
                follow_ups_answered=len(answered),
                follow_ups_met=sum(a.answered_at <= a.due_at for a in answered if a.due_at),
            )
            session.add(conversation)
            session.flush()
            for k, ask in enumerate((first, *spec.follow_ups)):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction=Direction.INBOUND,
                        visibility=Visibility.PUBLIC,
                        network="x",
                        external_id=f"{n}-{k}",
                        author=f"c{n}",
                        text="hello",
                        created_at=ask.at,
                        delivery=Delivery.RECEIVED,
                        response_due_at=ask.due_at,
                        responded_at=ask.answered_at,
                    )
                )


def report(
    database: Database,
    since: datetime = SINCE,
    until: datetime = UNTIL,
    now: datetime = NOW,
    scope: Scope | None = None,
) -> KpiReport:
    def business_wait(account: str | None, opened: datetime, answered: datetime) -> float:
        assert account == "acme"
        return (answered - opened).total_seconds()  # conversation 7: its 20 minutes

    with database.reading() as session:
        counted = samples(session, scope or Scope(), since, until, now, business_wait)
    return kpi_report(counted, since, until)


def test_team_figures(database: Database) -> None:
    store(database, WEEK)
    week = report(database)
    assert (week.since, week.until) == (SINCE, UNTIL)
    assert week.team == Figures(
        opened=8,  # 1..7 and 10
        answered=5,  # 1, 2, 3, 4, 7
        first_within_target=2 / 5,  # measured 1, 2, 4, 5, 7; met 1 and 7
        next_within_target=1 / 3,  # 1 met; 2 late; 3 unanswered and overdue
        first_response_median=minutes(20),  # of 5, 10, 20, 40, 70
        first_response_p90=minutes(70),  # rank ceil(0.9 * 5) = 5
        first_response_business_median=minutes(15),  # of 5, 10, 15, 20, 40
        first_response_business_p90=minutes(40),
        resolution_median=timedelta(hours=3),  # of 10 min, 2 h, 4 h, 6 h: (2 h + 4 h) / 2
        never_answered=2 / 7,  # judged: 1, 2, 3, 4, 7 answered; 5 overdue; 6 resolved
        exchanges_to_close=(2 + 3 + 1 + 0) / 4,  # resolved: 1, 2, 4, 6
    )


def test_per_agent_figures_leave_unassigned_conversations_to_the_team(
    database: Database,
) -> None:
    store(database, WEEK)
    week = report(database)
    assert list(week.per_agent) == ["UA", "UB"]
    assert week.per_agent["UA"] == Figures(
        opened=3,  # 1, 2, 7
        answered=3,
        first_within_target=2 / 3,
        next_within_target=1 / 2,
        first_response_median=minutes(20),  # of 10, 20, 40
        first_response_p90=minutes(40),  # rank ceil(2.7) = 3
        first_response_business_median=minutes(20),
        first_response_business_p90=minutes(40),
        resolution_median=timedelta(hours=3),  # of 2 h, 4 h
        never_answered=0.0,
        exchanges_to_close=(2 + 3) / 2,
    )
    assert week.per_agent["UB"] == Figures(
        opened=3,  # 3, 4, 6
        answered=2,
        first_within_target=0.0,  # only 4 is measured, and missed
        next_within_target=0.0,
        first_response_median=minutes(37.5),  # of 5, 70
        first_response_p90=minutes(70),  # rank ceil(1.8) = 2
        first_response_business_median=minutes(10),  # of 5, 15
        first_response_business_p90=minutes(15),
        resolution_median=(minutes(10) + timedelta(hours=6)) / 2,
        never_answered=1 / 3,  # 6
        exchanges_to_close=(1 + 0) / 2,
    )


def test_a_scope_counts_its_own_conversations(database: Database) -> None:
    store(database, WEEK)
    assert report(database, scope=Scope(channel="C2")).team.opened == 1  # 4
    assert report(database, scope=Scope(account="acme")).team.opened == 8
    assert report(database, scope=Scope(account="other")).team.opened == 0


def test_a_fresh_conversation_becomes_a_miss_once_overdue(database: Database) -> None:
    store(database, [Week(Ask(NOW - minutes(5)), "UA")])
    waiting = report(database, until=NOW).team
    assert (waiting.opened, waiting.first_within_target, waiting.never_answered) == (1, None, None)
    later = report(database, until=NOW, now=NOW + TARGET).team
    assert (later.first_within_target, later.never_answered) == (0.0, 1.0)


def test_no_conversations_means_nothing_to_measure(database: Database) -> None:
    empty = report(database)
    assert empty.per_agent == {}
    assert empty.team == Figures(0, 0, None, None, None, None, None, None, None, None, None)


def test_daily_series_has_a_point_for_every_day_zeros_included(database: Database) -> None:
    store(database, WEEK)
    with database.reading() as session:
        week = openings(session, Scope(), SINCE, UNTIL)
    points = daily_series(week, SINCE, UNTIL, UTC)
    assert [p.day.isoformat() for p in points] == [f"2026-11-{d}" for d in range(16, 23)]
    assert [p.opened for p in points] == [1, 1, 0, 2, 1, 1, 2]
    assert [p.first_response_median for p in points] == [
        minutes(10),
        minutes(40),
        None,  # Wednesday: nothing opened
        minutes(37.5),  # Thursday: 5 and 70
        None,  # Friday: unanswered
        None,  # Saturday: closed unanswered
        minutes(20),  # Sunday: 7 answered, 10 not yet
    ]


def test_daily_series_counts_local_days(database: Database) -> None:
    # Paris is UTC+1 in November: the window runs from Monday 01:00 to the next Monday 01:00,
    # so it touches 8 local days, and the two Sunday-night conversations fall on that Monday.
    store(database, WEEK)
    with database.reading() as session:
        week = openings(session, Scope(), SINCE, UNTIL)
    points = daily_series(week, SINCE, UNTIL, ZoneInfo("Europe/Paris"))
    assert [p.day.day for p in points] == list(range(16, 24))
    assert [p.opened for p in points] == [1, 1, 0, 2, 1, 1, 0, 2]
    assert daily_series(week, UNTIL, SINCE, UTC) == []


# --- satisfaction surveys (storage/csat_queries.py) -------------------------------------------
@dataclass(frozen=True)
class Asked:
    """A survey of a conversation of `account` ("acme" on X, "acme-fb" on Facebook)."""

    status: str
    sent_at: datetime | None
    agent: str | None = "UA"
    score: int | None = None
    topic: str | None = None
    account: str = "acme"
    channel: str = "C1"


# fmt: off
SURVEYS = [
    Asked("answered", SINCE, score=1, topic="refund"),  # on the window's first instant: counts
    Asked("answered", day(2), score=5, topic="refund"),
    Asked("answered", day(2), "UB", score=4, account="acme-fb", channel="C2"),
    Asked("sent", day(3), "UB", topic="refund", channel="C2"),  # asked, never answered
    Asked("answered", day(6, 23, 59), score=4),  # answered after `until`: still counts
    Asked("answered", UNTIL, score=5),  # asked exactly at `until`: the next window's
    Asked("sent", SINCE - timedelta(microseconds=1)),  # the window before
    Asked("skipped", None), Asked("failed", None), Asked("cancelled", None),  # never asked
]
# fmt: on


def store_surveys(database: Database, surveys: list[Asked]) -> None:
    with database.transaction() as session:
        accounts = {
            name: ChannelAccount(
                name=name, network=network, external_id=name, handle=name,
                slack_channel_id="C1", created_at=SINCE - timedelta(days=30),
            )
            for name, network in (("acme", "x"), ("acme-fb", "facebook"))
        }  # fmt: skip
        session.add_all(accounts.values())
        session.flush()
        for n, spec in enumerate(surveys):
            opened = SINCE - timedelta(days=1)  # surveys count by when they were asked
            customer = Customer(
                network="x", external_id=f"s{n}", handle=f"s{n}", name=f"S {n}",
                first_seen_at=opened, updated_at=opened,
            )  # fmt: skip
            session.add(customer)
            session.flush()
            conversation = Conversation(
                account_id=accounts[spec.account].id, customer_id=customer.id,
                visibility=Visibility.PRIVATE, slack_channel_id=spec.channel,
                opened_at=opened, last_inbound_at=opened, topic=spec.topic,
            )  # fmt: skip
            session.add(conversation)
            session.flush()
            session.add(
                Survey(
                    conversation_id=conversation.id, customer_id=customer.id,
                    status=spec.status, due_at=spec.sent_at or opened, sent_at=spec.sent_at,
                    answered_at=spec.sent_at + minutes(30) if spec.score else None,
                    score=spec.score, language="it", agent=spec.agent,
                )
            )  # fmt: skip


def csat(
    database: Database, scope: Scope | None = None
) -> dict[tuple[str | None, str, str], tuple[int, tuple[int, ...]]]:
    with database.reading() as session:
        cells = survey_counts(session, scope or Scope(), SINCE, UNTIL)
    return {(c.agent, c.topic, c.network): (c.count.asked, c.count.scores) for c in cells}


def test_surveys_count_by_when_they_were_asked_by_agent_topic_and_network(
    database: Database,
) -> None:
    store_surveys(database, SURVEYS)
    assert csat(database) == {
        ("UA", "refund", "x"): (2, (1, 0, 0, 0, 1)),
        ("UA", "", "x"): (1, (0, 0, 0, 1, 0)),
        ("UB", "", "facebook"): (1, (0, 0, 0, 1, 0)),
        ("UB", "refund", "x"): (1, (0, 0, 0, 0, 0)),
    }
    assert csat(database, Scope(channel="C2")) == {
        ("UB", "", "facebook"): (1, (0, 0, 0, 1, 0)),
        ("UB", "refund", "x"): (1, (0, 0, 0, 0, 0)),
    }
    assert list(csat(database, Scope(account="acme-fb"))) == [("UB", "", "facebook")]
    assert csat(database, Scope(account="other")) == {}
