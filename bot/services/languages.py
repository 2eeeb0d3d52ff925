"""Which language Carebridge speaks to whom: channel messages in the team's (TEAM_LANGUAGE);
private messages, App Home, modals and command answers in each person's own: the one they chose
with `/care language`, else their Slack locale, else the team's."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bot.domain.answers import CommandError, LanguageSet
from bot.i18n import LANGUAGES, language_of
from bot.services.context import Context
from storage import repositories as repo
from storage.models import TeamSetting

log = structlog.get_logger(__name__)
KEY = "language:"  # + a Slack user id, in team_settings


class Languages:
    def __init__(
        self,
        context: Context,
        team: str,
        slack_locale: Callable[[str], str | None] = lambda user: None,
    ) -> None:
        self.context = context
        self.team = team
        self.slack_locale = slack_locale

    def of(self, user: str | None) -> str:
        if not user:
            return self.team
        with self.context.database.reading() as session:
            chosen = session.get(TeamSetting, KEY + user)
        if chosen is not None and language_of(chosen.value):
            return chosen.value
        return language_of(self.slack_locale(user)) or self.team

    def command(self, text: str, user: str) -> LanguageSet | CommandError:
        """`/care language it|en|auto`."""
        word = text.strip().lower()
        if word not in (*LANGUAGES, "auto"):
            return CommandError("say it, en or auto (your Slack language)", usage="language")
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = session.get(TeamSetting, KEY + user)
            if word == "auto":
                if row is not None:
                    session.delete(row)
            else:
                if row is None:
                    row = TeamSetting(key=KEY + user)
                    session.add(row)
                row.value, row.updated_by, row.updated_at = word, user, now
            repo.audit(session, None, user, "language_set", now, language=word)
        log.info("language.set", user=user, language=word)
        return LanguageSet(self.of(user), word != "auto")
