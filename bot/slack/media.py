"""Customers' media that no one in Slack could open by their link (WhatsApp's photos, voice
notes, videos and documents sit behind the access token): the outbox copies each into the
conversation's thread, after the message it came with.

The upload is found again on a retry (a file of the same name and size in the thread), so a
lost answer never doubles it. A medium larger than `MEDIA_COPY_MAX_MB`, or one the network no
longer gives, is named in the thread with the reason instead: the agent knows it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError, TransientError
from bot.domain.facts import MediaNotCopied
from bot.i18n import _, speaking
from bot.networks.base import Media, MediaSource, MediaTooLarge
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.outbox import MediaJob, is_media_reference, read
from bot.services.worker import Job
from bot.slack.content import attachment_what
from storage import repositories as repo
from storage.models import Message

log = structlog.get_logger(__name__)
MEGABYTE = 1024 * 1024
LOOKBACK = 200  # the thread's replies searched for an earlier attempt's upload


@dataclass(frozen=True)
class _Copy:
    channel: str
    thread_ts: str
    account: Account | None
    network_label: str
    attachments: tuple[Mapping[str, str], ...]
    customer: str


class CopyMedia:
    """The outbox job that copies one customer message's media into its thread; their titles
    in `language` (TEAM_LANGUAGE)."""

    max_attempts = 8

    def __init__(
        self,
        client: WebClient,
        context: Context,
        call: Callable[..., Any],
        *,
        limit_mb: int,
        language: str | None = None,
    ) -> None:
        self.language = language
        self.client = client
        self.context = context
        self._call = call  # SlackJobHandlers.call: Slack errors as delivery errors
        self.limit = limit_mb * MEGABYTE

    def perform(self, job: Job) -> dict[str, Any]:
        with speaking(self.language):
            return self._copy(job)

    def _copy(self, job: Job) -> dict[str, Any]:
        work = self._work(job)
        source = work.account.channel if work.account is not None else None
        if self.limit == 0 or not isinstance(source, MediaSource):
            return {"not_copied": []}  # the mirrored message names them: nothing to add
        not_copied: list[dict[str, Any]] = []
        for attachment in work.attachments:
            url = attachment.get("url", "")
            if not source.holds(url):
                continue
            try:
                media = source.media(url, limit=self.limit)
            except MediaTooLarge as large:
                not_copied.append({**attachment, "size": large.size})
                continue
            except PermanentError as gone:
                not_copied.append({**attachment, "reason": gone.reason})
                continue
            self._share(job, work, attachment, media)
        return {"not_copied": not_copied}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        message = _message(session, job)
        label = self.context.label(message.network)
        for index, item in enumerate((result or {}).get("not_copied", [])):
            fact = MediaNotCopied(
                item.get("kind", "file"),
                item.get("title", ""),
                label,
                size=int(item.get("size", 0)),
                limit=self.limit,
                reason=item.get("reason", ""),
            )
            self.context.outbox.thread(session, message.conversation, f"{job.key}:{index}", fact)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        message = repo.message(session, read(MediaJob, job.payload).message_id)
        if message is None:
            return
        label = self.context.label(message.network)
        for index, attachment in enumerate(message.attachments or ()):
            if not is_media_reference(attachment.get("url", "")):
                continue
            kind, title = attachment.get("kind", "file"), attachment.get("title", "")
            fact = MediaNotCopied(kind, title, label, reason=reason)
            self.context.outbox.thread(session, message.conversation, f"{job.key}:{index}", fact)

    # --- steps ---------------------------------------------------------------------------------
    def _work(self, job: Job) -> _Copy:
        with self.context.database.reading() as session:
            message = _message(session, job)
            conversation = message.conversation
            thread = conversation.slack_thread_ts
            if thread is None:
                raise TransientError("the conversation's card is not posted yet")
            customer = message.customer.name if message.customer else ""
            work = _Copy(
                conversation.slack_channel_id,
                thread,
                None,
                self.context.label(message.network),
                tuple(dict(a) for a in message.attachments or ()),
                customer or message.author or _("the customer"),
            )
        # Outside the transaction: finding the account may ask the network who it is.
        return replace(work, account=self.context.account_of(conversation))

    def _share(self, job: Job, work: _Copy, attachment: Mapping[str, str], media: Media) -> None:
        filename = _filename(attachment.get("title", ""), media)
        kind = attachment.get("kind", "file")
        title = _("{kind} from {customer} on {network}").format(
            kind=_label(kind), customer=work.customer, network=work.network_label
        )
        if job.tried_before and self._shared(work, filename, len(media.data)):
            log.info("slack.media_found", job_id=job.id)
            return
        self._call(
            self.client.files_upload_v2,
            channel=work.channel,
            thread_ts=work.thread_ts,
            file=media.data,
            filename=filename,
            title=title,
            alt_txt=title if kind in ("image", "sticker") else None,
        )
        log.info("slack.media_copied", job_id=job.id, kind=kind, size=len(media.data))

    def _shared(self, work: _Copy, filename: str, size: int) -> bool:
        """Whether an earlier attempt's upload reached the thread (its answer lost)."""
        page = self._call(
            self.client.conversations_replies,
            channel=work.channel,
            ts=work.thread_ts,
            limit=LOOKBACK,
        )
        return any(
            file.get("name") == filename and file.get("size") == size
            for message in page.get("messages", [])
            for file in message.get("files") or ()
        )


def _filename(title: str, media: Media) -> str:
    """The customer's own file name for a document; the network's, with the media's id, for the
    rest (a photo has no name)."""
    cleaned = "".join(c for c in title if c.isprintable() and c not in '/\\:*?"<>|').strip()
    return cleaned[:200] or media.filename


def _label(kind: str) -> str:
    return attachment_what(kind).capitalize()  # "video" -> "Video"


def _message(session: Session, job: Job) -> Message:
    try:
        message_id = read(MediaJob, job.payload).message_id
    except ValueError as error:
        raise PermanentError(f"not a media copy: {error}") from None
    message = repo.message(session, message_id)
    if message is None:
        raise PermanentError(f"message {message_id} no longer exists")
    return message
