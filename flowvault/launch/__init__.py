"""Launch APIs that start a flow for a smoke test. Adding one = a module here + one line in LAUNCHERS.

Each module defines `Settings` (a frozen dataclass: the type-specific keys of a [launchers.NAME] table; fields
whose metadata says secret=True must be ${ENV_VAR} references) and `Launcher` (starts and follows a run: the
protocol and the Result record are in flowvault.launch.base; flowvault.launch.runner runs configured launchers,
flowvault.launch.report renders their results)."""

from __future__ import annotations

import importlib
from types import ModuleType

LAUNCHERS: dict[str, str] = {
    "davinci": "flowvault.launch.davinci",
    "invision": "flowvault.launch.invision",
    "smartflows": "flowvault.launch.smartflows",
    "idm": "flowvault.launch.idm",
}


def launcher_module(type_name: str) -> ModuleType:
    """The module implementing launcher type `type_name` (a key of LAUNCHERS)."""
    return importlib.import_module(LAUNCHERS[type_name])
