"""Systems that flows are exported from. Adding one = a module here + one line in SOURCES.

Each module defines `Settings` (a frozen dataclass: its fields are the keys its [sources.NAME] table accepts;
fields whose metadata says secret=True must be ${ENV_VAR} references) and `Source` (the exporter)."""

from __future__ import annotations

import importlib
from types import ModuleType

SOURCES: dict[str, str] = {
    "davinci": "flowvault.sources.davinci",
    "idm": "flowvault.sources.idm",
}


def source_module(type_name: str) -> ModuleType:
    """The module implementing source type `type_name` (a key of SOURCES)."""
    return importlib.import_module(SOURCES[type_name])
