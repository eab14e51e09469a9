"""`flowvault init`."""

import click

from flowvault.errors import UsageError

TEMPLATE = '''\
# flowvault configuration: see `flowvault --help` and README.md.
# Secrets only as ${ENV_VAR} references; a literal secret is refused.

[vault]
path = "."                      # the git repo; snapshots go under <path>/snapshots/
# remote = "origin"             # used by `flowvault backup --push`
# redact = ["*pin*"]            # extra names to treat as secret, besides the defaults (*secret*, *password*,
#                               # *apikey*, *api_key*, *token*, *credential*, *privatekey*)

# [sources.prod]                # one per DaVinci environment
# type = "davinci"
# region = "com"                # com | eu | ca | com.au | sg | asia; or api_url = "...", auth_url = "..."
# environment_id = "..."
# client_id = "..."
# client_secret = "${FLOWVAULT_PROD_CLIENT_SECRET}"
# include_subflows = true
# include_variable_values = true

# [sources.idm]                 # a PingIDM server
# type = "idm"
# url = "https://idm.example.com/openidm"
# username = "${IDM_USER}"
# password = "${IDM_PASSWORD}"
# workflow_dir = "idm-project/workflow"     # BPMN files; the REST API returns metadata, not the XML

# [launchers.sign-on]           # one per smoke-testable entry point
# type = "davinci"              # davinci | invision | smartflows | idm
# company_id = "..."
# policy_id = "..."
# api_key = "${DV_SIGNON_API_KEY}"
# input = { userId = "..." }
# expect = { status = "success" }
# timeout = 120
'''


@click.command("init", short_help="Make a folder a vault: git repo, config, snapshots/.")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.pass_obj
def command(app, directory, fmt):
    """Make DIRECTORY (default: --vault, else .) a vault: a git repo, flowvault.toml and snapshots/.

    Idempotent; never overwrites an existing file. Uses the enclosing git repo if there is one.

    \b
    Example:
      flowvault init ./flows-vault
    """
    import json
    from pathlib import Path

    from flowvault.vault.files import atomic_write
    from flowvault.vault.repo import Vault

    directory = directory or (app.vault_path if app else None) or "."
    try:
        vault, created = Vault.init(directory)
    except OSError as e:
        raise UsageError(f"{directory}: cannot create the vault folder ({e.strerror or e}); "
                         "give a folder you can write to") from e
    config = Path(directory) / "flowvault.toml"
    written = False
    if not config.exists():
        try:
            with open(config, "x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
                f.write(TEMPLATE)
        except FileExistsError:
            pass
        else:
            written = True
    keep = vault.snapshots / ".gitkeep"
    if not any(vault.snapshots.iterdir()):
        atomic_write(keep, b"")
    if fmt == "json":
        click.echo(json.dumps({"repository": str(vault.root), "created_repository": created, "config": str(config),
                               "config_written": written, "snapshots": str(vault.snapshots)}, indent=2))
        return
    click.echo(f"created git repository {vault.root}" if created else f"using git repository {vault.root}")
    click.echo(f"wrote {config}" if written else f"kept existing {config}")
    click.echo(f"snapshots go to {vault.snapshots}")
    click.echo(f"next: edit {config}, then run `flowvault backup`")
