"""`flowvault backup`."""

import json

import click

from flowvault.cli.context import check_local, complete_sources
from flowvault.errors import ConfigError


@click.command("backup", short_help="Export every flow into the vault and commit the change.")
@click.option("--source", "sources", multiple=True, shell_complete=complete_sources,
              help="Only this source (repeatable).")
@click.option("--message", "-m", help="Commit message summary line.")
@click.option("--no-commit", is_flag=True, help="Write snapshots but do not commit.")
@click.option("--push", is_flag=True, help="Push the commit to [vault].remote.")
@click.option("--full", is_flag=True, help="Re-export every flow, not only the changed ones.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Concurrent exports per source (default 16).")
@click.option("--history", is_flag=True,
              help="Also commit every stored version of the flows the vault does not hold yet (first adoption).")
@click.option("--latest-only", is_flag=True, help="Only each flow's latest version: one commit per run.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts (on stdout).")
@click.pass_obj
def command(app, sources, message, no_commit, push, full, jobs, history, latest_only, fmt):
    """Export every flow and workflow into the vault and commit the change.

    Every DaVinci flow version saved since the last backup is committed on its own (author date = when it was
    saved), then the rest of the run in one commit; --latest-only keeps one commit per run.

    \b
    Example:
      FLOWVAULT_PROD_CLIENT_SECRET=... flowvault backup --source prod
    """
    from flowvault.backup.run import run_backup, select_sources
    from flowvault.ui import UI

    config = app.config()
    # say so before a long export, not after the commit
    if push and not no_commit and not getattr(config.vault, "remote", None):
        raise ConfigError(f"{app.config_file()}: --push needs [vault].remote; add remote = \"origin\" to [vault]")
    for name in select_sources(config, sources):  # the command line and the config first,
        config.sources[name].require()
    check_local(app, app.vault_dir(), config.vault.remote if push else None)  # then the vault, before any token
    try:
        result = run_backup(config, app.vault_dir(), sources=sources, message=message, commit=not no_commit,
                            push=push, full=full, jobs=jobs, ui=UI(), worker_processes=True, history=history,
                            latest_only=latest_only)
    except Exception as e:
        partial = getattr(e, "result", None)
        if partial is not None:
            _render(partial, fmt, no_commit)
        raise
    _render(result, fmt, no_commit)


def _render(result, fmt: str, no_commit: bool = False) -> None:
    """The run summary on stdout: one line per source and the commit, or JSON for scripts. A source that failed
    as a whole is left to stderr, which says why, once (issue 19)."""
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    if all(s.error for s in result.sources):
        return  # nothing was done; stderr says why
    for s in result.sources:
        if s.error:
            continue
        click.echo(s.count_line())
    versions = sum(s.versions for s in result.sources)
    if versions:
        click.echo(f"committed {versions} flow version(s), one commit each")
    if result.committed:
        click.echo(f"committed {result.commit[:12]}: {len(result.changes)} file(s) changed"
                   + result.push_note)
    elif result.changes and no_commit:
        click.echo(f"not committed (--no-commit): {len(result.changes)} file(s) differ from HEAD")
    elif versions:
        click.echo("nothing else changed" + result.push_note)
    else:
        click.echo("nothing changed; no commit" + result.push_note)
