"""`flowvault restore`."""

import click

from flowvault.errors import NotReadyError


@click.command("restore")
@click.argument("flow")
@click.option("--to", "target", required=True, help="The source (environment) to import into.")
@click.option("--at", "ref", default="HEAD", show_default=True, help="Vault ref of the version to restore.")
@click.option("--deploy", is_flag=True, help="Deploy the imported flow.")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def command(app, flow, target, ref, deploy, dry_run, fmt):
    """Put a saved version of a flow (and its subflows) back into an environment.

    \b
    Example:
      flowvault restore "PingOne Sign On" --to prod --at HEAD~1 --deploy
    """
    raise NotReadyError("`flowvault restore` is not implemented yet (see the launch issue)")
