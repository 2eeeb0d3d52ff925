"""The business hours in force, per brand account.

An account's hours are, first to last: its own set from Slack (`/care hours set <account> ...`),
its `business_hours` in ACCOUNTS_FILE, the team's set from Slack (`/care hours set ...`), and
BUSINESS_HOURS. They are read from the database each time they are needed, so hours changed on
one replica are in force on every replica at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from bot.domain.answers import HoursNow
from bot.domain.hours import BusinessCalendar, BusinessHours, parse_business_hours
from bot.services.context import Context
from storage import repositories as repo
from storage.models import TeamSetting

log = structlog.get_logger(__name__)
HOURS_KEY = "business_hours"


class ServiceHours:
    def __init__(
        self,
        context: Context,
        default: BusinessCalendar,
        account_hours: Mapping[str, BusinessHours] | None = None,
    ) -> None:
        self.context = context
        self.default = default  # BUSINESS_HOURS, TIMEZONE, HOLIDAYS
        self.account_hours = dict(account_hours or {})  # from ACCOUNTS_FILE

    def calendar(self, session: Session, account: str | None = None) -> BusinessCalendar:
        """The calendar in force for `account` (a configured name), or the team's: read once
        per transaction (a page of 100 messages asked three times each)."""
        known: dict[str | None, BusinessCalendar] = session.info.setdefault("calendars", {})
        if account not in known:
            known[account] = self._calendar(session, account)
        return known[account]

    def _calendar(self, session: Session, account: str | None) -> BusinessCalendar:
        if account is not None:
            own = session.get(TeamSetting, _key(account))
            if own is not None:
                return replace(self.default, hours=parse_business_hours(own.value))
            if account in self.account_hours:
                return replace(self.default, hours=self.account_hours[account])
        team = session.get(TeamSetting, HOURS_KEY)
        if team is not None:
            return replace(self.default, hours=parse_business_hours(team.value))
        return self.default

    def calendar_now(self, account: str | None = None) -> BusinessCalendar:
        with self.context.database.reading() as session:
            return self.calendar(session, account)

    def set(self, text: str, user: str, account: str | None = None) -> HoursNow:
        """Validate and store new hours (ValueError says what is wrong); they apply at once to
        new deadlines and notices, on every replica."""
        parse_business_hours(text)
        now = self.context.clock.now()
        with self.context.transaction() as session:
            key = HOURS_KEY if account is None else _key(account)
            row = session.get(TeamSetting, key) or TeamSetting(key=key)
            row.value, row.updated_by, row.updated_at = text.strip(), user, now
            session.add(row)
            repo.audit(session, None, user, "hours_set", now, hours=text.strip(), account=account)
        log.info("hours.set", user=user, account=account)
        return replace(self.state(now, account), saved=True)

    def state(self, now: datetime, account: str | None = None) -> HoursNow:
        """`/care hours`: the hours in force and whether it is open now."""
        calendar = self.calendar_now(account)
        open_now = calendar.is_open(now)
        changes_at = None
        if not calendar.always_open:
            changes_at = calendar.next_change(now) if open_now else calendar.next_open(now)
        return HoursNow(
            zone=calendar.zone.key,
            hours=calendar.hours,
            always_open=calendar.always_open,
            open_now=open_now,
            changes_at=changes_at,
            now=now,
            account=account,
        )


def _key(account: str) -> str:
    return f"{HOURS_KEY}:{account}"
