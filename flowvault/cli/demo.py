"""`flowvault demo`."""

import click


@click.command("demo", short_help="Run the whole story on a built-in sandbox, no account.")
@click.option("--keep", type=click.Path(file_okay=False), help="Leave the demo vault in this folder.")
@click.pass_obj
def command(app, keep):
    """Run the whole story on the built-in sandbox: backup, edit, diff, restore, smoke.

    No account and no network: a sandbox of every API starts on a free loopback port and stops at the end.

    \b
    Example:
      flowvault demo --keep ./demo-vault
    """
    from flowvault.demo import run_demo

    def say(line: str) -> None:
        click.secho(line, err=True, bold=line[:1].isdigit())

    kept = run_demo(keep, say)
    if kept:
        say(f"The vault is in {kept}: try `cd {kept} && flowvault log` or `flowvault diff HEAD~2 HEAD~1`.")
