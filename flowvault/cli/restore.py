"""`flowvault restore`."""

import click

from flowvault.cli.context import complete_davinci_sources, complete_launchers
from flowvault.errors import LaunchFailed, UsageError


@click.command("restore", short_help="Plan, then put a saved flow into an environment.")
@click.argument("flow")
@click.option("--to", "target", required=True, shell_complete=complete_davinci_sources,
              help="The DaVinci source (environment) to write to.")
@click.option("--from", "source", shell_complete=complete_davinci_sources,
              help="The vault source to take the flow from, when several saved one of that name.")
@click.option("--at", "ref", default="HEAD", show_default=True, help="Vault ref of the version to restore.")
@click.option("--deploy", is_flag=True, help="Deploy what was written (subflows first) and move policies' pins.")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing (exit 1 if it cannot be applied).")
@click.option("--map-connection", "mappings", multiple=True, metavar="OLD=NEW",
              help="Use the target's connector instance NEW (id or name) for the vault's OLD (id or name).")
@click.option("--create-connections", is_flag=True,
              help="Create (unconfigured) the connector instances the target lacks.")
@click.option("--smoke", "launchers", multiple=True, shell_complete=complete_launchers, metavar="LAUNCHER",
              help="After a successful restore, run this launcher as `smoke` does (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, flow, target, source, ref, deploy, dry_run, mappings, create_connections, launchers, fmt):
    """Put a saved version of a flow (and its subflows) into an environment: the same one, or another.

    FLOW is the flow's name, folder or id. Restore plans first: the flow and its subflows are matched in the target
    by name (replaced in place, else imported), connector instances by connector and instance name, variables by
    context and name, and the target's flow policies that run the flow are listed (their pins moved by --deploy).
    It applies the plan in dependency order, one line per step on stderr; when a step fails it undoes what it
    wrote and exits 3. Redacted secrets are never sent: they come from the target's restore_secrets, else the
    target keeps its own; a string with secrets neither supplies is refused (exit 2) naming the key to set.

    \b
    Examples:
      flowvault restore "PingOne Sign On" --from staging --to prod --dry-run
      flowvault restore "PingOne Sign On" --from staging --to prod --deploy --smoke sign-on-prod
    """
    import json

    from flowvault.restore.connectors import parse_mappings
    from flowvault.restore.plan import UnresolvedPlan
    from flowvault.restore.run import restore

    config = app.config()
    for name in launchers:
        if name not in config.launchers:
            from flowvault.launch.runner import unknown_launcher

            raise unknown_launcher(name, config)
    result = restore(config, app.vault_dir(), flow, target, ref=ref, source=source, deploy=deploy, dry_run=dry_run,
                     mappings=parse_mappings(mappings), create_connections=create_connections,
                     say=lambda line: click.echo(line, err=True))
    smoke = launchers and not dry_run and not result.error
    if fmt == "json":
        doc = result.to_dict()
        error = None
        if smoke:  # one JSON document on stdout: the plan with the smoke results in it (and the error, if any)
            doc["smoke"], error = _smoke(config, launchers, fmt)
        elif result.error:
            error = (UnresolvedPlan if result.unresolved else UsageError)(result.error)
        if error is not None:
            doc["error"], doc["exit_status"] = str(error), int(error.exit_status)
            error.json_printed = True
        click.echo(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False))
        if error is not None:
            raise error
        return
    click.echo(render_text(result), nl=False)
    if result.error:
        raise (UnresolvedPlan if result.unresolved else UsageError)(result.error)
    if smoke:
        _, error = _smoke(config, launchers, fmt)
        if error is not None:
            raise error


def _smoke(config, names, fmt):
    """Run the launchers `names` as `flowvault smoke` does: (the results as JSON-ready data, or None after printing
    them as a table; LaunchFailed (exit 1) unless every one passed, else None)."""
    import json
    import sys

    from flowvault.cli.smoke import run_all
    from flowvault.launch import report
    from flowvault.launch.base import PASSED

    results = run_all(config, names, fmt)
    data = None
    if fmt == "json":
        data = json.loads(report.to_json(results))
    else:
        text = report.table(results, sys.stdout)
        if text is not None:
            click.echo(text)
    bad = [r.launcher for r in results if r.outcome != PASSED]
    error = None
    if bad:
        error = LaunchFailed(f"restored, but {len(bad)} of {len(results)} smoke tests did not pass: {', '.join(bad)}")
    return data, error


