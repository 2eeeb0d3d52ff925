"""Satisfaction surveys: scheduled at Resolve, asked once CSAT_DELAY has passed, answered by a
tap or in words, shown in the thread and on the card (bot/domain/surveys.py has the rules).

The question is an automatic notice (a private message, through the outbox); the customer's
answer is stored in the resolved conversation without reopening it. A score of LOW_SCORE or
less pings the owner and the leads, once, with a Reopen button.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.domain.csat import Rating, read_rating
from bot.domain.events import EventKind
from bot.domain.facts import SurveyAnswered, SurveySkipped
from bot.domain.language import guess_language
from bot.domain.model import Delivery, Direction, InboundMessage, Visibility
from bot.domain.surveys import (
    ANSWER_WINDOW,
    LOW_SCORE,
    Skip,
    SurveyCase,
    SurveyMode,
    decide,
    score_of_choice,
)
from bot.domain.templates import NoticeKind, NoticeValues, notice_language, notice_text
from bot.services.context import Context
from bot.services.notice_templates import NoticeTemplates
from bot.services.notices import NOTICE_AUTHOR, plain_first_name
from storage import repositories as repo
from storage import surveys as rows
from storage.models import Conversation, Message, Survey

log = structlog.get_logger(__name__)
SURVEY_AUTHOR = f"{NOTICE_AUTHOR}{NoticeKind.CSAT}"  # the question's message row
# Reasons the thread states: the team would otherwise wonder why no survey went out.
SAID = frozenset({Skip.UNREACHABLE, Skip.WINDOW_CLOSED, Skip.COOLDOWN})


@dataclass(frozen=True)
class SurveySettings:
    mode: SurveyMode = SurveyMode.PRIVATE  # CSAT
    delay: timedelta = timedelta(minutes=10)  # CSAT_DELAY
    cooldown: timedelta = timedelta(days=7)  # CSAT_COOLDOWN
    leads: tuple[str, ...] = ()  # SLACK_LEADS: pinged with the owner by a low score


class Surveys:
    def __init__(
        self, context: Context, templates: NoticeTemplates, settings: SurveySettings
    ) -> None:
        self.context = context
        self.templates = templates
        self.settings = settings

    # --- at Resolve, and when it is undone -----------------------------------------------------
    def resolved(self, session: Session, conversation: Conversation, user: str) -> None:
        """Schedule the conversation's survey, once per conversation (a survey cancelled
        before it went out is scheduled again at the next Resolve)."""
        if self.settings.mode == SurveyMode.OFF:
            return
        now = self.context.clock.now()
        survey = rows.of_conversation(session, conversation.id)
        if survey is not None and survey.status != rows.CANCELLED:
            return
        if survey is None:
            survey = Survey(conversation_id=conversation.id, customer_id=conversation.customer_id)
            session.add(survey)
        survey.status, survey.due_at = rows.SCHEDULED, now + self.settings.delay
        survey.reason, survey.agent = None, conversation.assignee or user
        survey.language = "en"  # chosen when it is sent, from what the customer wrote
        log.info("survey.scheduled", conversation_id=conversation.id)

    def reopened(self, session: Session, conversation: Conversation, reason: str) -> None:
        """A survey not yet sent is cancelled: the conversation is not over."""
        survey = rows.of_conversation(session, conversation.id)
        if survey is not None and survey.status == rows.SCHEDULED:
            survey.status, survey.reason = rows.CANCELLED, reason
            log.info("survey.cancelled", conversation_id=conversation.id, reason=reason)

    # --- asking --------------------------------------------------------------------------------
    def send_due(self) -> int:
        """Ask every survey whose time has come; returns how many went out."""
        now = self.context.clock.now()
        with self.context.database.reading() as session:
            due = rows.due(session, now)
        sent = 0
        for survey_id in due:
            with self.context.transaction() as session:
                survey = session.get(Survey, survey_id, with_for_update=True)
                if survey is None or survey.status != rows.SCHEDULED or survey.due_at > now:
                    continue  # another replica asked it, or it was cancelled meanwhile
                sent += self._ask(session, survey, now)
        return sent

    def _ask(self, session: Session, survey: Survey, now: datetime) -> bool:
        conversation = survey.conversation
        spec = self.context.accounts.spec(conversation.account.network)
        latest_private = repo.latest_inbound(session, conversation.id, Visibility.PRIVATE)
        private_part = rows.had_private_part(session, conversation.id)
        reaches_public = bool(spec and spec.surveys_public_authors)
        window = spec.private_window if spec else None
        case = SurveyCase(
            mode=self.settings.mode,
            had_private_part=private_part,
            answered=conversation.first_response_at is not None,
            on_hold=conversation.netiquette_hold,
            last_asked_at=rows.last_asked(session, repo.linked_customers(conversation.customer)),
            cooldown=self.settings.cooldown,
            reachable=latest_private is not None or reaches_public,
            window_closes_at=(
                latest_private.created_at + window
                if window is not None and latest_private is not None
                else None
            ),
            now=now,
        )
        skip = decide(case)
        if skip is not None:
            survey.status, survey.reason = rows.SKIPPED, str(skip)
            if skip in SAID:
                label = self.context.label(conversation.account.network)
                fact = SurveySkipped(str(skip), label, cooldown_days=self.settings.cooldown.days)
                self.context.outbox.thread(session, conversation, f"csat:{survey.id}", fact)
            log.info("survey.skipped", conversation_id=conversation.id, reason=str(skip))
            return False
        words = " ".join(m.text for m in repo.inbound_messages(session, conversation.id))
        survey.language = notice_language(guess_language(words))
        question = Message(
            conversation_id=conversation.id,
            direction=Direction.NOTICE,
            visibility=Visibility.PRIVATE,
            network=conversation.account.network,
            author=SURVEY_AUTHOR,
            text=self._question(session, conversation, survey.language),
            created_at=now,
            delivery=Delivery.PENDING,
        )
        session.add(question)
        session.flush()
        survey.status, survey.sent_at, survey.message_id = rows.SENT, now, question.id
        self.context.outbox.deliver(session, question)
        repo.audit(
            session, conversation.id, "carebridge", "csat_asked", now, message_id=question.id
        )
        log.info("survey.asked", conversation_id=conversation.id, language=survey.language)
        return True

    def _question(self, session: Session, conversation: Conversation, language: str) -> str:
        values = NoticeValues(plain_first_name(conversation.customer.name), "", "", "")
        override = self.templates.override(session, NoticeKind.CSAT, language)
        return notice_text(NoticeKind.CSAT, language, values, override)

    def not_delivered(self, session: Session, message: Message, reason: str) -> bool:
        """The question could not go out (the DM was refused, the window closed meanwhile):
        the survey is marked failed. False when `message` is no survey question."""
        survey = rows.of_message(session, message.id) if message.author == SURVEY_AUTHOR else None
        if survey is None:
            return False
        survey.status, survey.reason, survey.sent_at = rows.FAILED, reason[:40], None
        label = self.context.label(message.network)
        fact = SurveySkipped("not_delivered", label, detail=reason)
        self.context.outbox.thread(session, message.conversation, f"csat:{survey.id}", fact)
        log.info("survey.not_delivered", conversation_id=message.conversation_id)
        return True

    # --- answers -------------------------------------------------------------------------------
    def read_answer(
        self, session: Session, conversation: Conversation, inbound: InboundMessage
    ) -> Rating | None:
        """The customer wrote to their resolved `conversation`: their score if this answers
        its survey. A survey not yet sent is cancelled (they wrote again); a reply that is no
        score leaves the survey unanswered, and the message goes on as any other."""
        survey = rows.of_conversation(session, conversation.id)
        if survey is None:
            return None
        if survey.status == rows.SCHEDULED:
            self.reopened(session, conversation, "customer wrote")
            return None
        if (
            survey.status != rows.SENT
            or survey.sent_at is None
            or inbound.visibility != Visibility.PRIVATE
            or not timedelta(0) <= inbound.created_at - survey.sent_at <= ANSWER_WINDOW
        ):
            return None
        score = score_of_choice(inbound.choice) if inbound.choice else None
        rating = Rating(score, "") if score is not None else read_rating(inbound.text)
        if rating is None:
            return None
        survey.status, survey.score = rows.ANSWERED, rating.score
        survey.comment, survey.answered_at = rating.comment or None, inbound.created_at
        return rating

    def answered(
        self, session: Session, conversation: Conversation, message: Message, rating: Rating
    ) -> None:
        """Once the answer is stored: the thread and the card show it; a low score calls the
        owner and the leads."""
        customer = conversation.customer
        low = rating.score <= LOW_SCORE
        owner = conversation.assignee or conversation.resolved_by
        fact = SurveyAnswered(
            conversation_id=conversation.id,
            score=rating.score,
            comment=rating.comment,
            handle=customer.handle,
            name=customer.name,
            low=low,
            owner=owner if low else None,
            leads=self.settings.leads if low else (),
        )
        self.context.outbox.thread(session, conversation, f"csat_answer:{conversation.id}", fact)
        self.context.outbox.refresh_card(session, conversation)
        now = self.context.clock.now()
        repo.audit(session, conversation.id, "carebridge", "csat_answered", now, score=rating.score)
        self.context.events.emit(
            session,
            EventKind.CSAT_RECEIVED,
            conversation,
            score=rating.score,
            low=low,
            message_id=message.id,
            comment=rating.comment or None,
        )
        log.info("survey.answered", conversation_id=conversation.id, score=rating.score, low=low)
