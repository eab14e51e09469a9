"""`flowvault status`."""

import json

import click

from flowvault.cli.context import complete_sources


@click.command("status", short_help="What the services have that the vault lacks (no export).")
@click.option("--source", "sources", multiple=True, shell_complete=complete_sources,
              help="Only this source (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people (only what is not in sync), json for scripts.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the vault is behind the service.")
@click.pass_obj
def command(app, sources, fmt, exit_code):
    """Compare the live services with the vault, flow by flow, without exporting anything.

    Text shows what is not in sync and every flow whose latest saved version is not the deployed one.

    \b
    Example:
      flowvault status --source prod --exit-code
    """
    from flowvault.backup.status import run_status, text_lines

    status = run_status(app.config(), app.vault_dir(), sources=sources)
    if fmt == "json":
        click.echo(json.dumps(status.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        for line in text_lines(status):
            click.echo(line)
    if exit_code and status.behind:
        click.get_current_context().exit(1)