def _v(version) -> str:
    return "-" if version is None else f"v{version}"


def _detail(step, dry_run: bool) -> str:
    """The last column of the plan's table for one step."""
    kind = step.kind
    if kind == "connector":
        if step.via == "unmatched":
            return f"{step.connector} {step.old_id} -> UNMATCHED (--map-connection or --create-connections)"
        return f"{step.connector} {step.old_id} -> {step.new_id or 'new instance'} ({step.via})"
    if kind == "variable":
        where = "with the flow" if step.via == "flow" else "/variables"
        parts = [where] + ([f"changed: {', '.join(step.changed)}"] if step.changed else [])
        if step.secret:
            parts.append(f"secret value {step.secret}")
        return "; ".join(parts)
    if kind == "policy":
        # one fact per policy, before -> after (it said "runs v1 (latest deployed); now runs v2")
        if step.latest:
            runs = _v(step.runs)
            if step.runs_after is not None and step.runs_after != step.runs:
                runs += f" -> {_v(step.runs_after)}"
            text = f"runs {step.flow!r}: the latest deployed version ({runs})"
        else:
            text = f"runs {step.flow!r}: pinned {_v(step.pin)}"
        if step.action == "update":
            text += f" -> {_v(step.new_pin) if step.new_pin is not None else 'the deployed version'}"
        return text
    where = step.target_id or "(new id)"
    if step.action == "create":
        text = where + ("" if dry_run else f" {_v(step.version_after)}")
    elif step.action == "update":
        text = f"{where} {_v(step.version_before)} -> " + ("new version" if dry_run else _v(step.version_after))
    else:
        text = f"{where} {_v(step.version_before)} (same config, layout and references)"
    if step.deployed:
        text += "; would deploy" if dry_run else f"; deployed {_v(step.deployed_after)}"
    return text


def render_text(result) -> str:
    """The plan (or what was done) as a short table, then references, secrets and dangling subflow calls."""
    lines = [f"{'would restore' if result.dry_run else 'restored'} {result.flow!r} from "
             f"{result.source} at {result.ref} into {result.target}"
             + (" (dry run: nothing changed)" if result.dry_run else "")]
    rows = [(s.kind, s.action, s.to_dict()["name"], _detail(s, result.dry_run)) for s in result.steps]
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(("kind", "action", "name"))]
    lines.append(f"  {'kind':<{widths[0]}}  {'action':<{widths[1]}}  {'name':<{widths[2]}}  detail")
    for row in rows:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip())
    for step in result.steps:
        for remap in getattr(step, "remaps", []):
            new = remap.new_id or "DANGLING"
            pin = f", pin {_v(remap.pin)} -> {_v(remap.new_pin)}" if remap.pin is not None else ""
            lines.append(f"  {step.name!r} node {remap.node} calls {remap.subflow!r}: {remap.old_id} -> {new} "
                         f"({remap.via}{pin})")
        for secret in getattr(step, "secrets", []):
            lines.append(f"  {step.name!r} secret {secret['path']}: {secret['outcome']}")
    for d in result.dangling:
        lines.append(f"  dangling: {d.flow!r} node {d.node} calls {d.subflow or '?'!r} ({d.subflow_id}), in neither "
                     f"the vault nor {result.target}"
                     + ("" if d.fatal else f"; missing in {result.source} too, so not fatal" if not d.in_source
                        else "; the node does not run, so not fatal"))
    if not any(s.kind == "policy" for s in result.steps) and any(s.kind in ("flow", "subflow") and s.target_id
                                                                 for s in result.steps):
        lines.append(f"  no flow policy in {result.target} runs these flows")
    lines.extend(f"  note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"
