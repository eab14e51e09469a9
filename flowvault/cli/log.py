"""`flowvault log`."""

import click

from flowvault.cli.context import complete_flows


@click.command("log", short_help="History of the vault or of one flow, a line per commit.")
@click.argument("flow", required=False, shell_complete=complete_flows)
@click.option("-n", "max_count", type=click.IntRange(1), help="At most N commits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, flow, max_count, fmt):
    """History of the vault, or of one flow, with a one-line semantic summary per commit.

    \b
    Example:
      flowvault log "PingOne Sign On" -n 10
    """
    import json

    from flowvault.vault import snapshot
    from flowvault.diff import diff_snapshots
    from flowvault.errors import UsageError
    from flowvault.render import count_summary

    vault = snapshot.open_vault(app.vault_dir())
    if vault.head() is None:
        # exit 2, as diff and show do (issue 19): there is no history to show
        raise UsageError(f"the vault {vault.path} has no commits yet; run `flowvault backup` first")
    # only commits that touched snapshots/: the vault may be a team's config repo with commits of its own
    paths = ["snapshots"]
    if flow:
        head = snapshot.load_ref(vault, "HEAD")
        found = head.find(flow) or snapshot.load_worktree(vault).find(flow)
        if not found:
            hint = snapshot.did_you_mean(head.suggest(flow)) or "; give a flow's name, folder name or id"
            raise UsageError(f"no flow named {flow!r} in the vault{hint}")
        paths = sorted({p for entry in found for p in snapshot.entry_paths(entry)})
    trees: dict[str, object] = {}

    def at(ref):
        if ref not in trees:
            trees[ref] = snapshot.load_ref(vault, ref)
        return trees[ref]

    rows = []
    for entry in vault.log(paths, max_count):
        old = at(f"{entry.sha}~1") if snapshot.has_parent(vault, entry.sha) else snapshot.Snapshot("empty")
        named = [v for e in found for v in (e.name, e.id) if v] if flow else None
        result = diff_snapshots(old, at(entry.sha), flows=named) if flow else \
            diff_snapshots(old, at(entry.sha))
        rows.append({"commit": entry.sha, "date": entry.date, "author": entry.author, "message": entry.summary,
                     "summary": count_summary(result.changes), "counts": result.summary})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['commit'][:8]} {row['date'][:10]} {row['summary']}  ({row['message']})")
