"""`flowvault sandbox`."""

import os

import click


def _environment_names(ctx, param, value: str) -> tuple[str, ...]:
    from flowvault.sandbox.envs import check_names

    try:
        return check_names(name.strip() for name in value.split(","))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("sandbox", short_help="Serve local emulations of every API flowvault talks to.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option("--write-config", type=click.Path(dir_okay=False), help="Write a flowvault.toml for this sandbox.")
@click.option("--force", is_flag=True, help="Let --write-config replace an existing file.")
@click.option("--flows", "flows_dir", type=click.Path(exists=True, file_okay=False),
              help="Serve these DaVinci exports.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False), help="Keep state in this folder.")
@click.option("--latency-ms", type=click.IntRange(0), default=0, show_default=True,
              help="Delay every response by this many milliseconds.")
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Answer this fraction of requests with a 429, 5xx, dropped or truncated response.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for ids, dates and faults.")
@click.option("--environments", "environments", default="davinci", show_default=True, metavar="NAME[,NAME...]",
              callback=_environment_names,
              help="Serve one DaVinci environment per name, each with the seed data under its own ids.")
@click.pass_obj
def command(app, host, port, write_config, flows_dir, state_dir, latency_ms, fault_rate, seed, environments,
            force=False):
    """Serve local emulations of PingOne DaVinci, PingIDM, InVision and Smart Flows.

    \b
    Example:
      flowvault sandbox --port 0 --write-config flowvault.toml
      flowvault sandbox --environments staging,prod --write-config flowvault.toml
    """
    from flowvault.sandbox.server import Sandbox

    if write_config and os.path.lexists(write_config) and not force:  # a user's own config is never replaced
        from flowvault.errors import UsageError

        raise UsageError(f"{write_config} exists; --write-config leaves it as it is: give another file, or --force")
    sandbox = Sandbox(host=host, port=port, flows_dir=flows_dir, state_dir=state_dir, latency_ms=latency_ms,
                      fault_rate=fault_rate, seed=seed, verbose=bool(app and app.verbose > 1),
                      environments=environments)
    sandbox.bind()
    if write_config:
        sandbox.write_config(write_config)
        click.echo(f"wrote {write_config}", err=True)
        if "FLOWVAULT_SANDBOX_SECRET" not in os.environ:
            click.echo("the config refers to ${FLOWVAULT_SANDBOX_SECRET}: export FLOWVAULT_SANDBOX_SECRET=sandbox "
                       "in the shell that runs flowvault", err=True)
    click.echo(f"flowvault sandbox listening on {sandbox.url} (Ctrl-C to stop)", err=True)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        click.echo("flowvault sandbox stopped", err=True)
