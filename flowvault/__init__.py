"""flowvault: back up, review and smoke-test PingOne DaVinci and PingIDM flows with git.

The library API, for scripts (README, "As a library"):

    import flowvault

    config = flowvault.load_config("flowvault.toml")
    result = flowvault.run_backup(config, ".")                       # export every source, commit
    changes = flowvault.diff_snapshots(flowvault.load_snapshot("old/snapshots"),
                                       flowvault.load_snapshot("new/snapshots"))
    flowvault.restore_flow(config, ".", "PingOne Sign On", to="prod", dry_run=True)
    outcome = flowvault.run_launcher(config.launchers["sign-on"], config)

Each name is imported when first used (PEP 562), so `import flowvault` stays cheap and importing one part (a
source, the sandbox) does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

from flowvault.version import __version__

# name -> (the module that defines it, its name there)
_API = {
    "load_config": ("flowvault.config", "load_config"),
    "run_backup": ("flowvault.backup.run", "run_backup"),
    "load_snapshot": ("flowvault.vault.snapshot", "load_path"),  # a snapshots/ folder, flow folder or export file
    "diff_snapshots": ("flowvault.diff", "diff_snapshots"),
    # not "restore": that is the package flowvault.restore, which Python sets on this module once it is imported
    "restore_flow": ("flowvault.restore.run", "restore"),
    "run_launcher": ("flowvault.launch.runner", "run_launcher"),
    "FlowvaultError": ("flowvault.errors", "FlowvaultError"),
    "ExitStatus": ("flowvault.errors", "ExitStatus"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'flowvault' has no attribute {name!r}")
    module, attr = _API[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
