"""The Slack side of the outbox: one handler per kind of Slack job, on the real WebClient.

Every message the bot posts carries its job's idempotency key in Slack message metadata, so a
post whose answer was lost can later be found in the channel instead of being posted again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.delivery import DeliveryError, PermanentError, RateLimited, TransientError
from bot.domain.model import Delivery
from bot.i18n import DEFAULT, speaking
from bot.services import outbox
from bot.services.accounts import Accounts
from bot.services.context import AccessUnknown
from bot.services.crm import CrmLookup
from bot.services.customers import Customers
from bot.services.oncall import OnCallService
from bot.services.outbox import (
    CardJob,
    ChannelPost,
    HomeJob,
    MirrorJob,
    P,
    PrivateNote,
    ReactionJob,
    ThreadPost,
    read,
)
from bot.services.sla import Deadlines
from bot.services.worker import Job, JobHandler
from bot.slack import blocks
from bot.slack.cards import Cards
from bot.slack.directory import ChannelMembers
from bot.slack.failures import CALL_FAILED
from bot.slack.home import ITEM_BUDGET, home_view
from bot.slack.render import render
from storage import repositories as repo
from storage.db import Database
from storage.models import Conversation

log = structlog.get_logger(__name__)
METADATA_EVENT = "carebridge_job"
LOOKBACK = 100  # the latest messages searched for an earlier attempt of a post
# Errors that mean "this will never work": retrying only delays telling someone.
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "invalid_blocks",
    "message_not_found",
    "cant_update_message",
    "user_not_in_channel",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "no_text",
    "invalid_arguments",
    "restricted_action",
}


class SlackJobHandlers:
    """Builds the handlers of every Slack job kind around one WebClient."""

    def __init__(
        self,
        client: WebClient,
        database: Database,
        clock: Clock,
        accounts: Accounts,
        deadlines: Deadlines,
        oncall: OnCallService,
        customers: Customers,
        members: ChannelMembers | None = None,
        topics: Callable[[], Sequence[str]] = tuple,
        crm: CrmLookup | None = None,
        *,
        team_language: str = DEFAULT,
        language_of: Callable[[str], str] = lambda user: DEFAULT,
    ) -> None:
        self.members = members
        self.crm = crm
        self.client = client
        self.database = database
        self.clock = clock
        self.accounts = accounts
        self.cards = Cards(accounts, deadlines, oncall, customers, clock, topics, crm)
        self._workspace_url: str | None = None  # from auth.test, once
        self.team_language = team_language
        self.language_of = language_of

    def handlers(self) -> dict[str, JobHandler]:
        handlers: dict[str, _Handler] = {
            outbox.POST_CARD: _Handler(self._post_card, self._record_card),
            outbox.UPDATE_CARD: _Handler(self._update_card),
            outbox.MIRROR_MESSAGE: _Handler(self._mirror, self._record_mirror),
            outbox.UPDATE_MIRROR: _Handler(self._update_mirror),
            outbox.POST_ANSWER: _Handler(self._post_answer, self._record_answer),
            outbox.THREAD_MESSAGE: _Handler(self._thread_message),
            outbox.CHANNEL_MESSAGE: _Handler(self._channel_message),
            outbox.EPHEMERAL: _Handler(self._ephemeral, max_attempts=5),
            outbox.REACTION: _Handler(self._reaction),
            outbox.PUBLISH_HOME: _Handler(self._publish_home, max_attempts=5),
        }
        for handler in handlers.values():  # the channel's language, unless a job says whose
            handler.language = self.team_language
        return dict(handlers)

    # --- performers ----------------------------------------------------------------------------
    def _post_card(self, job: Job) -> dict[str, Any]:
        with self.database.reading() as session:
            conversation = self._conversation(session, job)
            text, body = blocks.conversation_card(self.cards.card(session, conversation))
            channel = conversation.slack_channel_id
        ts = self.post_once(job, channel, None, text, body)
        return {"ts": ts, "permalink": self._permalink(channel, ts)}

    def _permalink(self, channel: str, ts: str) -> str | None:
        """A root message's permalink, as Slack forms it from the workspace's URL, the channel
        and the ts: no chat.getPermalink call per card. A convenience for links between
        threads: None when Slack cannot say, the card is posted either way."""
        if self._workspace_url is None:
            try:
                self._workspace_url = str(self.client.auth_test()["url"])
            except (SlackClientError, KeyError):
                log.warning("slack.workspace_url_unknown")
        if self._workspace_url:
            return f"{self._workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except SlackClientError:
            log.warning("slack.permalink_failed", channel=channel, ts=ts)
            return None

    def _record_card(self, session: Session, job: Job, result: dict[str, Any]) -> None:
        conversation_id = _read(CardJob, job).conversation_id
        repo.record_card(session, conversation_id, result["ts"], result.get("permalink"))
        if self.crm is not None:  # the CRM's facts follow the card, never hold it up
            self.crm.card_posted(session, conversation_id)

    def _update_card(self, job: Job) -> dict[str, Any]:
        with self.database.reading() as session:
            conversation = self._conversation(session, job)
            text, body = blocks.conversation_card(self.cards.card(session, conversation))
            channel, ts = conversation.slack_channel_id, conversation.slack_thread_ts
        if ts is None:
            raise TransientError("the conversation's card is not posted yet")
        self.call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=body)
        return {"ts": ts}

    def _mirror(self, job: Job) -> dict[str, Any]:
        with self.database.reading() as session:
            message_id = _read(MirrorJob, job).message_id
            message = repo.message(session, message_id)
            if message is None:
                raise PermanentError(f"message {message_id} no longer exists")
            conversation = message.conversation
            text, body = self.cards.customer_message(session, message)
            channel, thread = conversation.slack_channel_id, conversation.slack_thread_ts
        return {"ts": self.post_once(job, channel, thread, text, body)}

    def _update_mirror(self, job: Job) -> dict[str, Any]:
        """A customer's message changed (edited, deleted, reacted to): show it as it is now."""
        with self.database.reading() as session:
            message_id = _read(MirrorJob, job).message_id
            message = repo.message(session, message_id)
            if message is None:
                raise PermanentError(f"message {message_id} no longer exists")
            text, body = self.cards.customer_message(session, message)
            channel, ts = message.conversation.slack_channel_id, message.slack_ts
        if ts is None:
            raise TransientError("the message is not mirrored yet")
        self.call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=body)
        return {"ts": ts}

    def _record_mirror(self, session: Session, job: Job, result: dict[str, Any]) -> None:
        message = repo.message(session, _read(MirrorJob, job).message_id)
        if message is not None:
            message.slack_ts = result["ts"]

    def _post_answer(self, job: Job) -> dict[str, Any]:
        """An answer sent from a modal (a saved reply), shown as the agent's in the thread."""
        with self.database.reading() as session:
            message_id = _read(MirrorJob, job).message_id
            message = repo.message(session, message_id)
            if message is None:
                raise PermanentError(f"message {message_id} no longer exists")
            text, body = blocks.answer_from_modal(
                message.author, message.saved_reply_name or "", message.text
            )
            channel, thread = (
                message.conversation.slack_channel_id,
                message.conversation.slack_thread_ts,
            )
        return {"ts": self.post_once(job, channel, thread, text, body)}

    def _record_answer(self, session: Session, job: Job, result: dict[str, Any]) -> None:
        message = repo.message(session, _read(MirrorJob, job).message_id)
        if message is None:
            return
        message.slack_ts = result["ts"]
        if message.delivery == Delivery.SENT:  # it went out before its post: mark it now
            channel = message.conversation.slack_channel_id
            outbox.Outbox(self.clock).react(
                session, channel=channel, ts=result["ts"], name="white_check_mark"
            )

    def _thread_message(self, job: Job) -> dict[str, Any]:
        post = _read(ThreadPost, job)
        with self.database.reading() as session:
            conversation = self._conversation(session, post.conversation_id)
            channel, thread = conversation.slack_channel_id, conversation.slack_thread_ts
        text, body = render(post.fact)
        return {"ts": self.post_once(job, channel, thread, text, body)}

    def _channel_message(self, job: Job) -> dict[str, Any]:
        post = _read(ChannelPost, job)
        text, body = render(post.fact)
        return {"ts": self.post_once(job, post.channel, None, text, body)}

    def _ephemeral(self, job: Job) -> dict[str, Any]:
        note = _read(PrivateNote, job)
        with speaking(self.language_of(note.user)):  # theirs: only they read it
            text, body = render(note.fact)
        posted = self.call(
            self.client.chat_postEphemeral,
            channel=note.channel,
            user=note.user,
            text=text,
            blocks=body,
            thread_ts=note.thread_ts,
        )
        return {"message_ts": posted.get("message_ts")}

    def _reaction(self, job: Job) -> dict[str, Any]:
        reaction = _read(ReactionJob, job)
        try:
            self.call(
                self.client.reactions_add,
                channel=reaction.channel,
                timestamp=reaction.ts,
                name=reaction.name,
            )
        except DeliveryError as error:
            if "already_reacted" not in error.reason:  # an earlier attempt got through
                raise
        return {}

    def _publish_home(self, job: Job) -> dict[str, Any]:
        user = _read(HomeJob, job).user
        channels = self._channels_of(user)
        with self.database.reading() as session:
            owned, owned_total = repo.open_conversations(session, assignee=user, limit=ITEM_BUDGET)
            waiting, waiting_total = repo.open_conversations(
                session, channels=channels, limit=ITEM_BUDGET
            )
            mine = self.cards.home_items(session, owned)
            queue = self.cards.home_items(session, waiting)
        now = self.clock.now()
        with speaking(self.language_of(user)):
            view = home_view(mine, queue, now, user=user, totals=(owned_total, waiting_total))
        self.call(self.client.views_publish, user_id=user, view=view)
        return {}

    def _channels_of(self, user: str) -> list[str] | None:
        """The support channels whose queue `user` sees: those they are a member of, or None
        for all of them (also when Slack cannot say just now: a queue shown beats an empty
        one). None rather than the full list: SQLite counted the queue of a named channel
        through the (channel, thread) index, reading every open conversation's row (180 ms
        for 80,000), and the queue's own index alone when no channel is named (8 ms)."""
        if self.members is None:
            return None
        support = self.accounts.support_channels()
        try:
            seen = [c for c in support if self.members.is_member(user, c)]
        except AccessUnknown:
            return None
        return None if len(seen) == len(support) else seen

    # --- helpers -------------------------------------------------------------------------------
    def post_once(self, job: Job, channel: str, thread_ts: str | None, text: str, body: Any) -> str:
        """Post once: a retry first looks for the job's key in the messages' metadata, since an
        earlier attempt may have reached Slack although its answer never reached us."""
        if job.tried_before:
            found = self._find_posted(job, channel, thread_ts)
            if found is not None:
                log.info("slack.post_found", job_id=job.id, ts=found)
                return found
        posted = self.call(
            self.client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=body,
            metadata=_metadata(job),
            unfurl_links=False,
            unfurl_media=False,
        )
        return posted["ts"]

    def _find_posted(self, job: Job, channel: str, thread_ts: str | None) -> str | None:
        # The channel's latest messages for a root post, the thread for a reply.
        method, where = (
            (self.client.conversations_history, {})
            if thread_ts is None
            else (self.client.conversations_replies, {"ts": thread_ts})
        )
        page = self.call(
            method, channel=channel, limit=LOOKBACK, include_all_metadata=True, **where
        )
        for message in page.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_payload", {}).get("key") == job.key:
                return message["ts"]
        return None

    def call(self, method: Callable[..., Any], **arguments: Any) -> Any:
        with _translated(self.clock, getattr(method, "__name__", "slack call")):
            return method(**{k: v for k, v in arguments.items() if v is not None}).data

    def _conversation(self, session: Session, job: Job | int) -> Conversation:
        conversation_id = job if isinstance(job, int) else _read(CardJob, job).conversation_id
        conversation = repo.conversation(session, conversation_id)
        if conversation is None:
            raise PermanentError(f"conversation {conversation_id} does not exist")
        return conversation


