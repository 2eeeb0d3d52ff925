"""The team's language: every string the code shows through gettext has a translation in the
Italian and the English catalogue (scripts/i18n check), and the formatting helpers follow the
language in force."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import _, clock, compact, language_of, number, relative, speaking

ROOT = Path(__file__).resolve().parents[1]


def test_every_string_has_an_italian_and_an_english_translation() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n"), "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_string_missing_from_the_catalogues_fails_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    for folder in ("bot", "handlers", "scripts"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "bot" / "new_words.py").write_text(
        'from bot.i18n import _\n\nSAID = _("A sentence nobody translated yet.")\n'
    )
    checked = subprocess.run(
        [sys.executable, str(copy / "scripts" / "i18n"), "check"],
        capture_output=True,
        text=True,
        cwd=copy,
    )
    assert checked.returncode == 1
    assert "it: no translation for 'A sentence nobody translated yet.'" in checked.stdout


def test_the_language_in_force_translates_and_nests() -> None:
    with speaking("it"):
        assert _("Claim") == "Prendi in carico"
        with speaking("en-GB"):
            assert _("Claim") == "Claim"
        assert _("Claim") == "Prendi in carico"
    with speaking("fr"):  # not a language Carebridge speaks: English
        assert _("Claim") == "Claim"
    assert language_of("it-IT") == "it" and language_of("pt_BR") is None


def test_numbers_times_and_durations_follow_the_language() -> None:
    rome = ZoneInfo("Europe/Rome")
    with speaking("it"):
        assert (number(1234), compact(48_200)) == ("1.234", "48,2K")
        assert relative(timedelta(minutes=12)) == "tra 12 minuti"
        assert relative(timedelta(minutes=-12)) == "12 minuti fa"
    with speaking("en"):
        assert (number(1234), compact(48_200)) == ("1,234", "48.2K")
        assert relative(timedelta(minutes=12)) == "in 12 minutes"
    # Rome's clock across the spring DST change and the year's end.
    assert clock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), rome) == "1:30"
    assert clock(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), rome) == "3:30"
    assert clock(datetime(2026, 12, 31, 23, 5, tzinfo=UTC), rome) == "0:05"


def test_no_translated_string_hides_inside_an_f_string() -> None:
    """Babel's extractor skips `_()` within an f-string (Python 3.11): such a string would never
    reach the catalogues, and so never be translated. Translate first, then format."""
    import ast

    hidden = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for inner in ast.walk(node):
                    called = inner.func if isinstance(inner, ast.Call) else None
                    if isinstance(called, ast.Name) and called.id in ("_", "N_", "ngettext"):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []
