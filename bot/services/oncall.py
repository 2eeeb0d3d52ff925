"""The on-call roster: who is woken by alerts, managed from Slack with `/care oncall`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session

from bot.domain import oncall as rules
from bot.domain.answers import CommandError, OnCallNow
from bot.domain.facts import OnCallHandoff
from bot.services.context import Context
from storage import repositories as repo
from storage.models import OnCallOverride, OnCallRotation

log = structlog.get_logger(__name__)


class OnCallService:
    def __init__(self, context: Context, zone: ZoneInfo) -> None:
        self.context = context
        self.zone = zone
        self.on_rotation_change: Callable[[], None] = lambda: None  # re-arms the handoff timer

    # --- reading -------------------------------------------------------------------------------
    def current(self, session: Session, now: datetime) -> rules.OnCall:
        overrides = [
            rules.Override(o.user, o.starts_at, o.ends_at)
            for o in repo.active_overrides(session, now)
        ]
        return rules.on_call(_rotation(repo.current_rotation(session)), overrides, now, self.zone)

    def next_handoff(self) -> datetime | None:
        with self.context.database.reading() as session:
            rotation = _rotation(repo.current_rotation(session))
        if rotation is None:
            return None
        return rules.next_handoff(rotation, self.context.clock.now(), self.zone)

    # --- /care oncall ------------------------------------------------------------------------
    def command(self, text: str, user: str) -> OnCallNow | CommandError:
        """Run `/care oncall ...`; the answer is shown privately to the person who typed it."""
        try:
            command = rules.parse_oncall_command(text)
        except rules.OnCallSyntaxError as error:
            return CommandError(str(error))
        now = self.context.clock.now()
        with self.context.transaction() as session:
            if isinstance(command, rules.SetRotation):
                rotation = rules.new_rotation(
                    command.members,
                    command.period,
                    command.handoff,
                    command.weekday,
                    now,
                    self.zone,
                )
                session.add(_row(rotation, user, now))
                repo.audit(session, None, user, "oncall_set", now, members=list(command.members))
                log.info("oncall.rotation_set", user=user, members=len(command.members))
            elif isinstance(command, rules.AddOverride):
                override = rules.new_override(command.user, command.duration, now)
                session.add(
                    OnCallOverride(
                        user=override.user,
                        starts_at=override.starts_at,
                        ends_at=override.ends_at,
                        created_by=user,
                        created_at=now,
                    )
                )
                repo.audit(session, None, user, "oncall_override", now, on_call=command.user)
                log.info("oncall.override", user=user, on_call=command.user)
            session.flush()
            answer = self.now_on_call(self.current(session, now), now)
        if isinstance(command, rules.SetRotation):
            self.on_rotation_change()
        return answer

    def now_on_call(self, state: rules.OnCall, now: datetime) -> OnCallNow:
        return OnCallNow(
            state.user, state.by_override, state.until, state.next_user, self.zone.key, now
        )

    # --- handoffs --------------------------------------------------------------------------------
    def announce_handoff(self, handoff: datetime) -> None:
        """Say in every support channel who is on call from this handoff on; once per handoff
        and channel, whatever the number of processes (the outbox key is the handoff's time)."""
        with self.context.transaction() as session:
            state = self.current(session, handoff)
            fact = OnCallHandoff(
                state.user, state.by_override, state.until, state.next_user, handoff, self.zone.key
            )
            for channel in sorted(self.context.accounts.support_channels()):
                key = f"oncall:{channel}:{handoff.isoformat()}"
                self.context.outbox.channel(session, channel, key, fact)
        log.info("oncall.handoff", at=handoff.isoformat())


def _rotation(row: OnCallRotation | None) -> rules.Rotation | None:
    if row is None:
        return None
    hours, minutes = (int(part) for part in row.handoff.split(":"))
    return rules.Rotation(
        members=tuple(row.members),
        period=rules.Period(row.period),
        handoff=time(hours, minutes),
        weekday=row.weekday,
        anchor=row.anchor,
    )


def _row(rotation: rules.Rotation, user: str, now: datetime) -> OnCallRotation:
    return OnCallRotation(
        members=list(rotation.members),
        period=str(rotation.period),
        handoff=rotation.handoff.strftime("%H:%M"),
        weekday=rotation.weekday,
        anchor=rotation.anchor,
        created_by=user,
        created_at=now,
    )
