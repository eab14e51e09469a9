"""GitHub Actions: annotations (`::error`/`::warning` workflow commands) and the step summary, when run there.

Only when GITHUB_ACTIONS=true (set by every Actions runner): elsewhere nothing changes. Annotations go to stderr,
which the runner reads for workflow commands like stdout, so that stdout keeps only the command's data.
"""

from __future__ import annotations

import os

import click

from flowvault.masking import mask


def active() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape(text: str, *, prop: bool = False) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions (escaping as the toolkit does)
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotate(level: str, title: str, message: str) -> None:
    """An `::error` / `::warning` annotation on the run's summary page (when in GitHub Actions)."""
    if active():
        click.echo(f"::{level} title={_escape(title, prop=True)}::{_escape(mask(message))}", err=True)


def step_summary(markdown: str) -> None:
    """Append `markdown` to $GITHUB_STEP_SUMMARY (when in GitHub Actions and the file is given)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if active() and path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(mask(markdown).rstrip("\n") + "\n\n")
