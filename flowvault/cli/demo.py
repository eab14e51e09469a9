"""`flowvault demo`: the whole story on the built-in sandbox, narrated.

The sandbox is started in this process on a free loopback port; every step runs the real command through the CLI
(the same code a user runs), so the demo doubles as an end-to-end check of the product.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from flowvault.errors import FlowvaultError, VaultError

SECRET_ENV = "FLOWVAULT_SANDBOX_SECRET"
STATE = ".sandbox"  # in a kept vault: the sandbox's --state (what the demo changed in it) and its secret
DEMO_FLOW = "Sandbox API Success"  # the flow the demo edits, restores and launches (seeded by the sandbox)
REPLACE_FIELDS = ("name", "description", "color", "graphData", "inputSchema", "outputSchema", "settings", "trigger")


class DemoStepFailed(FlowvaultError):
    """A step of the demo did not end as it should."""


def run_demo(keep: Path | None, say: Callable[[str], None]) -> Path | None:
    """Run every step of the demo; returns the vault folder when `keep` is given (else it is removed). The
    environment variables it sets for its own commands are put back as they were when it ends."""
    saved = {name: os.environ.get(name) for name in (SECRET_ENV, "FLOWVAULT_REDACT_KEY")}
    try:
        return _run_demo(keep, say)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_demo(keep: Path | None, say: Callable[[str], None]) -> Path | None:
    from flowvault.sandbox.server import Sandbox

    generated = not os.environ.get(SECRET_ENV)
    # A distinctive throwaway secret: the sandbox accepts it, and masking it cannot mangle ordinary words.
    if generated:
        os.environ[SECRET_ENV] = "demo-" + secrets.token_hex(12)
    # Keyed fingerprints for the demo's redacted secrets (a real vault keeps its key outside the repo).
    os.environ.setdefault("FLOWVAULT_REDACT_KEY", secrets.token_hex(16))
    vault = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="flowvault-demo-"))
    if keep and vault.exists() and any(vault.iterdir()):
        raise VaultError(f"{vault}: not empty; --keep needs a new or empty folder")
    vault.mkdir(parents=True, exist_ok=True)
    config = vault / "flowvault.toml"
    # Kept: the sandbox keeps its state in the vault, so that the closing hints can bring it back as it was
    state = vault / STATE if keep else None
    try:
        with Sandbox(port=0, state_dir=state) as sandbox:
            _story(sandbox, vault, config, say, keep=bool(keep))
            if keep:
                port = int(sandbox.url.rsplit(":", 1)[1])  # the port it got (port 0: a free one)
                _leave_sandbox(vault.resolve(), port, generated, say, launchers=list(sandbox.config()["launchers"]))
    finally:
        if not keep:
            shutil.rmtree(vault, ignore_errors=True)
    return vault if keep else None


def _leave_sandbox(vault: Path, port: int, generated: bool, say: Callable[[str], None], *,
                   launchers: list[str]) -> None:
    """The closing hints of a kept demo, each a command that works as printed (tests/cli/test_first_hour.py runs
    them): the vault's history, and the sandbox brought back on its port with its secret and state."""
    import shlex

    (vault / STATE).mkdir(exist_ok=True)
    exclude = vault / ".git" / "info" / "exclude"
    if exclude.parent.is_dir():  # not the team's business: the sandbox's files stay out of `git status`
        with open(exclude, "a", encoding="utf-8") as f:
            f.write(f"/{STATE}/\n")
    export = ""
    if generated:  # the demo's own secret, kept beside the state (a throwaway, never printed)
        secret_file = vault / STATE / "secret"
        secret_file.write_text(os.environ[SECRET_ENV], encoding="utf-8")
        secret_file.chmod(0o600)
        export = f'export {SECRET_ENV}="$(cat {STATE}/secret)" && '
    cd = f"cd {shlex.quote(str(vault))} && "
    say(f"The vault is in {vault}. Try:")
    say(f"  {cd}flowvault log")
    say(f"  {cd}flowvault diff HEAD~2 HEAD~1")
    say(f"  {cd}{export}flowvault sandbox --port {port} --state {STATE}    # the sandbox again, as the demo left it")
    ok = [name for name in launchers if name.endswith("-ok")]
    failing = [name for name in launchers if name.endswith("-fail")]
    say(f"  {cd}{export}flowvault smoke {' '.join(ok)}    # beside it: each passes")
    if failing:  # a hint that exits 1 reads as broken: these are said apart (issue 19)
        say(f"The {', '.join(failing)} launchers fail on purpose: `flowvault smoke {failing[0]}` there exits 1.")


