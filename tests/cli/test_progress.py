"""Long commands say how far they are: `db copy-to` and `vip import` run as a job (standard error
not a terminal) log structured progress events; bot/progress.py spaces them out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from structlog.testing import capture_logs

from bot.progress import by_name, progress
from storage.db import Database
from storage.models import Vip


def carebridge(cwd: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "X_")) and k != "LOG_FORMAT"
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**env, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def events(stderr: str, name: str) -> list[dict[str, Any]]:
    """The JSON log lines of event `name` (every line of standard error must be JSON)."""
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    return [line for line in lines if line.get("event") == name]


def test_copy_to_logs_each_tables_progress_as_json(tmp_path: Path, database_url: str) -> None:
    source = Database(database_url)
    with source.transaction() as session:
        now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        session.add_all(
            Vip(network="x", handle=f"vip{n}", note="press", added_by="UANNA", added_at=now)
            for n in range(2_500)
        )
    source.dispose()
    target = f"sqlite:///{tmp_path / 'target.db'}"

    result = carebridge(tmp_path, database_url, "db", "copy-to", target)

    assert result.returncode == 0, result.stderr
    assert "2500 vips" in result.stdout
    progress = events(result.stderr, "db.copy_progress")
    assert {"table": "vips", "rows": 2_500, "total": 2_500} in [
        {k: e[k] for k in ("table", "rows", "total")} for e in progress
    ]
    assert all(e["level"] == "info" and "timestamp" in e for e in progress)
    assert {e["table"] for e in progress} == {"vips"}  # empty tables have nothing to report
    copied = Database(target)
    with copied.transaction() as session:
        assert session.scalar(select(func.count(Vip.id))) == 2_500
    copied.dispose()


def test_vip_import_logs_its_progress_as_json(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "vips.csv"
    path.write_text("handle,note\n" + "".join(f"person{n},customer\n" for n in range(1_200)))

    result = carebridge(tmp_path, database_url, "vip", "import", str(path))

    assert result.returncode == 0, result.stderr
    assert "imported 1200 VIPs" in result.stdout
    seen = [
        (e["table"], e["rows"], e["total"]) for e in events(result.stderr, "vip.import_progress")
    ]
    assert seen == [("vips", 1_000, 1_200), ("vips", 1_200, 1_200)]  # every 1,000, and the end


def test_progress_events_are_spaced_and_the_end_is_said() -> None:
    with capture_logs() as logged, progress("thing.progress", interactive=False, every=3) as track:
        report = by_name(track)
        for rows in range(1, 8):
            report("messages", rows, 7)
        unknown = track("stream", None)  # no total: only the spacing
        for rows in range(1, 5):
            unknown(rows)
    assert [(e["event"], e["table"], e["rows"], e.get("total")) for e in logged] == [
        ("thing.progress", "messages", 3, 7),
        ("thing.progress", "messages", 6, 7),
        ("thing.progress", "messages", 7, 7),
        ("thing.progress", "stream", 3, None),
    ]
