"""Progress bars and tables for the commands: the library reports through callbacks, the
command line draws them with rich (the only place that does).

The callback is ``progress(task, done, total, note="")``: one bar per ``task`` name,
``done`` of ``total`` (None: not known yet), ``note`` shown beside it (the training losses,
the clip being evaluated).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

Report = Callable[..., None]


@contextlib.contextmanager
def progress_bars(enabled: bool = True, console=None) -> Iterator[Report]:
    """A rich progress display for the ``with`` block, and the callback that drives it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bars = Progress(TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, disable=not enabled)
    tasks: dict[str, object] = {}

    def report(task: str, done: int, total: int | None = None, note: str = "") -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total, completed=done, note=note)
        else:
            bars.update(tasks[task], completed=done, total=total, note=note)

    with bars:
        yield report


def print_tables(title: str, tables: list[tuple[str, list[str], list[list]]], lines: list[str] = ()) -> None:
    """``tables`` ((name, columns, rows): numeric columns right-aligned) and ``lines`` on
    stdout, under a bold ``title``; wide enough in a log file that no column is cut."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(f"[bold]{title}[/bold]")
    for name, cols, rows in tables:
        table = Table(title=name)
        for i, col in enumerate(cols):
            table.add_column(col, justify="right" if i and all(isinstance(r[i], int) for r in rows) else "left")
        for row in rows:
            table.add_row(*(str(c) for c in row))
        console.print(table)
    for line in lines:
        console.print(line)
