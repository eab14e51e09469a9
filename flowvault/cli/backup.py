"""`flowvault backup`."""

import click

from flowvault.errors import NotReadyError


@click.command("backup")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--message", "-m", help="Commit message summary line.")
@click.option("--no-commit", is_flag=True, help="Write snapshots but do not commit.")
@click.option("--push", is_flag=True, help="Push the commit to [vault].remote.")
@click.option("--full", is_flag=True, help="Re-export every flow, not only the changed ones.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Concurrent exports (default 8).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def command(app, sources, message, no_commit, push, full, jobs, fmt):
    """Export every flow and workflow into the vault and commit the change.

    \b
    Example:
      FLOWVAULT_PROD_CLIENT_SECRET=... flowvault backup --source prod
    """
    raise NotReadyError("`flowvault backup` is not implemented yet (see the backup issue)")
