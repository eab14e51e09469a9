"""What every command gets from the global options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from flowvault.errors import ConfigError


@dataclass
class AppContext:
    config_path: str | None = None
    vault_path: str | None = None
    verbose: int = 0
    traceback: bool = False
    _config: object = field(default=None, repr=False)

    def config_file(self) -> Path:
        return Path(self.config_path or os.environ.get("FLOWVAULT_CONFIG") or "flowvault.toml")

    def config(self):
        """The loaded and validated flowvault.toml (flowvault.config.Config); ConfigError if it is missing or bad."""
        if self._config is None:
            from flowvault.config import load_config

            path = self.config_file()
            if not path.exists():
                raise ConfigError(f"{path}: no such file; run `flowvault init` or pass --config FILE")
            self._config = load_config(path)
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
