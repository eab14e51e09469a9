"""Exit statuses and the error tree.

The library raises only FlowvaultError subclasses, one per decision a caller makes; the CLI turns them into
exit codes in one place (flowvault.cli.FlowvaultGroup.invoke). Messages say what failed and what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The exit-code table of DESIGN.md."""

    OK = 0
    CHANGES = 1  # `diff --exit-code` found changes
    FAILED = 1  # a launch or smoke test failed (the flow ran and said no, or timed out)
    USAGE = 2  # bad flag, bad config, unknown source, unset secret variable
    REMOTE = 3  # a remote system or the local repo failed the command as a whole; unexpected errors
    PARTIAL = 4  # partial backup: some items could not be exported
    INTERRUPTED = 130


class FlowvaultError(Exception):
    """Base of every error the library raises on purpose."""

    exit_status: ExitStatus = ExitStatus.REMOTE
    json_printed: bool = False  # the command printed this failure's details as JSON already (no {"error"} after)


def first_line(error: BaseException) -> str:
    """`error`'s message cut to its first line, or its type's name when it has none: how one failure is named in
    a summary line (a failed item, a failed source, a bad setting)."""
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


# --- fix your input or config (exit 2) -------------------------------------------------------------------


class UsageError(FlowvaultError):
    """The command line or an input file is wrong; nothing was changed."""

    exit_status = ExitStatus.USAGE


class ConfigError(UsageError):
    """flowvault.toml is missing, malformed or refers to something that does not exist."""


class InputError(UsageError):
    """An input file (an export, a snapshot folder, a BPMN file) cannot be read as what it claims to be."""


class NoVaultError(UsageError):
    """The vault folder is missing or not inside a git repository: run `flowvault init`."""


# --- a remote system or the repo failed (exit 3) -----------------------------------------------------------


class RemoteError(FlowvaultError):
    """A remote service failed the call: unreachable, an error status, or a body that is not what the API documents."""

    exit_status = ExitStatus.REMOTE

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class AuthError(RemoteError):
    """The service refused our credentials (401/403): check the secret named in the message."""


class VaultError(FlowvaultError):
    """The local git repository failed (not a repo, git error, lock held, push rejected)."""

    exit_status = ExitStatus.REMOTE


class VaultCorruptError(VaultError):
    """A file or git object of the vault cannot be read (a corrupt object, an unparsable snapshot file): the message
    names the file and the commit."""


# --- the command ran but the outcome is not a success ------------------------------------------------------


class PartialBackupError(FlowvaultError):
    """Some items could not be exported; their previous copies stay in the vault."""

    exit_status = ExitStatus.PARTIAL

    def __init__(self, message: str, failed: list[str] | None = None, result: object = None) -> None:
        super().__init__(message)
        self.failed = failed or []
        self.result = result  # what the run did, for the caller's summary (a backup's BackupResult)


class LaunchFailed(FlowvaultError):
    """A launched flow ran and reported failure, or did not finish before its timeout."""

    exit_status = ExitStatus.FAILED
