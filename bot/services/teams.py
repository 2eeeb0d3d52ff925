"""`/care teams`: the specialist teams conversations are forwarded to (a name, a channel, their
own response target). Removed teams are kept: past forwards still name them."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.answers import CommandError
from bot.domain.teams import (
    TeamCommandError,
    TeamList,
    TeamView,
    parse_team_command,
)
from bot.services.context import Context
from storage import repositories as repo
from storage.models import Team

log = structlog.get_logger(__name__)


class Teams:
    def __init__(self, context: Context) -> None:
        self.context = context

    def command(self, text: str, user: str) -> TeamList | CommandError:
        try:
            change = parse_team_command(text)
        except TeamCommandError as error:
            return CommandError(str(error), usage="teams")
        if change is None:
            return TeamList(self.list())
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = active(session, change.name)
            if change.action == "remove":
                if row is None:
                    return CommandError(f"there is no team {change.name!r}", usage="teams")
                row.removed_at, row.updated_by, row.updated_at = now, user, now
                said = f"{row.name} removed"
            else:
                if row is None:
                    row = Team(name=change.name)
                    session.add(row)
                row.slack_channel_id = change.channel
                row.target_seconds = (
                    int(change.target.total_seconds()) if change.target is not None else None
                )
                row.updated_by, row.updated_at = user, now
                said = f"{row.name} saved"
            repo.audit(session, None, user, f"team_{change.action}", now, team=change.name)
        log.info("teams.changed", change=change.action, user=user)
        return TeamList(self.list(), said)

    def list(self) -> tuple[TeamView, ...]:
        with self.context.database.reading() as session:
            rows = session.scalars(
                select(Team).where(Team.removed_at.is_(None)).order_by(Team.name)
            )
            return tuple(view(row) for row in rows)


def active(session: Session, name: str) -> Team | None:
    """The team called `name` (any case), if not removed."""
    for row in session.scalars(select(Team).where(Team.removed_at.is_(None))):
        if row.name.lower() == name.lower():
            return row
    return None


def view(row: Team) -> TeamView:
    target = timedelta(seconds=row.target_seconds) if row.target_seconds else None
    return TeamView(row.name, row.slack_channel_id, target)
