"""`carebridge export` as a reporting job runs it, against conversations the real bot handled in
the sandbox: the columns, the `pii_` names, JSON Lines, and customer text that would be a
spreadsheet formula neutralised in every CSV (`carebridge stats --csv` too)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import running_world
from bot.slack import blocks
from storage.db import Database
from storage.models import Conversation
from tests.e2e.conftest import MONDAY_10
from tests.e2e.test_forwarding import forward

BILLING = "C0BILLING1"
EVIL = '=HYPERLINK("http://evil","x")'
EVIL_NAME = "=cmd|' /C calc'!A0"
WIDE = "3650d"  # the CLI reads the real clock: a window wide enough for the test's morning

CONVERSATION_COLUMNS = [
    "id",
    "account",
    "network",
    "visibility",
    "status",
    "priority",
    "topic",
    "opened_at",
    "first_response_at",
    "first_response_seconds",
    "first_response_business_seconds",
    "resolved_at",
    "resolved_by",
    "assignee",
    "inbound_count",
    "outbound_count",
    "reopened_count",
    "csat_score",
    "forwarded_to",
    "slack_permalink",
    "pii_customer_handle",
    "pii_customer_name",
    "pii_customer_external_id",
    "pii_csat_comment",
]
MESSAGE_COLUMNS = [
    "id",
    "conversation_id",
    "direction",
    "visibility",
    "network",
    "created_at",
    "author_kind",
    "agent",
    "delivery",
    "deleted_at",
    "pii_text",
]


def carebridge(cwd: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**env, "DATABASE_URL": database_url, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def handled(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str
) -> Iterator[str]:
    """A morning's work: Giulia's refund by DM, answered, forwarded to Billing, resolved and
    scored; then a customer whose name and message are formulas. The database's URL."""
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    slack_emulator.add_channel(BILLING, ["UMARCO"], name="billing")
    env = {"SLACK_LEADS": "UCARLA", "CSAT_DELAY": "10m"}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        assert "Billing saved" in world.care("UCARLA", f"teams add Billing <#{BILLING}|billing> 4h")
        world.direct_message("giulia", "Ciao, il rimborso?", "Giulia Rossi")
        card = world.card_of("giulia")
        world.press("UANNA", blocks.CLAIM, card)
        world.advance(timedelta(minutes=4))
        world.reply_in_thread("UANNA", "Verifico subito.", str(card["ts"]))
        world.settle()
        assert forward(world, "UANNA", world.card_of("giulia"), "Rimborso 39,90 €") == ""
        world.press("UANNA", blocks.RESOLVE, world.card_of("giulia"))
        world.settle()
        world.advance(timedelta(minutes=10))
        assert world.ask_surveys() == 1
        world.direct_message("giulia", "4 =SUM(A1:A9) veloci")
        world.direct_message("mallory", EVIL, EVIL_NAME)
        yield database_url


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_of_both_tables_writes_two_files_with_pii_columns_named(
    handled: str, tmp_path: Path
) -> None:
    result = carebridge(tmp_path, handled, "export", "--since", WIDE, "-o", "out.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == [
        "out.conversations.csv",
        "out.messages.csv",
    ]
    conversations_text = (tmp_path / "out.conversations.csv").read_text(encoding="utf-8")
    messages_text = (tmp_path / "out.messages.csv").read_text(encoding="utf-8")
    assert next(csv.reader(io.StringIO(conversations_text))) == CONVERSATION_COLUMNS
    assert next(csv.reader(io.StringIO(messages_text))) == MESSAGE_COLUMNS
    # Not on a terminal: the log says what was written, as JSON events.
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["event"], e["table"], e["rows"]) for e in events] == [
        ("export.written", "conversations", 2),
        ("export.written", "messages", len(rows_of(messages_text))),
    ]

    giulia, mallory = rows_of(conversations_text)
    assert int(giulia["id"]) < int(mallory["id"])  # by id
    assert giulia["visibility"] == "private" and giulia["status"] == "resolved"
    assert giulia["assignee"] == "UANNA" and giulia["resolved_by"] == "UANNA"
    assert giulia["opened_at"] == "2026-11-23T09:00:00+00:00"
    assert giulia["first_response_seconds"] == "240"
    assert giulia["csat_score"] == "4" and giulia["pii_csat_comment"] == "'=SUM(A1:A9) veloci"
    assert giulia["forwarded_to"] == "Billing"
    assert giulia["inbound_count"] == "1" and giulia["outbound_count"] == "1"
    assert giulia["pii_customer_handle"] == "giulia"
    assert giulia["pii_customer_name"] == "Giulia Rossi"
    assert giulia["pii_customer_external_id"]
    assert giulia["slack_permalink"].startswith("http")
    assert mallory["pii_customer_name"] == "'" + EVIL_NAME
    assert mallory["csat_score"] == "" and mallory["forwarded_to"] == ""

    messages = rows_of(messages_text)
    assert [int(m["id"]) for m in messages] == sorted(int(m["id"]) for m in messages)
    kinds = {(m["pii_text"], m["author_kind"], m["agent"]) for m in messages}
    assert ("Ciao, il rimborso?", "customer", "") in kinds
    assert ("Verifico subito.", "agent", "UANNA") in kinds
    assert any(kind == "bot" for _, kind, _ in kinds)  # the survey's question
    [evil] = [m for m in messages if m["conversation_id"] == mallory["id"]]
    assert evil["pii_text"] == "'" + EVIL  # a text cell, never a formula
    assert evil["direction"] == "inbound" and evil["created_at"].endswith("+00:00")
    # As a spreadsheet sees the file: quoted, the quote mark first.
    assert '"\'=HYPERLINK(""http://evil"",""x"")"' in messages_text


