"""`flowvault init`."""

import click

from flowvault.errors import NotReadyError


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.pass_obj
def command(app, directory):
    """Make DIRECTORY a vault: a git repo, flowvault.toml and snapshots/.

    Idempotent; never overwrites an existing file. Uses the enclosing git repo if there is one.

    \b
    Example:
      flowvault init ./flows-vault
    """
    raise NotReadyError("`flowvault init` is not implemented yet (see the backup issue)")
