"""`carebridge export`: conversations and messages for reporting tools, as CSV or JSON Lines.

The columns are a public format: add new ones at the end, never rename one. Every column that
holds a customer's personal data is named `pii_...` (handle, name, the network's id, which on
WhatsApp is a phone number, the message text, the survey comment), so a pipeline that must not
keep personal data drops `pii_*` in one rule. Agents appear as Slack user ids. Times are ISO 8601
in UTC, durations whole seconds, and a missing value is an empty cell (CSV) or null (JSONL).

Rows are written as they are read, a batch at a time (storage/export_queries.py): nothing here
holds more than a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from bot.domain.model import Direction
from bot.reports.csv_safe import safe_writer
from storage import export_queries
from storage.export_queries import ConversationRecord, MessageRecord

R = TypeVar("R")
Value = str | int | float | list[str] | None
Progress = Callable[[int], None]  # the rows written so far
PROGRESS_EVERY = 1000  # rows between two calls of the progress callback
TEAMS_SEPARATOR = "; "  # the teams of `forwarded_to` in a CSV cell (JSONL has a list)


class _Writable(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class Column(Generic[R]):
    name: str
    value: Callable[[R], Value]


@dataclass(frozen=True)
class Table(Generic[R]):
    name: str  # "conversations": the --what choice and the CSV file's middle name
    record: str  # "conversation": JSONL's `record` field, so one stream can hold both tables
    columns: tuple[Column[R], ...]
    read: Callable[[Session, datetime, datetime], Iterator[R]]  # the period's records, streamed
    count: Callable[[Session, datetime, datetime], int]  # how many, for a progress bar


def iso(value: datetime | None) -> str | None:
    """'2026-11-23T09:00:00+00:00' (whole seconds, UTC); None stays None."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _seconds_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else round((end - start).total_seconds())


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def author_kind(direction: str) -> str:
    """customer (inbound), bot (the bot's own notices and survey questions) or agent (answers
    and internal notes, written in Slack or on the network directly)."""
    if direction == Direction.INBOUND:
        return "customer"
    return "bot" if direction == Direction.NOTICE else "agent"


def _c(name: str, value: Callable[[ConversationRecord], Value]) -> Column[ConversationRecord]:
    return Column(name, value)


def _m(name: str, value: Callable[[MessageRecord], Value]) -> Column[MessageRecord]:
    return Column(name, value)


CONVERSATIONS: Table[ConversationRecord] = Table(
    "conversations",
    "conversation",
    (
        _c("id", lambda c: c.id),
        _c("account", lambda c: c.account),
        _c("network", lambda c: c.network),
        _c("visibility", lambda c: c.visibility),
        _c("status", lambda c: c.status),
        _c("priority", lambda c: c.priority),
        _c("topic", lambda c: c.topic),
        _c("opened_at", lambda c: iso(c.opened_at)),
        _c("first_response_at", lambda c: iso(c.first_response_at)),
        _c("first_response_seconds", lambda c: _seconds_between(c.opened_at, c.first_response_at)),
        _c("first_response_business_seconds", lambda c: _whole(c.first_response_business_seconds)),
        _c("resolved_at", lambda c: iso(c.resolved_at)),
        _c("resolved_by", lambda c: c.resolved_by),
        _c("assignee", lambda c: c.assignee),
        _c("inbound_count", lambda c: c.inbound_count),
        _c("outbound_count", lambda c: c.outbound_count),
        _c("reopened_count", lambda c: c.reopened_count),
        _c("csat_score", lambda c: c.csat_score),
        _c("forwarded_to", lambda c: list(c.forwarded_to)),
        _c("slack_permalink", lambda c: c.slack_permalink),
        _c("pii_customer_handle", lambda c: c.customer_handle),
        _c("pii_customer_name", lambda c: c.customer_name),
        _c("pii_customer_external_id", lambda c: c.customer_external_id),
        _c("pii_csat_comment", lambda c: c.csat_comment),
    ),
    export_queries.conversations,
    export_queries.count_conversations,
)
MESSAGES: Table[MessageRecord] = Table(
    "messages",
    "message",
    (
        _m("id", lambda m: m.id),
        _m("conversation_id", lambda m: m.conversation_id),
        _m("direction", lambda m: m.direction),
        _m("visibility", lambda m: m.visibility),
        _m("network", lambda m: m.network),
        _m("created_at", lambda m: iso(m.created_at)),
        _m("author_kind", lambda m: author_kind(m.direction)),
        # The Slack user id of an agent's message ("<network>:direct" for an answer written in
        # the network's own app); a customer's handle is personal data, in the conversation.
        _m("agent", lambda m: m.author if author_kind(m.direction) == "agent" else None),
        _m("delivery", lambda m: m.delivery),
        _m("deleted_at", lambda m: iso(m.deleted_at)),
        _m("pii_text", lambda m: m.text),
    ),
    export_queries.messages,
    export_queries.count_messages,
)


def tables(what: str) -> list[Table[Any]]:
    """The tables `--what` names, conversations first."""
    chosen: list[Table[Any]] = []
    if what in ("conversations", "both"):
        chosen.append(CONVERSATIONS)
    if what in ("messages", "both"):
        chosen.append(MESSAGES)
    return chosen


def csv_path(output: str, table: Table[R]) -> str:
    """Where `-o PATH` writes a table as CSV when both are asked for: PATH.conversations.csv and
    PATH.messages.csv (a PATH ending in .csv loses it first)."""
    stem = output.removesuffix(".csv")
    return f"{stem}.{table.name}.csv"


def write_csv(
    table: Table[R], records: Iterable[R], out: _Writable, progress: Progress | None = None
) -> int:
    """A header row, then a row per record: through the safe writer, as every CSV Carebridge
    writes, since customer text can be a formula. Returns the rows written."""
    writer = safe_writer(out)
    writer.writerow(column.name for column in table.columns)
    written = 0
    for record in records:
        writer.writerow(_cell(column.value(record)) for column in table.columns)
        written = _counted(written, progress)
    if progress is not None:
        progress(written)
    return written


def write_jsonl(
    table: Table[R], records: Iterable[R], out: _Writable, progress: Progress | None = None
) -> int:
    """One JSON object a line, `record` first. Nothing is neutralised: JSON Lines go to programs,
    which read each value as the string it is, never to a spreadsheet that would run it as a
    formula (whoever makes a sheet of it writes that CSV). ASCII only (`\\uXXXX` escapes), so no
    character in customer text, U+2028 say, can split a line for a reader that splits on it."""
    written = 0
    for record in records:
        row: dict[str, Value] = {"record": table.record}
        row.update((column.name, column.value(record)) for column in table.columns)
        out.write(json.dumps(row, separators=(",", ":")) + "\n")
        written = _counted(written, progress)
    if progress is not None:
        progress(written)
    return written


def _cell(value: Value) -> str | int | float | None:
    return TEAMS_SEPARATOR.join(value) if isinstance(value, list) else value


def _counted(written: int, progress: Progress | None) -> int:
    written += 1
    if progress is not None and written % PROGRESS_EVERY == 0:
        progress(written)
    return written
