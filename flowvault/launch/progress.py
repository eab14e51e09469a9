"""Live launch progress on stderr: a rich bar with the service's percentage and message on a terminal, one plain
line per state change elsewhere (CI logs; reference 4.5: no animation when stderr is not a TTY or CI is set)."""

from __future__ import annotations

import os
import sys
from typing import IO

from flowvault.masking import mask
from flowvault.ui import is_interactive


class LineProgress:
    """`[name] status 30% message`, printed only when something changed."""

    def __init__(self, name: str, stream: IO[str] | None = None) -> None:
        self.name = name
        self.stream = stream or sys.stderr
        self._last: tuple | None = None

    def update(self, status: str, message: str = "", percentage: float | None = None) -> None:
        state = (status, message, percentage)
        if state == self._last:
            return
        self._last = state
        pct = f" {percentage:g}%" if percentage is not None else ""
        text = f" {message}" if message else ""
        self.stream.write(mask(f"[{self.name}] {status}{pct}{text}") + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class BarProgress:
    """A rich progress bar (percentage when the service gives one, else an indeterminate pulse)."""

    def __init__(self, name: str, stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        console = Console(file=stream or sys.stderr, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
        self.name = name
        self._bar = Progress(TextColumn("[bold]{task.fields[name]}"), BarColumn(), TaskProgressColumn(),
                             TextColumn("{task.fields[status]} {task.description}"), TimeElapsedColumn(),
                             console=console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task("", total=None, name=name, status="starting")

    def update(self, status: str, message: str = "", percentage: float | None = None) -> None:
        description = mask(message)[:50]
        if percentage is not None:
            self._bar.update(self._task, total=100, completed=percentage, description=description, status=status)
        else:
            self._bar.update(self._task, description=description, status=status)

    def close(self) -> None:
        self._bar.stop()


def progress_for(name: str, stream: IO[str] | None = None, *, quiet: bool = False):
    """The progress reporter for launcher `name` on `stream` (stderr): a bar on a terminal, lines otherwise."""
    from flowvault.launch.base import NullProgress

    stream = stream or sys.stderr
    if quiet:
        progress = NullProgress()
        progress.close = lambda: None  # type: ignore[attr-defined]
        return progress
    return BarProgress(name, stream) if is_interactive(stream) else LineProgress(name, stream)
