"""The one CSV writer: no text cell can start a spreadsheet formula, numbers stay numbers, and
no other module writes CSV around it."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from bot.reports.csv_safe import FORMULA_STARTS, neutralised, safe_writer

ROOT = Path(__file__).resolve().parents[2]


def written(*rows: list[object]) -> str:
    out = io.StringIO()
    safe_writer(out).writerows(rows)
    return out.getvalue()


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://evil","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+2",
        "\r=1+2",
        "\n=1+2",
    ],
)
def test_each_dangerous_first_character_gets_a_leading_quote(cell: str) -> None:
    [[back]] = read_back(written([cell]))
    assert back == "'" + cell
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r", "\n"}


def test_harmless_text_and_empty_cells_are_left_alone() -> None:
    assert read_back(written(["parcel stuck", "", None, "a = b", "it's 3-4 days"])) == [
        ["parcel stuck", "", "", "a = b", "it's 3-4 days"]
    ]


def test_numbers_stay_numbers_and_only_text_is_neutralised() -> None:
    text = written([-3, -0.25, 0, 42, "-3"])
    # Unquoted: a spreadsheet reads the first four as numbers; the string "-3" is text.
    assert text == '-3,-0.25,0,42,"\'-3"\r\n'
    assert neutralised(-3) == -3 and neutralised(-0.25) == -0.25


def test_every_text_cell_is_quoted_so_a_separator_cannot_start_a_new_cell() -> None:
    """OWASP: `=1+2";=1+2` must not give `=1+2` a cell of its own, here or in a spreadsheet that
    splits on `;` (Excel in Italian)."""
    text = written(['=1+2";=1+2', "a;=1+2", "b,=1+2"])
    assert text == '"\'=1+2"";=1+2","a;=1+2","b,=1+2"\r\n'
    assert read_back(text) == [["'=1+2\";=1+2", "a;=1+2", "b,=1+2"]]


def test_a_formula_after_a_line_break_inside_a_cell_stays_in_that_cell() -> None:
    text = written(['thanks\n=HYPERLINK("http://evil","x")', "next"])
    assert text.startswith('"thanks\n=HYPERLINK(""http://evil"",""x"")","next"')
    assert read_back(text) == [['thanks\n=HYPERLINK("http://evil","x")', "next"]]


def test_unicode_is_kept_whole() -> None:
    cells = ["Però è già arrivato 📦", "=Già 📦", "@пакет", "Ünïcødé 你好"]
    assert read_back(written(cells)) == [
        ["Però è già arrivato 📦", "'=Già 📦", "'@пакет", "Ünïcødé 你好"]
    ]


def test_no_module_writes_csv_but_the_safe_writer() -> None:
    """Every CSV Carebridge writes goes through bot/reports/csv_safe.py."""
    allowed = ROOT / "bot" / "reports" / "csv_safe.py"
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == allowed:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "csv"
                    and node.attr in ("writer", "DictWriter")
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
