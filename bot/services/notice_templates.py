"""The teams' own texts for the automatic notices (stored, edited from Slack), over the defaults
in the code. Read from the database each time: a text saved on one replica is in force on all."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.templates import DEFAULTS, NoticeKind, validate_template
from bot.networks.base import NetworkSpec
from bot.services.context import Context
from storage import repositories as repo
from storage.models import NoticeTemplate

log = structlog.get_logger(__name__)


class NoticeTemplates:
    def __init__(self, context: Context, networks: Sequence[NetworkSpec]) -> None:
        self.context = context
        self.networks = list(networks)  # a notice must fit every network it may go out on

    def override(self, session: Session, kind: NoticeKind, language: str) -> str | None:
        row = session.scalar(select(NoticeTemplate).filter_by(kind=kind, language=language))
        return row.text if row else None

    def current(self, kind: NoticeKind, language: str) -> tuple[str, bool]:
        """The text in force and whether it is the default."""
        with self.context.database.reading() as session:
            stored = self.override(session, kind, language)
        if stored is not None:
            return stored, False
        return DEFAULTS[(kind, language)], True

    def validate(self, text: str) -> None:
        """Raise TemplateError unless the text can go out on every configured network."""
        validate_template(text, max_length=None)
        for spec in self.networks:
            if spec.public_notice_room is not None:
                validate_template(
                    text,
                    max_length=spec.public_notice_room,
                    length=spec.public_length,
                    network=spec.label,
                )

    def save(self, kind: NoticeKind, language: str, text: str, user: str) -> None:
        """Store a team's text; raises TemplateError (unknown placeholder, too long)."""
        self.validate(text)
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = session.scalar(select(NoticeTemplate).filter_by(kind=kind, language=language))
            if row is None:
                row = NoticeTemplate(kind=str(kind), language=language)
                session.add(row)
            row.text, row.updated_by, row.updated_at = text, user, now
            repo.audit(session, None, user, "template_set", now, kind=str(kind), language=language)
        log.info("template.saved", kind=str(kind), language=language, user=user)
