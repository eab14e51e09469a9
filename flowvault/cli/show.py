"""`flowvault show`."""

import click

from flowvault.errors import NotReadyError


@click.command("show")
@click.argument("flow")
@click.option("--at", "ref", default="HEAD", show_default=True, help="Vault ref to read the flow from.")
@click.option("--format", "fmt", type=click.Choice(["json", "mermaid"]), default="json", show_default=True)
@click.pass_obj
def command(app, flow, ref, fmt):
    """Print a flow from the vault, as canonical JSON or as a Mermaid flowchart.

    \b
    Example:
      flowvault show "PingOne Sign On" --format mermaid
    """
    raise NotReadyError("`flowvault show` is not implemented yet (see the diff issue)")
