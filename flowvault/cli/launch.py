"""`flowvault launch`."""

import click

from flowvault.errors import NotReadyError


@click.command("launch")
@click.argument("name")
@click.option("--input", "inputs", multiple=True, metavar="KEY=VALUE", help="Input parameter (repeatable).")
@click.option("--input-file", type=click.Path(exists=True, dir_okay=False), help="JSON (or XML) input file.")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Seconds to wait for the outcome.")
@click.option("--no-wait", is_flag=True, help="Start the flow and return its run id.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def command(app, name, inputs, input_file, timeout, no_wait, fmt):
    """Start a flow through its real launch API and report the outcome.

    \b
    Example:
      flowvault launch sign-on --input userId=42 --timeout 60
    """
    raise NotReadyError("`flowvault launch` is not implemented yet (see the launch issue)")
