"""`flowvault smoke`."""

import click

from flowvault.cli.context import complete_launchers
from flowvault.errors import ConfigError, FlowvaultError, LaunchFailed, RemoteError


def run_all(config, names, fmt: str) -> list:
    """The results of the launchers `names`, run one after another with a progress line each (said on stderr as
    each ends, except in text format, whose table on stdout says it once: issue 19). Shared by `restore --smoke`."""
    from flowvault.cli.launch import read_input
    from flowvault.launch import report
    from flowvault.launch.progress import progress_for
    from flowvault.launch.runner import run_launcher

    results = []
    for name in names:
        cfg = config.launchers[name]
        progress = progress_for(name)
        try:
            results.append(run_launcher(cfg, config, input=read_input(cfg, config), progress=progress))
        finally:
            progress.close()
        if fmt != "text":
            click.echo(report.result_line(results[-1]), err=True)
    return results


@click.command("smoke", short_help="Run launchers and check each outcome against its expect.")
@click.argument("names", nargs=-1, shell_complete=complete_launchers)
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="text table, json (for scripts) or markdown ($GITHUB_STEP_SUMMARY).")
@click.pass_obj
def command(app, names, junit, fmt):
    """Run launchers (all by default) and check each outcome against its `expect`.

    \b
    Example:
      flowvault smoke --junit smoke.xml --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    import sys

    from flowvault.launch import report
    from flowvault.launch.base import ERROR, PASSED
    from flowvault.launch.runner import unknown_launcher

    config = app.config()
    selected = list(names) or sorted(config.launchers)
    if not selected:
        raise ConfigError(f"{app.config_file()}: no [launchers.NAME] tables to run")
    for name in selected:
        if name not in config.launchers:
            raise unknown_launcher(name, config)
        config.launchers[name].require()  # before any runs: the selected launchers' variables, and only theirs
    if junit:
        report.check_writable(junit)  # before any runs, too: not "unexpected error" after all of them
    results = run_all(config, selected, fmt)
    if junit:
        report.write_junit(results, junit)
    if fmt == "json":
        click.echo(report.to_json(results))
    elif fmt == "markdown":
        click.echo(report.markdown(results), nl=False)
    else:
        text = report.table(results, sys.stdout)
        if text is not None:
            click.echo(text)
    bad = [r.launcher for r in results if r.outcome != PASSED]
    from flowvault.cli import github

    if github.active():
        for r in results:
            if r.outcome != PASSED:
                github.annotate("error", f"flowvault smoke: {r.launcher}", report.result_line(r))
        if fmt != "markdown" or sys.stdout.isatty():  # `--format markdown >> $GITHUB_STEP_SUMMARY` writes it already
            github.step_summary(report.markdown(results))
    error: FlowvaultError
    if all(r.outcome == ERROR and not r.timed_out for r in results):  # DESIGN: exit 3, no launcher could run
        error = RemoteError(f"no smoke test could run: every launcher failed to start ({', '.join(bad)}); "
                            "the results say why (unreachable, credentials)")
    elif bad:
        error = LaunchFailed(f"{len(bad)} of {len(results)} smoke tests did not pass: {', '.join(bad)}")
    else:
        return
    error.json_printed = True  # the results (json) carry each launcher's message
    raise error
