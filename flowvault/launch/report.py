"""Smoke and launch results rendered: one text line, a summary table, GitHub Markdown, JSON and JUnit XML.

Every renderer masks registered secrets; a Result carries none to begin with (keys travel in headers only).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import IO

from flowvault.errors import FlowvaultError, UsageError
from flowvault.launch.base import BLOCKED, ERROR, FAILED, PASSED, Result
from flowvault.masking import mask

ICONS = {PASSED: "✅", FAILED: "❌", BLOCKED: "⏸️", ERROR: "⚠️"}


def label(result: Result) -> str:
    return "timeout" if result.timed_out else result.outcome


def result_line(result: Result, *, started: bool = False, message: bool = True) -> str:
    """`idm-ok: passed (ended) run 104 in 0.1 s: process osgiProcess ran to its end`; `started`: a run that
    `launch --no-wait` started and did not wait for says "started", not "passed"; `message=False` leaves out
    the message (said elsewhere)."""
    status = f" ({result.status})" if result.status else ""
    run = f" run {result.run_id}" if result.run_id else ""
    text = result.message or ""
    if text.startswith(f"launcher {result.launcher}: "):  # the launch clients name the launcher already
        text = text[len(f"launcher {result.launcher}: "):]
    word = "started" if started and result.outcome == PASSED else label(result)
    said = f": {text}" if message and text else ""
    return mask(f"{result.launcher}: {word}{status}{run} in {result.duration:.1f} s{said}")


def summary(results: list[Result]) -> dict:
    counts = {outcome: sum(1 for r in results if r.outcome == outcome) for outcome in (PASSED, FAILED, BLOCKED, ERROR)}
    return {"launchers": len(results), **counts, "ok": all(r.outcome == PASSED for r in results)}


def to_json(results: list[Result]) -> str:
    return json.dumps({"summary": summary(results), "results": [r.to_dict() for r in results]}, indent=2,
                      sort_keys=True, ensure_ascii=False)


def table(results: list[Result], stream: IO[str] | None = None) -> str | None:
    """The summary table: a rich table written to `stream` on a terminal (returns None), else plain text."""
    stream = stream or sys.stdout
    rows = [(r.launcher, r.type, label(r), r.status or "", r.run_id or "", f"{r.duration:.1f}s", r.message)
            for r in results]
    if _tty(stream) and os.environ.get("NO_COLOR"):
        # the plain table: rich's has escape codes (bold, the title's style) even without colour (issue 19)
        stream.write(_plain(results, rows) + "\n")
        return None
    if _tty(stream):
        from rich.console import Console
        from rich.table import Table

        t = Table(title="flowvault smoke")
        for column in ("launcher", "type", "outcome", "status", "run id", "time", "message"):
            # ids and times are copied whole: never wrapped (a 36-character run id wrapped at 120 columns)
            t.add_column(column, overflow="fold", no_wrap=column in ("launcher", "run id", "time"))
        styles = {PASSED: "green", FAILED: "red", BLOCKED: "yellow", ERROR: "magenta", "timeout": "magenta"}
        for row in rows:
            t.add_row(*(mask(c) for c in row), style=styles.get(row[2]))
        Console(file=stream, no_color=bool(os.environ.get("NO_COLOR"))).print(t)
        return None
    return _plain(results, rows)


def _plain(results: list[Result], rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows + [("launcher", "type", "outcome", "status", "run id", "time", "")])
              for i in range(6)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("launcher", "type", "outcome", "status", "run id", "time"),
                                                   widths, strict=True)) + "  message"]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row[:6], widths, strict=True)) + "  " + row[6])
    s = summary(results)
    lines.append(f"{s['passed']} passed, {s['failed']} failed, {s['blocked']} blocked, {s['error']} errors")
    return mask("\n".join(lines))


def _tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def markdown(results: list[Result]) -> str:
    """GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY: a results table, then details per launcher."""
    s = summary(results)
    head = "passed" if s["ok"] else "FAILED"
    lines = [f"### flowvault smoke: {head}", "",
             f"{s['passed']} passed, {s['failed']} failed, {s['blocked']} blocked, {s['error']} errors", "",
             "| | launcher | type | outcome | status | run id | time |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {ICONS[r.outcome]} | {_md(r.launcher)} | {r.type} | {label(r)} | {_md(r.status or '')} | "
                     f"`{_md(r.run_id or '-')}` | {r.duration:.1f} s |")
    details = [r for r in results if r.message]
    if details:
        lines += ["", "<details><summary>Messages</summary>", ""]
        lines += [f"- **{_md(r.launcher)}**: {_md(r.message)}" for r in details]
        lines += ["", "</details>"]
    return mask("\n".join(lines) + "\n")


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def check_writable(path: str | os.PathLike, option: str = "--junit") -> None:
    """UsageError (exit 2) unless a file can be written at `path`: its folder exists and is writable, and it is not
    a folder itself. Checked before the launchers run, so that a typo does not cost a whole smoke run."""
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise UsageError(f"{option} {path}: is a folder; give a file name, e.g. {os.path.join(path, 'smoke.xml')}")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it or give another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot write there (permission denied); give another path")


def write_junit(results: Iterable[Result], path: str | os.PathLike, suite_name: str = "flowvault smoke") -> None:
    """JUnit XML: one testcase per launcher (classname flowvault.<type>); failure = the flow said no, error = the
    service failed or the run timed out, skipped = blocked on user input or an event; run id and last status in
    system-out (reference 4.5)."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

    suite = TestSuite(suite_name)
    for r in results:
        case = TestCase(r.launcher, classname=f"flowvault.{r.type}", time=round(r.duration, 3))
        message = mask(r.message)
        if r.outcome == FAILED:
            case.result = [Failure(message, "FlowFailed")]
        elif r.outcome == ERROR:
            case.result = [Error(message, "Timeout" if r.timed_out else "ServiceError")]
        elif r.outcome == BLOCKED:
            case.result = [Skipped(message)]
        out = {"run_id": r.run_id, "status": r.status, "outcome": label(r), "waiting_on": r.waiting_on,
               "http_status": r.http_status, "last_response": r.output}
        case.system_out = mask(json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False, default=str))
        suite.add_testcase(case)
    suite.update_statistics()
    xml = JUnitXml()
    xml.add_testsuite(suite)
    xml.update_statistics()
    try:
        xml.write(str(path), pretty=True)
    except OSError as e:  # checked before the run (check_writable); a disk can still fill up
        raise FlowvaultError(f"{path}: cannot write the JUnit XML ({e.strerror or e})") from e  # exit 3
