"""`carebridge vip import` and `carebridge stats` refuse bad input clearly, all at once, and an
import is all or nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Vip


def carebridge(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**env, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def vips(database_url: str) -> int:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            return session.scalar(select(func.count(Vip.id))) or 0
    finally:
        database.dispose()


def test_a_good_file_is_imported(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "vips.csv"
    path.write_text("handle,note\n@Corriere_IT,journalist, Corriere\nmarco_b,VIP customer\n")
    result = carebridge(tmp_path, database_url, "vip", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "imported 2 VIPs" in result.stdout
    assert vips(database_url) == 2


def test_every_bad_line_is_named_and_nothing_is_imported(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "vips.csv"
    path.write_text(
        "handle,note\n"
        "good_one,fine\n"
        "<!channel>,pings everyone\n"
        "way_too_long_for_x_handles,note\n"
        f"ok_handle,{'n' * 201}\n"
        "only_a_handle\n"
        "tab_in_note,bad\tnote\x07\n"
    )
    result = carebridge(tmp_path, database_url, "vip", "import", str(path))
    assert result.returncode == 1
    err = result.stderr
    assert "Nothing imported" in err and "Traceback" not in err
    for fault in (
        "line 3: '<!channel>' is not a valid X handle",
        "line 4: 'way_too_long_for_x_handles' is not a valid X handle",
        "line 5: the note is 201 characters: at most 200",
        "line 6: expected handle,note",
        "line 7: the note holds control characters",
    ):
        assert fault in err, err
    assert vips(database_url) == 0  # the good line waited for the others: all or nothing


def test_a_file_that_is_not_utf8_or_too_big_is_refused(tmp_path: Path, database_url: str) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("handle,note\nnicol\xf2,giornalista\n".encode("latin-1"))
    result = carebridge(tmp_path, database_url, "vip", "import", str(latin))
    assert result.returncode == 1 and "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr
    huge = tmp_path / "huge.csv"
    huge.write_text("handle,note\n" + "someone,note\n" * 100_000)
    result = carebridge(tmp_path, database_url, "vip", "import", str(huge))
    assert result.returncode == 1 and "larger than" in result.stderr
    assert vips(database_url) == 0


def test_stats_refuses_a_period_beyond_ten_years(tmp_path: Path, database_url: str) -> None:
    result = carebridge(tmp_path, database_url, "stats", "--since", "99999999999d")
    assert result.returncode == 2
    assert "is not a period" in result.stderr and "Traceback" not in result.stderr
    result = carebridge(tmp_path, database_url, "stats", "--since", "4000d")
    assert result.returncode == 2 and "longer than ten years" in result.stderr
    result = carebridge(tmp_path, database_url, "stats", "--since", "30d")
    assert result.returncode == 0, result.stderr
