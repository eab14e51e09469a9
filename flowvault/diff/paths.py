"""Where two differing pieces of a canonical document differ, as key paths and RFC 6901 JSON pointers.

Speed: the differs compare every node, edge, variable and setting as a whole first (a C-level deep equality on the
canonical dicts) and call in here only for the pieces that really differ. deepdiff, which costs ~450 ms to import,
is imported by `leaf_paths` alone, so a diff of unchanged flows (and `flowvault --help`) never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def pointer(parts: Iterable) -> str:
    """Return the RFC 6901 JSON pointer for a list of keys."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def value_at(doc: Any, parts: Iterable) -> Any:
    """Return the value at key path `parts` in `doc`, or None when the path does not exist."""
    for part in parts:
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and isinstance(part, int) and -len(doc) <= part < len(doc):
            doc = doc[part]
        else:
            return None
    return doc


def leaf_paths(old: Any, new: Any) -> list[list]:
    """Return the paths (key lists) where two differing pieces differ, sorted; deepdiff is imported here and only
    here."""
    from deepdiff import DeepDiff  # lazy: 450 ms to import

    tree = DeepDiff(old, new, view="tree", ignore_numeric_type_changes=True)
    paths = [level.path(output_format="list") for report in tree.values() for level in report]
    return sorted(paths, key=lambda p: [str(x) for x in p])


def dict_paths(old: dict, new: dict, prefix: tuple = ()) -> list[list]:
    """Return the paths where two dicts differ, descending into dicts only (lists and scalars compared whole)."""
    out = []
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if a == b and (key in old) == (key in new):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += dict_paths(a, b, (*prefix, key))
        else:
            out.append([*prefix, key])
    return out


def common_prefix(paths: list[list]) -> list:
    """Return the longest path that every one of `paths` (at least one) starts with."""
    prefix = list(paths[0])
    for path in paths[1:]:
        n = 0
        while n < len(prefix) and n < len(path) and prefix[n] == path[n]:
            n += 1
        del prefix[n:]
    return prefix


def enclosing_difference(old: Any, new: Any, paths: Callable[[Any, Any], list[list]] = leaf_paths) -> tuple:
    """Return (relative path, old value, new value) at the deepest path that holds every difference."""
    rel = common_prefix(paths(old, new) or [[]])
    return rel, value_at(old, rel), value_at(new, rel)


def grouped(old: Any, new: Any, depth: Callable[[list], int]) -> list[tuple[list, Any, Any]]:
    """Return (relative path, old value, new value) per group of differences; `depth(path)` says how deep a
    group is."""
    groups: dict[tuple, list[list]] = {}
    for path in leaf_paths(old, new):
        groups.setdefault(tuple(path[: depth(path)]), []).append(path)
    out = []
    for paths in groups.values():
        rel = common_prefix(paths)
        out.append((rel, value_at(old, rel), value_at(new, rel)))
    return out


def ordered_keys(old: dict, new: dict) -> list:
    """Return the keys of both maps in a stable order: sorted, so a reordered export reads the same."""
    return sorted(set(old) | set(new), key=str)
