"""`flowvault launch`."""

import click

from flowvault.cli.context import complete_launchers
from flowvault.errors import FlowvaultError, InputError, LaunchFailed, RemoteError


@click.command("launch", short_help="Start a flow through its launch API; report the outcome.")
@click.argument("name", shell_complete=complete_launchers)
@click.option("--input", "inputs", multiple=True, metavar="KEY=VALUE", help="Input parameter (repeatable).")
@click.option("--input-file", type=click.Path(exists=True, dir_okay=False), help="JSON (or XML) input file.")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Seconds to wait for the outcome.")
@click.option("--no-wait", is_flag=True, help="Start the flow and return its run id.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, name, inputs, input_file, timeout, no_wait, fmt):
    """Start a flow through its real launch API and report the outcome.

    \b
    Example:
      flowvault launch sign-on --input userId=42 --timeout 60
    """
    import json

    from flowvault.launch.base import ERROR, PASSED
    from flowvault.launch.progress import progress_for
    from flowvault.launch.report import result_line
    from flowvault.launch.runner import run_launcher, unknown_launcher

    config = app.config()
    cfg = config.launchers.get(name)
    if cfg is None:
        raise unknown_launcher(name, config)
    data = read_input(cfg, config, pairs=inputs, input_file=input_file)
    progress = progress_for(name)
    try:
        result = run_launcher(cfg, config, input=data, timeout=timeout, wait=not no_wait, progress=progress)
    finally:
        progress.close()
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        # each message once (issue 19): why the service failed the call is the error line on stderr; what the
        # flow answered is the result, on stdout
        errored = result.outcome == ERROR and not result.timed_out
        click.echo(result_line(result, started=no_wait, message=not errored))
    if result.outcome == PASSED:
        return
    error: FlowvaultError
    if result.outcome == ERROR and not result.timed_out:
        error = RemoteError(_named(name, result.message), status=result.http_status)
    else:
        why = f": {result.message}" if fmt == "json" else "; the result line says what it answered"
        error = LaunchFailed(f"{name}: {result.outcome}{' (timed out)' if result.timed_out else ''}{why}")
    error.json_printed = True  # the result above is the JSON, with its message
    raise error


def _named(name: str, message: str) -> str:
    """`message` led by the launcher's name, once (the launch clients' messages may start with it already)."""
    return message if message.startswith((f"{name}:", f"launcher {name}:")) else f"{name}: {message}"


def read_input(cfg, config, **kwargs):
    """The launch input (flowvault.launch.runner.resolve_input); a file that is not UTF-8 text is an input error."""
    from flowvault.launch.runner import resolve_input

    try:
        return resolve_input(cfg, config, **kwargs)
    except UnicodeDecodeError as e:
        path = kwargs.get("input_file") or getattr(cfg.settings, "input_file", None) or "the input file"
        raise InputError(f"{path}: not UTF-8 text; give a JSON object (or XML for Smart Flows)") from e
