"""`flowvault diff`."""

import click



@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--level", type=click.Choice(["config", "all"]), default="config", show_default=True,
              help="config leaves out layout and metadata changes.")
@click.option("--flow", "flows", multiple=True, help="Only this flow (name, folder or id; repeatable).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes, like git diff.")
@click.pass_obj
def command(app, old, new, fmt, level, flows, exit_code):
    """Show what changed between two snapshots, flow by flow.

    OLD and NEW are vault refs (default HEAD~1 and HEAD; one ref compares it with the working tree) or two
    paths: export files, flow folders or snapshots/ folders.

    \b
    Examples:
      flowvault diff
      flowvault diff HEAD~3 HEAD --format markdown
      flowvault diff before.json after.json --exit-code
    """
    import os
    import sys

    from flowvault import snapshot
    from flowvault.diff import diff_snapshots
    from flowvault.render import render

    old_snap, new_snap = snapshot.resolve((old or "", new or ""), app.vault_dir())
    result = diff_snapshots(old_snap, new_snap, level=level, flows=flows)
    color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    click.echo(render(result, fmt, color=color), nl=False)
    if exit_code and result.changes:
        click.get_current_context().exit(1)
