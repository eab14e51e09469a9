"""The flowvault command line: parse -> call the library -> render.

Each command lives in its own module of this package and imports what it needs inside the command function,
so that `flowvault --help` stays fast. Errors become exit codes in exactly one place: FlowvaultGroup.invoke.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

import click
from click.core import ParameterSource

from flowvault.cli.context import AppContext
from flowvault.errors import ExitStatus, FlowvaultError
from flowvault.masking import MaskingFilter, mask
from flowvault.version import __version__


class OneLineUsageError(click.UsageError):
    """click's usage error shown as one line (DESIGN.md: errors are one line on stderr) with where to look next."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)  # "Invalid value for '--jobs' / '-j': ..."

    def show(self, file=None) -> None:
        # "No such option '--sourc'. Did you mean '--source'?" -> "no such option '--sourc' (did you mean '--source'?)"
        head, _, hint = self.format_message().strip().replace("\n", " ").partition(". ")
        message = _lower_first(head.rstrip("."))
        hint = hint.strip()
        if hint:
            message += f" ({_lower_first(hint[1:-1] if hint.startswith('(') and hint.endswith(')') else hint)})"
        where = self.ctx.command_path if self.ctx else "flowvault"
        click.echo(f"flowvault: {message}; see `{where} --help`", err=True)


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _one_line(error: click.UsageError) -> click.UsageError:
    # `flowvault` alone prints the help (click's NoArgsIsHelpError): that is not an error message to shorten
    if isinstance(error, (OneLineUsageError, getattr(click.exceptions, "NoArgsIsHelpError", ()))):
        return error
    return OneLineUsageError(error)


class FlowvaultGroup(click.Group):
    """A click group that translates every error into one stderr line and an exit code."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:
            raise _one_line(e) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise _one_line(e) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except FlowvaultError as e:
            _report(ctx, e, str(e))
            _json_error(ctx, e, str(e), e.exit_status)
            ctx.exit(int(e.exit_status))
        except KeyboardInterrupt:
            # on a terminal the ^C the shell echoed is still on the line
            lead = "\n" if _isatty(sys.stderr) else ""
            click.echo(f"{lead}flowvault: interrupted", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except Exception as e:  # noqa: BLE001 - the one place unexpected errors are turned into exit 3
            _report(ctx, e, f"unexpected error: {type(e).__name__}: {e}")
            _json_error(ctx, e, f"unexpected error: {type(e).__name__}: {e}", ExitStatus.REMOTE)
            ctx.exit(int(ExitStatus.REMOTE))


def _report(ctx: click.Context, error: BaseException, message: str) -> None:
    app = ctx.find_object(AppContext)
    show_traceback = bool(app and app.traceback)
    if show_traceback:
        click.echo(mask("".join(traceback.format_exception(error))), err=True)
    line = mask(message.splitlines()[0] if message else type(error).__name__)
    hint = "" if show_traceback or isinstance(error, FlowvaultError) else " (run with --traceback for details)"
    click.echo(f"flowvault: {line}{hint}", err=True)


def _json_error(ctx: click.Context, error: BaseException, message: str, status: int) -> None:
    """With --format json given, a failed command still gives a script JSON on stdout: {"error", "exit_status"}
    (issue 19), unless it printed its own (a backup's partial result, a launch's or smoke's results)."""
    if ctx.meta.get(FORMAT_KEY) != "json" or getattr(error, "json_printed", False) or getattr(error, "result", None):
        return
    import json

    click.echo(json.dumps({"error": mask(message.splitlines()[0] if message else type(error).__name__),
                           "exit_status": int(status)}, indent=2, ensure_ascii=False))


# ctx.meta (shared by the whole chain): the running command's --format when the user gave it. JSON is the default of
# some commands (`show`): an error there is for a person at a terminal, said once on stderr, not also as JSON.
FORMAT_KEY = "flowvault.format"


def _remember_format(command: click.Command) -> click.Command:
    original = command.callback
    if original is None:
        return command

    def callback(*args, **kwargs):
        ctx = click.get_current_context()
        given = ctx.get_parameter_source("fmt") in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
        ctx.meta[FORMAT_KEY] = ctx.params.get("fmt") if given else None
        return original(*args, **kwargs)

    command.callback = callback
    return command


def _accept_verbose(command: click.Command) -> click.Command:
    """Accept -v/--verbose after the command too (`flowvault backup -v`): it is the global option, added to it
    (`flowvault -v backup -v` is -vv). It said "no such option '-v'" (issue 19 review)."""
    if not any(opt in ("-v", "--verbose") for p in command.params for opt in getattr(p, "opts", ())):
        command.params.append(click.Option(["-v", "--verbose"], count=True, expose_value=False,
                                           callback=_more_verbose, help="Same as `flowvault -v` before the command."))
    return command


def _more_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    app = ctx.find_object(AppContext)
    if value and app is not None:
        app.verbose += value
        _setup_logging(app.verbose)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger("flowvault")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    root.propagate = False


@click.group("flowvault", cls=FlowvaultGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="FLOWVAULT_CONFIG",
    help="Configuration file (default ./flowvault.toml, env FLOWVAULT_CONFIG).",
)
@click.option("--vault", "vault_path", type=click.Path(file_okay=False), help="The vault (git repo) to use.")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for HTTP debug).")
@click.option("--traceback", "show_traceback", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(__version__, prog_name="flowvault")
@click.pass_context
def cli(ctx: click.Context, config_path, vault_path, verbose, show_traceback):
    """Back up, review and smoke-test PingOne DaVinci and PingIDM flows with git.

    \b
    Try it with no account anywhere:
      flowvault demo
    """
    _setup_logging(verbose)
    ctx.obj = AppContext(config_path=config_path, vault_path=vault_path, verbose=verbose, traceback=show_traceback)


def _register() -> None:
    import importlib

    for name in ("init", "backup", "status", "diff", "log", "show", "restore", "launch", "smoke", "sandbox", "demo"):
        cli.add_command(_accept_verbose(_remember_format(importlib.import_module(f"flowvault.cli.{name}").command)))


_register()


def main() -> None:
    """The `flowvault` command: run it, flush its output, and end the process at once (os._exit).

    The interpreter's own shutdown (tearing down modules, freeing every object, GitPython reaping its helper
    processes) took ~75 ms of an unchanged backup that lasts ~0.6 s (issue 8). Nothing of flowvault's needs it:
    every file, fsync, commit, temp file and the vault lock is finished or released before a command returns."""
    status: str | int | None
    try:
        cli(prog_name="flowvault")  # standalone mode: always ends with SystemExit
        status = 0
    except SystemExit as e:
        status = e.code
    if status is None:
        status = 0
    elif not isinstance(status, int):  # SystemExit("text"): print it, exit 1, as the interpreter would
        print(status, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # `flowvault log | head` closed the pipe; a closed stream
            pass
    os._exit(status)
