"""`flowvault diff`."""

import click

from flowvault.cli.context import complete_flows
from flowvault.errors import InputError, UsageError


@click.command("diff", short_help="Show what changed between two snapshots, flow by flow.")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="text, markdown (a PR comment) or json (for scripts).")
@click.option("--level", type=click.Choice(["config", "all"]), default="config", show_default=True,
              help="config leaves out layout and metadata changes.")
@click.option("--flow", "flows", multiple=True, shell_complete=complete_flows,
              help="Only this flow (name, folder or id; repeatable).")
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

    from flowvault.cli.context import no_commits_yet
    from flowvault.diff import diff_snapshots
    from flowvault.render import render
    from flowvault.vault import snapshot

    try:
        old_snap, new_snap = snapshot.resolve((old or "", new or ""), app.vault_dir())
    except OSError as e:  # an unreadable export file or folder
        raise InputError(f"{e.filename or old}: cannot read ({e.strerror or e}); check the path and its permissions"
                         ) from e
    except InputError as e:
        raise InputError(_name_the_file(str(e), (old, new))) from e
    except UsageError as e:
        raise (no_commits_yet(app.vault_dir()) or e) from e
    result = diff_snapshots(old_snap, new_snap, level=level, flows=_flows_named(flows, old_snap, new_snap))
    color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    click.echo(render(result, fmt, color=color), nl=False)
    if exit_code and result.changes:
        from flowvault.cli import github

        if github.active():
            github.annotate("warning", "flowvault diff", f"{len(result.changes)} change(s) between "
                            f"{old_snap.label} and {new_snap.label}; the step summary lists them")
            github.step_summary(render(result, "markdown"))
        click.get_current_context().exit(1)


def _flows_named(wanted, old_snap, new_snap) -> list[str]:
    """The ids (folder names where a flow has none) of the flows and workflows each of `wanted` names in either
    snapshot, found as `show` finds them (name, folder or id; case ignored when that is unique); UsageError with the
    closest names for one that names none."""
    from flowvault.vault import snapshot

    entries = [*old_snap.flows, *old_snap.workflows, *new_snap.flows, *new_snap.workflows]
    idents: list[str] = []
    for name in (w for w in wanted if w):
        found = snapshot.find_entries(entries, name)
        if not found:
            hint = snapshot.did_you_mean(snapshot.suggest_names([e.name for e in entries], name)) \
                or "; give a flow's name, folder name or id"
            raise UsageError(f"no flow named {name!r} in either snapshot{hint}")
        names = sorted({e.name for e in found})
        if len(names) > 1 and name not in names:  # names that differ only in case: the user meant one of them
            raise UsageError(f"{name!r} names {len(names)} flows{snapshot.did_you_mean(names)}")
        idents += [e.id or e.slug for e in found]
    return list(dict.fromkeys(idents))


def _name_the_file(message: str, args) -> str:
    """`message` starting with the path of the export file it is about ("not a DaVinci export" names none)."""
    from pathlib import Path

    from flowvault.vault import snapshot

    if any(a and message.startswith((a, str(Path(a)))) for a in args):  # named already, maybe as ./x -> x
        return message
    for arg in args:
        if arg and Path(arg).is_file():
            try:
                snapshot.load_path(arg)
            except InputError as e:
                if str(e) == message:
                    return f"{arg}: {message}"
    return message
