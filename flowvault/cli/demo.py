"""`flowvault demo`."""

import click

from flowvault.errors import NotReadyError


@click.command("demo")
@click.option("--keep", type=click.Path(file_okay=False), help="Leave the demo vault in this folder.")
@click.pass_obj
def command(app, keep):
    """Run the whole story on the built-in sandbox: backup, edit, diff, restore, smoke.

    \b
    Example:
      flowvault demo --keep ./demo-vault
    """
    raise NotReadyError("`flowvault demo` is not implemented yet (see the demo issue)")
