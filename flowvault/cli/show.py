"""`flowvault show`."""

import click

from flowvault.cli.context import complete_flows
from flowvault.errors import UsageError
from flowvault.masking import safe_json


@click.command("show", short_help="Print a flow from the vault as JSON or a Mermaid chart.")
@click.argument("flow", shell_complete=complete_flows)
@click.option("--at", "ref", default="HEAD", show_default=True, help="Vault ref to read the flow from.")
@click.option("--format", "fmt", type=click.Choice(["json", "mermaid"]), default="json", show_default=True,
              help="json (the canonical flow) or mermaid (a flowchart).")
@click.pass_obj
def command(app, flow, ref, fmt):
    """Print a flow from the vault, as canonical JSON or as a Mermaid flowchart.

    \b
    Example:
      flowvault show "PingOne Sign On" --format mermaid
    """
    from flowvault.cli.context import no_commits_yet
    from flowvault.vault import snapshot

    vault = snapshot.open_vault(app.vault_dir())
    if vault.head() is None:
        raise no_commits_yet(app.vault_dir())
    snap = snapshot.load_ref(vault, ref)
    found = snap.find(flow)
    if not found:
        hint = snapshot.did_you_mean(snap.suggest(flow)) or "; give a flow's name, folder name or id"
        raise UsageError(f"no flow named {flow!r} in the vault at {ref}{hint}")
    if len(found) > 1:
        where = ", ".join(f"{e.source}/{e.slug}" for e in found)
        raise UsageError(f"{flow!r} names {len(found)} flows ({where}); give the folder name or the id")
    entry = found[0]
    if fmt == "mermaid":
        from flowvault.render.mermaid import entry_chart

        click.echo(entry_chart(entry), nl=False)
        return
    from flowvault.canonical import dumps

    # names come from the service: a bidi override (U+202E) would reverse what the reader sees; \uXXXX keeps the JSON
    if isinstance(entry, snapshot.WorkflowEntry):
        click.echo(safe_json(dumps({**entry.meta, "bpmn": entry.bpmn.decode("utf-8", "replace")})), nl=False)
    else:
        click.echo(safe_json(dumps(entry.doc.flow)), nl=False)
