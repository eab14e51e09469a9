"""`flowvault sandbox`."""

import click

from flowvault.errors import NotReadyError


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option("--write-config", type=click.Path(dir_okay=False), help="Write a flowvault.toml for this sandbox.")
@click.option("--flows", "flows_dir", type=click.Path(exists=True, file_okay=False), help="Serve these DaVinci exports.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False), help="Keep state in this folder.")
@click.option("--latency-ms", type=click.IntRange(0), default=0, show_default=True)
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_obj
def command(app, host, port, write_config, flows_dir, state_dir, latency_ms, fault_rate, seed):
    """Serve local emulations of PingOne DaVinci, PingIDM, InVision and Smart Flows.

    \b
    Example:
      flowvault sandbox --port 0 --write-config flowvault.toml
    """
    raise NotReadyError("`flowvault sandbox` is not implemented yet (see the sandbox issue)")
