"""Priority: who writes and how. Scored when a customer writes; picks targets and outbox order.

Also the VIP list, kept from Slack (`/care vip ...`) and imported from CSV. Handles are checked as
their network defines them and notes as text a person wrote, so nothing else is ever stored.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from bot.domain.answers import CommandError, Usage, VipAdded, VipEntry, VipList, VipRemoved
from bot.domain.facts import UrgentConversation
from bot.domain.priority import PriorityInput, PriorityResult, PriorityRules, score_priority
from bot.domain.reading import Reading
from bot.domain.sla import Priority
from bot.networks.base import NetworkSpec
from bot.services.context import Context
from bot.services.handles import handle_networks, parse_handle
from bot.services.oncall import OnCallService
from storage import repositories as repo
from storage.models import Conversation, Customer, Message

log = structlog.get_logger(__name__)
MAX_NOTE = 200
MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_ROWS = 10_000
IMPORT_PROGRESS_EVERY = 100  # rows between two calls of an import's progress callback


class Prioritizer:
    def __init__(self, context: Context, rules: PriorityRules, oncall: OnCallService) -> None:
        self.context = context
        self.rules = rules
        self.oncall = oncall

    def assess(
        self,
        conversation: Conversation,
        customer: Customer,
        message: Message,
        *,
        vip_note: str | None,
        contacts: int,
        reading: Reading,
    ) -> PriorityResult:
        """Score the conversation on the customer's latest message, inside ingest's
        transaction. `vip_note` is the VIP list's note on the customer's handle, `contacts`
        the person's conversations within the repeat window and `reading` what the message
        says, read by the caller for a page."""
        facts = PriorityInput(
            vip_note=vip_note or customer.vip_note,
            followers=customer.followers,
            verified=customer.verified,
            sentiment_score=reading.sentiment,
            text=message.text,
            contacts_in_window=contacts,
        )
        result = score_priority(facts, self.rules)
        conversation.priority = str(result.priority)
        conversation.priority_reasons = list(result.reasons)
        return result

    def ping_if_urgent(
        self,
        session: Session,
        conversation: Conversation,
        customer: Customer,
        result: PriorityResult,
    ) -> None:
        """An urgent conversation pings the on-call agent in the channel, once, after its card."""
        if result.priority != Priority.URGENT or conversation.urgent_pinged_at is not None:
            return
        now = self.context.clock.now()
        conversation.urgent_pinged_at = now
        on_call = self.oncall.current(session, now).user
        self.context.outbox.channel(
            session,
            conversation.slack_channel_id,
            f"urgent:{conversation.id}",
            UrgentConversation(customer.handle, tuple(result.reasons), on_call, name=customer.name),
            after=conversation,
        )
        log.info("priority.urgent", conversation_id=conversation.id)


@dataclass(frozen=True)
class _Vip:
    network: str
    handle: str  # lower case, without the @


VipAnswer = VipAdded | VipRemoved | VipList | Usage | CommandError


class Vips:
    """The VIP list, managed from Slack (`/care vip ...`) and imported from CSV."""

    def __init__(self, context: Context, networks: Sequence[NetworkSpec]) -> None:
        self.context = context
        # Only networks whose customers have handles; the first is the default for a bare @name.
        self.networks = handle_networks(networks)

    def command(
        self, text: str, user: str
    ) -> VipAdded | VipRemoved | VipList | Usage | CommandError:
        words = text.split(maxsplit=2)
        action = words[0].lower() if words else "list"
        if action == "list" and len(words) <= 1:
            return self._list()
        if action not in ("add", "remove") or len(words) < 2:
            return Usage("vip")
        vip = self._parse(words[1])
        if isinstance(vip, CommandError):
            return vip
        if action == "remove":
            return VipRemoved(vip.handle, self.remove(vip, user))
        if len(words) < 3:
            return Usage("vip", "a VIP needs a note saying who they are")
        note = _note(words[2])
        if isinstance(note, CommandError):
            return note
        self.add(vip, note, user)
        return VipAdded(vip.handle, note)

    def add(self, vip: _Vip, note: str, user: str) -> None:
        now = self.context.clock.now()
        with self.context.transaction() as session:
            self._store(session, vip, note, user)
            repo.audit(session, None, user, "vip_add", now, handle=vip.handle)

    def remove(self, vip: _Vip, user: str) -> bool:
        now = self.context.clock.now()
        with self.context.transaction() as session:
            removed = repo.delete_vip(session, vip.network, vip.handle)
            if removed:
                repo.audit(session, None, user, "vip_remove", now, handle=vip.handle)
            return removed

    def import_csv(
        self, text: str, user: str, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Rows of `handle,note` (a header row is allowed), all stored in one transaction or none;
        ValueError names every line at fault. `progress` is told the rows stored so far and how
        many there are, every IMPORT_PROGRESS_EVERY rows and at the end."""
        if len(text.encode()) > MAX_IMPORT_BYTES:
            raise ValueError(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
        try:
            rows = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text)), 1) if any(r)]
        except csv.Error as error:
            raise ValueError(f"not a CSV file: {error}") from None
        if rows and rows[0][1][0].strip().lower() == "handle":
            rows = rows[1:]
        if len(rows) > MAX_IMPORT_ROWS:
            raise ValueError(f"{len(rows)} rows: at most {MAX_IMPORT_ROWS} at a time")
        problems: list[str] = []
        valid: list[tuple[_Vip, str]] = []
        for number, row in rows:
            if len(row) < 2:
                problems.append(f"line {number}: expected handle,note")
                continue
            vip, note = self._parse(row[0]), _note(row[1])
            for result in (vip, note):
                if isinstance(result, CommandError):
                    problems.append(f"line {number}: {result.message}")
            if not isinstance(vip, CommandError) and not isinstance(note, CommandError):
                valid.append((vip, note))
        if problems:
            more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
            raise ValueError("; ".join(problems[:20]) + more)
        now = self.context.clock.now()
        with self.context.transaction() as session:
            for stored, (vip, note) in enumerate(valid, start=1):
                self._store(session, vip, note, user)
                if progress is not None and (
                    stored % IMPORT_PROGRESS_EVERY == 0 or stored == len(valid)
                ):
                    progress(stored, len(valid))
            repo.audit(session, None, user, "vip_import", now, count=len(valid))
        return len(valid)

    def _store(self, session: Session, vip: _Vip, note: str, user: str) -> None:
        repo.upsert_vip(session, vip.network, vip.handle, note, user, self.context.clock.now())

    def _parse(self, word: str) -> _Vip | CommandError:
        parsed = parse_handle(word, self.networks)
        if isinstance(parsed, CommandError):
            return parsed
        return _Vip(parsed.network, parsed.handle.lower())

    def _list(self) -> VipList:
        with self.context.database.reading() as session:
            entries = tuple(
                VipEntry(v.handle, v.note, self.context.label(v.network))
                for spec in self.networks
                for v in repo.vips(session, spec.name)
            )
        return VipList(entries)


def _note(text: str) -> str | CommandError:
    note = " ".join(text.split())
    if not note:
        return CommandError("the note is empty")
    if len(note) > MAX_NOTE:
        return CommandError(f"the note is {len(note)} characters: at most {MAX_NOTE}")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in note):
        return CommandError("the note holds control characters")
    return note
