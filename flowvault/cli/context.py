"""What every command gets from the global options."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flowvault.errors import ConfigError, NoVaultError, UsageError, VaultError

if TYPE_CHECKING:
    from flowvault.config import Config


@dataclass
class AppContext:
    config_path: str | None = None
    vault_path: str | None = None
    verbose: int = 0
    traceback: bool = False
    _config: Config | None = field(default=None, repr=False)

    def config_file(self) -> Path:
        return Path(self.config_path or os.environ.get("FLOWVAULT_CONFIG") or "flowvault.toml")

    def config(self) -> Config:
        """The loaded and validated flowvault.toml (flowvault.config.Config); ConfigError if it is missing or bad."""
        if self._config is None:
            from flowvault.config import load_config

            path = self.config_file()
            if not path.exists():
                raise ConfigError(f"{path}: no such file; run `flowvault init` or pass --config FILE")
            self._config = load_config(path, lazy=True)  # a table's ${VAR}s are needed when it is used
        return self._config

    def vault_dir(self) -> Path:
        """The vault directory: --vault, else [vault].path of the config (relative to the config file), else '.'."""
        if self.vault_path:
            return Path(self.vault_path)
        if self._config is not None:
            return self._config.vault.path
        if self.config_file().exists():
            from flowvault.config import load_vault_config

            return load_vault_config(self.config_file()).path
        return Path(".")


def no_commits_yet(vault_dir: Path):
    """A UsageError saying what to do when the vault at `vault_dir` has no commit to read (else None)."""
    from flowvault.vault import snapshot

    try:
        vault = snapshot.open_vault(vault_dir)
    except UsageError:
        return None
    if vault.head() is not None:
        return None
    return UsageError(f"the vault {vault.path} has no commits yet; run `flowvault backup` first")


def _configured(ctx, table: str, type_: str | None = None) -> list[str]:
    """Names of [table.NAME] in the config the command line points at; [] if it cannot be read (completion only)."""
    root = ctx.find_root()
    path = Path(root.params.get("config_path") or os.environ.get("FLOWVAULT_CONFIG") or "flowvault.toml")
    try:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get(table, {})
    except Exception:  # noqa: BLE001 - a completion never fails the shell; a bad config is reported when run
        return []
    return sorted(name for name, t in tables.items()
                  if isinstance(t, dict) and (type_ is None or t.get("type") == type_))


def complete_launchers(ctx, param, incomplete: str) -> list[str]:
    """Shell completion of launcher names ([launchers.NAME])."""
    return [n for n in _configured(ctx, "launchers") if n.startswith(incomplete)]


def complete_sources(ctx, param, incomplete: str) -> list[str]:
    """Shell completion of source names ([sources.NAME])."""
    return [n for n in _configured(ctx, "sources") if n.startswith(incomplete)]


def complete_davinci_sources(ctx, param, incomplete: str) -> list[str]:
    """Shell completion of DaVinci source names (what `restore --to` accepts)."""
    return [n for n in _configured(ctx, "sources", "davinci") if n.startswith(incomplete)]


def complete_flows(ctx, param, incomplete: str) -> list[str]:
    """Shell completion of flow and workflow names saved in the vault (at HEAD), ignoring case."""
    try:
        root = ctx.find_root()
        app = AppContext(config_path=root.params.get("config_path"), vault_path=root.params.get("vault_path"))
        from flowvault.vault import snapshot

        snap = snapshot.load_ref(snapshot.open_vault(app.vault_dir()), "HEAD")
        names = sorted({e.name for e in (*snap.flows, *snap.workflows)})
    except Exception:  # noqa: BLE001 - a completion never fails the shell (no vault, no commit yet, a bad config)
        return []
    return [n for n in names if n.casefold().startswith(incomplete.casefold())]


def check_local(app: AppContext, vault_dir: Path, remote: str | None = None) -> None:
    """Before a command contacts any service (issue 19): the vault folder exists inside a git repository, and
    `remote` (for --push), if given, is one of its git remotes. Cheap: no git import; git itself only for --push."""

    where = ""
    if not app.vault_path:  # from [vault] path, which is relative to the config file's folder, not the shell's
        where = f" ([vault] path of {app.config_file()}, relative to its folder; or pass --vault DIR)"
    if not vault_dir.is_dir():
        raise NoVaultError(f"{vault_dir}: vault folder does not exist{where}; fix the path, "
                           f"or run `flowvault init {vault_dir}`")
    resolved = vault_dir.resolve()
    if not any((d / ".git").exists() for d in (resolved, *resolved.parents)):
        raise NoVaultError(f"{vault_dir}: not inside a git repository{where}; run `flowvault init {vault_dir}`")
    if remote:
        import subprocess

        try:
            remotes = subprocess.run(["git", "-C", str(vault_dir), "remote"], capture_output=True, text=True,
                                     timeout=30).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return  # git is checked again when the push runs
        if remote not in remotes:
            known = ", ".join(remotes) or "none"
            raise VaultError(f"--push: the vault has no git remote {remote!r} (remotes: {known}); "
                             f"add it (`git remote add {remote} URL`) or fix [vault] remote")