def test_jsonl_holds_both_tables_in_one_stream_as_written(handled: str, tmp_path: Path) -> None:
    result = carebridge(tmp_path, handled, "export", "--since", WIDE, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    records = [line["record"] for line in lines]
    assert records == sorted(records)  # conversations first, then messages
    conversations = [line for line in lines if line["record"] == "conversation"]
    messages = [line for line in lines if line["record"] == "message"]
    assert [list(c) for c in conversations[:1]] == [["record", *CONVERSATION_COLUMNS]]
    assert list(messages[0]) == ["record", *MESSAGE_COLUMNS]
    giulia, mallory = conversations
    assert giulia["csat_score"] == 4 and giulia["forwarded_to"] == ["Billing"]
    assert giulia["first_response_seconds"] == 240 and giulia["pii_csat_comment"][0] == "="
    assert mallory["pii_customer_name"] == EVIL_NAME  # JSON is data to a program: as written
    assert any(m["pii_text"] == EVIL for m in messages)
    assert result.stdout.isascii()


def test_one_table_and_a_period_that_ends_before_anything(handled: str, tmp_path: Path) -> None:
    args = ("export", "--since", WIDE, "--what", "messages", "--until", "3000d")
    result = carebridge(tmp_path, handled, *args)
    assert result.returncode == 0, result.stderr
    assert rows_of(result.stdout) == []
    assert next(csv.reader(io.StringIO(result.stdout))) == MESSAGE_COLUMNS


def test_stats_csv_neutralises_a_scope_that_is_a_formula(handled: str, tmp_path: Path) -> None:
    database = Database(handled)
    with database.transaction() as session:
        session.execute(update(Conversation).values(assignee="=2+5"))
    database.dispose()
    result = carebridge(tmp_path, handled, "stats", "--since", WIDE, "--csv")
    assert result.returncode == 0, result.stderr
    assert [row["scope"] for row in rows_of(result.stdout)] == ["team", "'=2+5"]
    team = next(line for line in result.stdout.splitlines() if line.startswith('"team"'))
    assert team.split(",")[3] == "2"  # a number stays a number: unquoted


def test_what_cannot_be_written_is_refused_before_anything_is_read(
    database_url: str, tmp_path: Path
) -> None:
    result = carebridge(tmp_path, database_url, "export", "--since", "30d")
    assert result.returncode == 2
    assert "A CSV holds one table" in result.stderr and "Traceback" not in result.stderr
    result = carebridge(tmp_path, database_url, "export", "--since", "soon", "--what", "messages")
    assert result.returncode == 2 and "is not a period" in result.stderr
    result = carebridge(
        tmp_path, database_url, "export", "--since", "7d", "--until", "30d", "--format", "jsonl"
    )
    assert result.returncode == 2 and "is not after" in result.stderr
    result = carebridge(
        tmp_path, database_url, "export", "--format", "jsonl", "-o", "missing/folder/x.jsonl"
    )
    assert result.returncode == 1 and "Cannot write missing/folder/x.jsonl" in result.stderr
    assert not list(tmp_path.glob("**/*.part"))