def _read(kind: type[P], job: Job) -> P:
    try:
        return read(kind, job.payload)
    except (ValueError, TypeError, KeyError) as error:
        raise PermanentError(f"a {job.kind} job with an unreadable payload: {error}") from None


class _Handler:
    """Adapts a perform function (and an optional record function) to the JobHandler protocol."""

    def __init__(
        self,
        perform: Callable[[Job], dict[str, Any]],
        record: Callable[[Session, Job, dict[str, Any]], None] | None = None,
        *,
        max_attempts: int = 8,
    ) -> None:
        self._perform, self._record, self.max_attempts = perform, record, max_attempts
        self.language: str | None = None  # what its posts are written in (TEAM_LANGUAGE)

    def perform(self, job: Job) -> dict[str, Any] | None:
        with speaking(self.language):
            return self._perform(job)

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        if self._record is not None and result is not None:
            self._record(session, job, result)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        # Slack is where we would report a failure; all we can do is leave a loud log line.
        log.error("slack.job_abandoned", job_id=job.id, kind=job.kind, reason=reason)


@contextmanager
def _translated(clock: Clock, doing: str) -> Iterator[None]:
    try:
        yield
    except SlackApiError as error:
        response = error.response
        code = response.get("error", "") if isinstance(response.data, dict) else ""
        if response.status_code == 429:
            wait = int(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
            raise RateLimited(
                f"Slack rate limit on {doing}", clock.now() + timedelta(seconds=wait)
            ) from error
        if response.status_code >= 500 or code in (
            "internal_error",
            "fatal_error",
            "service_unavailable",
        ):
            raise TransientError(f"Slack answered {response.status_code} on {doing}") from error
        if code in _PERMANENT or 400 <= response.status_code < 500:
            raise PermanentError(
                f"Slack refused {doing}: {code or response.status_code}"
            ) from error
        raise TransientError(f"Slack error on {doing}: {code}") from error
    except CALL_FAILED as error:  # reset, timeout, DNS
        raise TransientError(
            f"Slack could not be reached on {doing}: {type(error).__name__}"
        ) from error


def _metadata(job: Job) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": job.key}}
