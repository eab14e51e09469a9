"""`flowvault log`."""

import click

from flowvault.errors import NotReadyError


@click.command("log")
@click.argument("flow", required=False)
@click.option("-n", "max_count", type=click.IntRange(1), help="At most N commits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def command(app, flow, max_count, fmt):
    """History of the vault, or of one flow, with a one-line semantic summary per commit.

    \b
    Example:
      flowvault log "PingOne Sign On" -n 10
    """
    raise NotReadyError("`flowvault log` is not implemented yet (see the diff issue)")
