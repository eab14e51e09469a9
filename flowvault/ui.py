"""Progress and log lines on stderr: a rich progress bar per task on a terminal, plain lines otherwise.

Data (a command's result) goes to stdout and never through here. NO_COLOR (https://no-color.org) turns colour
off; TERM=dumb, CI or a stderr that is not a terminal gives plain, greppable lines for CI logs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from flowvault.masking import mask, safe_text

if TYPE_CHECKING:
    from rich.console import Console


def is_interactive(stream: IO[str]) -> bool:
    """True when `stream` is a terminal a person watches: animate there; print plain lines everywhere else.
    NO_COLOR asks for a plain terminal: no escape codes, so no animation either (issue 19)."""
    try:
        # CI set: a log, even when the runner gives a pseudo-terminal (as flowvault.launch.progress does)
        return (stream.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")
                and not os.environ.get("NO_COLOR"))
    except (AttributeError, ValueError):
        return False


class Task:
    """One progress bar (or its plain-line equivalent): `advance(detail)` after each item."""

    def __init__(self, ui: UI, label: str, total: int | None, bar=None, task_id=None) -> None:
        self._ui = ui
        self.label = label
        self.total = total
        self.done = 0
        self._bar = bar
        self._id = task_id
        self._lock = threading.Lock()

    def set_total(self, total: int) -> None:
        with self._lock:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._id, total=total)

    def advance(self, detail: str = "", *, step: int = 1) -> None:
        detail = safe_text(detail)  # a flow's name, from the service: one line, no bidi tricks
        with self._lock:
            self.done += step
            done, total = self.done, self.total
        if self._bar is not None:
            self._bar.update(self._id, advance=step, description=f"{self.label} {mask(detail)}"[:60])
        elif detail:
            of = f"/{total}" if total is not None else ""
            self._ui.info(f"{self.label}: {done}{of} {detail}")


class UI:
    """Where messages and progress go (stderr by default)."""

    def __init__(self, stream: IO[str] | None = None, *, interactive: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = is_interactive(self.stream) if interactive is None else interactive
        self.color = self.interactive and not os.environ.get("NO_COLOR")
        self.quiet = quiet
        self._lock = threading.Lock()
        self._console: Console | None = None
        self._warned: set[str] = set()

    def _rich_console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, no_color=not self.color, highlight=False,
                                    force_terminal=self.interactive, soft_wrap=True)
        return self._console

    def info(self, message: str) -> None:
        """A log line (masked; control characters and bidi marks escaped, so a name cannot forge a line)."""
        if self.quiet:
            return
        self._write(safe_text(mask(message)))

    def warn(self, message: str, *, once: str | None = None) -> None:
        """A warning line; with `once`, printed at most once per UI (per run) for that key."""
        if once is not None:
            with self._lock:
                if once in self._warned:
                    return
                self._warned.add(once)
        self._write(f"flowvault: warning: {safe_text(mask(message))}", style="yellow")

    def _write(self, line: str, style: str | None = None) -> None:
        if self.interactive:
            self._rich_console().print(line, style=style if self.color else None, markup=False)
        else:
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()

    @contextlib.contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Task]:
        """A progress bar for `label` on a terminal; plain "label: n/total item" lines elsewhere."""
        if not self.interactive or self.quiet:
            yield Task(self, label, total)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self._rich_console(), transient=False,
        )
        with bar:
            task_id = bar.add_task(label, total=total)
            yield Task(self, label, total, bar, task_id)
