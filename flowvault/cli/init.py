"""`flowvault init`."""

import click

TEMPLATE = '''\
# flowvault configuration: see `flowvault --help` and README.md.
# Secrets only as ${ENV_VAR} references; a literal secret is refused.

[vault]
path = "."                      # the git repo; snapshots go under <path>/snapshots/
# remote = "origin"             # used by `flowvault backup --push`
# redact = ["*secret*", "*password*", "*apikey*", "*token*"]   # extra names to treat as secret

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


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.pass_obj
def command(app, directory):
    """Make DIRECTORY a vault: a git repo, flowvault.toml and snapshots/.

    Idempotent; never overwrites an existing file. Uses the enclosing git repo if there is one.

    \b
    Example:
      flowvault init ./flows-vault
    """
    from pathlib import Path

    from flowvault.vault import Vault, atomic_write

    vault, created = Vault.init(directory)
    done = []
    done.append(f"created git repository {vault.root}" if created else f"using git repository {vault.root}")
    config = Path(directory) / "flowvault.toml"
    if config.exists():
        done.append(f"kept existing {config}")
    else:
        try:
            with open(config, "x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
                f.write(TEMPLATE)
        except FileExistsError:
            done.append(f"kept existing {config}")
        else:
            done.append(f"wrote {config}")
    keep = vault.snapshots / ".gitkeep"
    if not any(vault.snapshots.iterdir()):
        atomic_write(keep, b"")
    done.append(f"snapshots go to {vault.snapshots}")
    for line in done:
        click.echo(line)
    click.echo(f"next: edit {config}, then run `flowvault backup`")
