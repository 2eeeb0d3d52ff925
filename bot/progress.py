"""How a long command shows it is getting on: a bar on a terminal, log events otherwise.

`carebridge export`, `db copy-to` and `vip import` ask `progress()` for a tracker; per table (or
file) it gives a callback told how many rows are done. On a terminal each gets a rich bar on
standard error; in a job or a container a structured event (`export.progress`,
`db.copy_progress`...) every `every` rows and when a known total is reached, so a log shows
a long run moving without a line per row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

log = structlog.get_logger(__name__)
LOG_EVERY = 10_000  # rows between two progress events in the log

Report = Callable[[int], None]  # told the rows done so far
Tracker = Callable[[str, int | None], Report]  # a name (a table) and its total, if known


def on_terminal() -> bool:
    """Whether a person watches standard error (the bar's stream) rather than a log reader."""
    return sys.stderr.isatty()


@contextmanager
def progress(event: str, *, interactive: bool, every: int = LOG_EVERY) -> Iterator[Tracker]:
    """A tracker for the block: bars when `interactive`, else `event` logged with the table,
    the rows so far and the total when known."""
    if not interactive:
        yield _logged(event, every)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        # Not rich's default: standard output may be the command's result (an export), and the
        # log's handler holds the real stderr anyway.
        redirect_stdout=False,
        redirect_stderr=False,
    ) as bar:

        def shown(name: str, total: int | None) -> Report:
            task = bar.add_task(name, total=total)
            return lambda rows: bar.update(task, completed=rows)

        yield shown


def _logged(event: str, every: int) -> Tracker:
    def track(name: str, total: int | None) -> Report:
        said = 0

        def report(rows: int) -> None:
            nonlocal said
            finished = total is not None and rows >= total > said
            if rows - said >= every or finished:
                log.info(event, table=name, rows=rows, **({"total": total} if total else {}))
                said = rows

        return report

    return track


def by_name(track: Tracker) -> Callable[[str, int, int], None]:
    """The tracker as one callback told a name, its rows done and its total: the form a storage
    or service function takes, without knowing about bars or logs."""
    reports: dict[str, Report] = {}

    def report(name: str, rows: int, total: int) -> None:
        if name not in reports:
            reports[name] = track(name, total)
        reports[name](rows)

    return report
