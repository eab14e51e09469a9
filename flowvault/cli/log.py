"""`flowvault log`."""

import click

from flowvault.cli.context import complete_flows
from flowvault.errors import UsageError
from flowvault.masking import safe_json, safe_text


@click.command("log", short_help="History of the vault or of one flow, a line per commit.")
@click.argument("flow", required=False, shell_complete=complete_flows)
@click.option("-n", "max_count", type=click.IntRange(1), help="At most N commits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, flow, max_count, fmt):
    """History of the vault, or of one flow, with a one-line semantic summary per commit.

    Each line shows the author date: for a flow version's commit, the day the version was saved. JSON gives it as
    "author_date" beside "date" (when the commit was made).

    \b
    Example:
      flowvault log "PingOne Sign On" -n 10
    """
    import json

    from flowvault.diff import diff_snapshots
    from flowvault.render.wording import count_summary
    from flowvault.vault import snapshot

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
    rows = []
    # Cost follows what changed: git lists each commit's changed paths (it compares tree ids, not files), and only
    # the flows, workflows and environment files behind those paths are read and diffed, on both sides.
    named = [v for e in found for v in (e.name, e.id) if v] if flow else None  # the match find() made, as names
    with vault.blobs() as read:
        for entry in vault.history(paths, max_count):
            if len(entry.parents) > 1:  # a merge: git lists no paths for it; compare whole trees
                old, new = snapshot.load_ref(vault, entry.parents[0]), snapshot.load_ref(vault, entry.sha)
            else:
                changed = [c.path for c in entry.changes]
                old = snapshot.load_changed(read, entry.parents[0] if entry.parents else None, changed)
                new = snapshot.load_changed(read, entry.sha, changed)
            result = diff_snapshots(old, new, flows=named) if flow else diff_snapshots(old, new)
            summary = count_summary(result.changes, result.summary)
            if not result.changes and diff_snapshots(old, new, level="all", flows=named).changes:
                summary = "layout or metadata only"  # a designer moved nodes, or a deploy: not "no changes"
            # "date" is when the commit was made; "author_date" when the change was: for a version commit, when
            # the version was saved (issue 16), which is the date text shows
            rows.append({"commit": entry.sha, "date": entry.date, "author_date": entry.author_date,
                         "author": entry.author, "message": entry.summary,
                         "summary": summary, "counts": result.summary})
    if fmt == "json":
        click.echo(safe_json(json.dumps(rows, indent=2, ensure_ascii=False)))  # no raw bidi mark from a message
        return
    for row in rows:
        click.echo(safe_text(f"{row['commit'][:8]} {row['author_date'][:10]} {row['summary']}  ({row['message']})"))
