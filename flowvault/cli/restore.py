"""`flowvault restore`."""

import click

from flowvault.cli.context import complete_davinci_sources


@click.command("restore", short_help="Put a saved version of a flow back into an environment.")
@click.argument("flow")
@click.option("--to", "target", required=True, shell_complete=complete_davinci_sources,
              help="The DaVinci source (environment) to write to.")
@click.option("--at", "ref", default="HEAD", show_default=True, help="Vault ref of the version to restore.")
@click.option("--deploy", is_flag=True, help="Deploy what was written (subflows first).")
@click.option("--dry-run", is_flag=True, help="Show what would be imported or replaced; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, flow, target, ref, deploy, dry_run, fmt):
    """Put a saved version of a flow (and its subflows) back into an environment.

    FLOW is the flow's name, folder or id (`source/flow` when several sources saved one of that name). A flow that
    the target has (same id, else same name) is replaced in place, keeping its id and the policies that run it;
    otherwise it is imported. Redacted secrets are never sent: the target keeps its values.

    \b
    Example:
      flowvault restore "PingOne Sign On" --to prod --at HEAD~1 --deploy
    """
    import json

    from flowvault.errors import UsageError
    from flowvault.restore.run import restore

    config = app.config()
    result = restore(config, app.vault_dir(), flow, target, ref=ref, deploy=deploy, dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(render_text(result), nl=False)
    if result.error:
        raise UsageError(result.error)


def _v(version) -> str:
    return "-" if version is None else f"v{version}"


def render_text(result) -> str:
    """What restore did (or would do), one line per flow, reference, secret and policy."""
    lines = [f"{'would restore' if result.dry_run else 'restored'} {result.flow!r} from "
             f"{result.source} at {result.ref} into {result.target}"
             + (" (dry run: nothing changed)" if result.dry_run else "")]
    verbs = {"import": ("import", "imported"), "replace": ("replace", "replaced"), "unchanged": ("keep", "unchanged")}
    for step in result.steps:
        verb = verbs[step.action][0 if result.dry_run else 1]
        where = step.target_id or "?"
        if step.action == "import":
            versions = "" if result.dry_run else f" {_v(step.version_after)}"
        elif step.action == "replace":
            versions = f" {_v(step.version_before)} -> " + ("new version" if result.dry_run else _v(step.version_after))
        else:
            versions = f" {_v(step.version_before)} (same config and layout)"
        deployed = ""
        if step.deployed:
            deployed = "; would deploy" if result.dry_run else f"; deployed {_v(step.deployed_version)}"
        lines.append(f"  {step.role} {step.name!r}: {verb} {where}{versions}{deployed}")
        for remap in step.remaps:
            new = remap.new_id or "DANGLING"
            lines.append(f"    node {remap.node} calls {remap.subflow!r}: {remap.old_id} -> {new} ({remap.via})")
        for secret in step.secrets:
            lines.append(f"    secret {secret['path']}: {secret['outcome']}")
    for d in result.dangling:
        lines.append(f"  dangling: {d.flow!r} node {d.node} calls {d.subflow or '?'!r} ({d.subflow_id}), in neither "
                     f"the vault nor {result.target}" + ("" if d.fatal else "; the node does not run, so not fatal"))
    if result.policies:
        lines.append(f"policies in {result.target}{' (now)' if not result.dry_run else ''}:")
        for p in result.policies:
            latest = " (latest deployed)" if p.version in (-1, "-1", None) else ""
            lines.append(f"  {p.application} / {p.policy} ({p.policy_id}) -> {p.flow!r} {_v(p.runs)}{latest}")
    elif any(s.target_id for s in result.steps):
        lines.append(f"no flow policy in {result.target} runs these flows")
    return "\n".join(lines) + "\n"