def _story(sandbox, vault: Path, config: Path, say: Callable[[str], None], *, keep: bool = False) -> None:
    run = _runner(config)
    say(f"1. A sandbox of PingOne DaVinci, PingIDM, InVision and Smart Flows is listening on {sandbox.url}.")
    sandbox.write_config(config)
    run("init", str(vault))
    say(f"2. {vault} is a vault now: a git repo with flowvault.toml (sources and launchers of the sandbox).")

    say("3. First backup: every flow (with subflows and variable values) and every IDM workflow, one commit.")
    run("backup", "--message", "Nightly backup")

    say(f"4. A designer edits '{DEMO_FLOW}' in DaVinci and saves it (PUT /flows/{{id}}, a new version).")
    _designer_edit(config)

    say("5. Second backup: only that flow's folder changes, in one commit.")
    run("backup", "--message", "Nightly backup")

    say("6. What changed, as a reviewer reads it (`flowvault diff`):")
    run("diff")
    markdown = vault / "flow-diff.md"
    markdown.write_text(_capture(config, "diff", "--format", "markdown"), encoding="utf-8")
    mermaid = vault / "sandbox-api-success.mmd"
    mermaid.write_text(_capture(config, "show", DEMO_FLOW, "--format", "mermaid"), encoding="utf-8")
    if keep:
        say(f"   The PR comment version is in {markdown}; the flow as a Mermaid picture in {mermaid}.")
    else:
        say("   `--keep DIR` keeps them: the PR comment version (flow-diff.md) and the flow as a Mermaid picture.")

    say("7. History with a one-line summary per commit (`flowvault log`):")
    run("log")

    say("8. Restore the version of the first backup and deploy it (`flowvault restore --at HEAD~1 --deploy`).")
    run("restore", DEMO_FLOW, "--to", "davinci", "--at", "HEAD~1", "--deploy")
    run("backup", "--message", "Backup after restore")
    if run("diff", "HEAD~2", "HEAD", "--exit-code", check=False) != 0:
        raise DemoStepFailed("the restored flow differs from the first backup")
    say("   The flow equals the first backup again (`flowvault diff HEAD~2 HEAD --exit-code` is 0).")

    say("9. Smoke tests through the real launch APIs of all four systems (`flowvault smoke`):")
    run("smoke", "davinci-ok", "invision-ok", "smartflows-ok", "idm-ok")
    say("   Each system also has a `<type>-fail` launcher whose flow fails"
        + (" (see the hints below)." if keep else ": `flowvault demo --keep DIR` shows how to try them."))


def _runner(config: Path):
    def run(*args: str, check: bool = True) -> int:
        code = _invoke(["--config", str(config), *args])
        if check and code != 0:
            raise DemoStepFailed(f"`flowvault {' '.join(args)}` exited {code}")
        return code

    return run


def _invoke(args: list[str]) -> int:
    from flowvault.cli import cli

    code = cli.main(args=args, prog_name="flowvault", standalone_mode=False)
    return int(code or 0)


def _capture(config: Path, *args: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = _invoke(["--config", str(config), *args])
    if code not in (0, 1):
        raise DemoStepFailed(f"`flowvault {' '.join(args)}` exited {code}")
    return buffer.getvalue()


def _designer_edit(config: Path) -> None:
    """Change the success response of DEMO_FLOW through the documented Platform API, as the designer's Save does."""
    from flowvault.config import load_config
    from flowvault.sources import source_module

    source = load_config(config).sources["davinci"]
    client = source_module("davinci").Source(source.name, source.settings, secret_hint=source.secret_hint).client
    flows = client.get_json(f"/environments/{source.settings.environment_id}/flows")["_embedded"]["flows"]
    flow_id = next(f["id"] for f in flows if f["name"] == DEMO_FLOW)
    path = f"/environments/{source.settings.environment_id}/flows/{flow_id}"
    flow = client.get_json(path)
    for node in flow["graphData"]["elements"]["nodes"]:
        properties = node["data"].get("properties", {})
        if node["data"].get("capabilityName") == "createSuccessResponse" and "nodeTitle" in properties:
            properties["nodeTitle"]["value"] = "Send Welcome Response"
    body = {key: flow[key] for key in REPLACE_FIELDS if key in flow}
    client.request("PUT", path, retry=False, json=body)

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
    def say(line: str) -> None:
        click.secho(line, err=True, bold=line[:1].isdigit() and not os.environ.get("NO_COLOR"))

    run_demo(keep, say)
