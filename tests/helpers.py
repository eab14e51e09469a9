"""Test helpers shared by several test modules."""

import contextlib
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@contextlib.contextmanager
def sandbox_and_vault(tmp_path):
    """(sandbox, vault): a sandbox on 127.0.0.1 and a fresh vault whose flowvault.toml is the sandbox's config."""
    from click.testing import CliRunner

    from flowvault.cli import cli
    from flowvault.sandbox.server import Sandbox

    with Sandbox(port=0) as sb:
        vault = tmp_path / "vault"
        result = CliRunner().invoke(cli, ["init", str(vault)])
        assert result.exit_code == 0, result.output
        (vault / "flowvault.toml").unlink()
        sb.write_config(vault / "flowvault.toml")
        yield sb, vault


# --- functions a worker process runs (tests/test_workers.py): importable by name, as pickling needs ------------


def pid_of_caller() -> int:
    import os

    return os.getpid()


def fail_remotely(message: str) -> None:
    from flowvault.errors import RemoteError

    raise RemoteError(message)


def die_unless_in(pid: int) -> str:
    """Kill the process that runs this, unless it is `pid` (the test's own)."""
    import os

    if os.getpid() != pid:
        os._exit(3)
    return "ran here"


def runtime_error_unless_in(pid: int) -> str:
    """Raise a RuntimeError that mentions a shutdown in any process but `pid` (the test's own)."""
    import os

    if os.getpid() != pid:
        raise RuntimeError("the widget is gone after shutdown")
    return "ran here"
