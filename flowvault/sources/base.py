"""The contract between a source and a backup run: what a listing says (ListedItem), what an export gives (Entry),
and what a source module provides (SourceModule, Source).

A run lists every item, compares each ListedItem's stamp with what index.json recorded, exports what changed and
writes each Entry's files. A source never imports the run (flowvault.backup): it depends only on this module.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ListedItem:
    """What a source's listing says about one item: `stamp` changes whenever the item does."""

    id: str
    name: str
    stamp: dict
    extra: dict = field(default_factory=dict)

    @property
    def slug_name(self) -> str:
        """What the item's file or folder name is made from: its name (flows) or its key (IDM workflows)."""
        return str(self.extra.get("slug_name") or self.name)


@dataclass
class Entry:
    """One exported item: its files ({name: bytes} in a folder, or {suffix: bytes} next to each other)."""

    id: str
    name: str
    files: dict[str, bytes]
    stamp: dict | None = None
    parent: str | None = None  # set for a subflow that came embedded in another flow's export


# A way to run CPU-bound work elsewhere: call(fn, *args) -> fn(*args), e.g. in a worker process. fn and its
# arguments must pickle. A source given none runs the work in place.
Call = Callable[..., Any]


def in_place(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), here: the `call` of a source that was given none."""
    return fn(*args)


class Source(Protocol):
    """What flowvault.backup calls on a source; each module of flowvault.sources defines one (class `Source`)."""

    kind: str  # the folder under snapshots/<source>/: "flows" or "workflows"
    nested: bool  # True: one folder per item ({name: bytes}); False: files side by side ({suffix: bytes})
    settled: tuple[str, ...]  # the files handed to settle() before they are written

    def list(self) -> dict[str, ListedItem]:
        """{item id: ListedItem} of everything the system has (a FlowvaultError if the listing fails)."""
        ...

    def export(self, item: ListedItem) -> builtins.list[Entry]:  # `list` here is the method above
        """The entries of one item (a FlowvaultError if it cannot be exported)."""
        ...

    def settle(self, fname: str, stored: bytes | None, fresh: bytes) -> bytes:
        """The bytes to store for `fname` given what is stored and what was just exported."""
        ...

    def extras(self, stored: Callable[[str], bytes | None] | None = None) -> Iterator[tuple[str, Any]]:
        """(file name, bytes or the exception that stopped it) of the source's environment-wide files."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Versioned(Protocol):
    """What a source whose items keep saved versions adds (DaVinci: GET /flows/{id}/versions; issue 16).

    A backup exports version N of an item by handing `export` a ListedItem whose extra["version"] is N and whose
    stamp["currentVersion"] is N."""

    saves_versions: bool  # False: the source keeps one version per item (e.g. DaVinci with deployed_only)

    def versions(self, item: ListedItem) -> list[dict]:
        """The item's stored versions, oldest first: {"version": int, "alias", "createdAt", "updatedAt", ...}."""
        ...
