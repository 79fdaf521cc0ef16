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


PHASES = ("tracking", "enhancing")  # the two passes over a video (vidsr.pipeline.video.Progress)


def phase_share(stage: str, done: int, total: int) -> float:
    """How far through its video a file is, 0-1, with each pass counted as half: so one bar
    (and one clock, one time remaining) runs from the first frame tracked to the last written."""
    part = done / total if total else 0.0
    return (PHASES.index(stage) + min(1.0, part)) / len(PHASES) if stage in PHASES else part


class VideoBars:
    """`vidsr enhance`'s display on stderr: the current file and all files, each with its elapsed
    and remaining time. Started at the first file (a run that fails before it draws nothing);
    the file's bar is reset at every new file, so its clock starts again and never stops
    between the two passes."""

    def __init__(self, console):
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                             TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=console,
                             transient=True)
        self.console, self.started, self.done, self.n, self.name = console, False, 0, 0, ""
        self.overall = self.bars.add_task("[bold]all videos", total=1.0, start=False)
        self.current = self.bars.add_task("", total=1.0, visible=False, start=False)

    def _start(self) -> None:
        if not self.started:
            self.bars.start()
            self.bars.start_task(self.overall)
            self.started = True

    def file_started(self, i: int, n: int, name: str) -> None:
        self._start()
        self.n, self.name = n, name
        self.bars.update(self.overall, description=f"[bold]all videos ({i + 1}/{n})", total=n, completed=self.done)
        self.bars.reset(self.current, total=1.0, completed=0, description=f"starting {name}", visible=True)

    def file_done(self, n: int) -> None:
        self.done += 1
        self.bars.update(self.overall, total=n, completed=self.done)

    def progress(self, stage: str, done: int, total: int) -> None:
        share = phase_share(stage, done, total)
        self.bars.update(self.current, description=f"{stage} {self.name}", completed=share)
        self.bars.update(self.overall, completed=self.done + share)

    def cluster(self, state: dict) -> None:
        """A Ray run's progress (:mod:`vidsr.pipeline.cluster`): files done, running and failed,
        and the frames per second over the cluster, on the bar of all videos."""
        self._start()
        self.bars.update(self.overall, total=state["total"], completed=state["done"],
                         description=f"[bold]all videos[/] running {state['running']}, failed {state['failed']}, "
                                     f"{state['fps']:.1f} frames/s over {state['workers']} worker(s)")

    def print(self, text: str) -> None:
        (self.bars.console if self.started else self.console).print(text, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        if self.started:
            self.bars.stop()
