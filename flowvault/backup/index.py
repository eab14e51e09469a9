"""index.json: what a source's folder in the vault holds, so that the next run exports only what changed.

snapshots/<source>/index.json maps each item id to its name, slug, listing stamp and file hashes; it is written last
by a run (backup._export_source), so a run killed before that re-exports whatever it had started. A missing or
unreadable index.json is rebuilt from the files, so it never loses folders nor renames them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowvault.sources.base import ListedItem

log = logging.getLogger("flowvault.backup")  # index.json is part of a backup run's story (`-v`)

INDEX = "index.json"
FORMAT = 1
KEY_CHECK = b"flowvault:redaction-key-check"


def redaction_stamp(redactor) -> str:
    """What index.json records of the redaction key: a run with another key re-exports everything."""
    if not redactor.keyed:
        return "none"
    return "hmac-sha256:" + hmac.new(redactor.key, KEY_CHECK, hashlib.sha256).hexdigest()[:12]


def load_index(vault, root: str, kind: str) -> dict[str, dict]:
    """{item id: index entry} of snapshots/<root>/index.json; rebuilt from the files if it is missing or unreadable."""
    data = vault.read(f"{root}/{INDEX}")
    if data is not None:
        try:
            doc = json.loads(data)
            items = doc.get(kind)
            if isinstance(items, dict) and all(isinstance(v, dict) for v in items.values()):
                return {str(k): v for k, v in items.items()}
        except (ValueError, AttributeError):
            pass
        log.warning("%s: %s is unreadable; rebuilding it from the files", root, INDEX)
    return _recover_index(vault, root, kind)


def _recover_index(vault, root: str, kind: str) -> dict[str, dict]:
    """Items found on disk, so that a lost index.json neither loses folders nor renames them."""
    items: dict[str, dict] = {}
    base = vault.file(f"{root}/{kind}")
    if not base.is_dir():
        return items
    for child in sorted(base.iterdir()):
        try:
            if child.is_dir():
                meta = json.loads((child / "meta.json").read_text("utf-8"))
                flow = json.loads((child / "flow.json").read_text("utf-8"))
                item_id = meta.get("flowId") or flow.get("id")
                if item_id:
                    items[str(item_id)] = {"name": flow.get("name", child.name), "slug": child.name, "stamp": {}}
            elif child.name.endswith(".json"):
                meta = json.loads(child.read_text("utf-8"))
                if isinstance(meta, dict) and meta.get("key"):
                    items[str(meta["key"])] = {"name": meta.get("name") or meta["key"],
                                               "slug": child.name[: -len(".json")], "stamp": {}}
        except (OSError, ValueError, AttributeError):
            continue
    return items


def item_paths(root: str, kind: str, nested: bool, slug: str, names) -> dict[str, str]:
    if nested:
        return {n: f"{root}/{kind}/{slug}/{n}" for n in names}
    return {n: f"{root}/{kind}/{slug}{n}" for n in names}


def is_stale(present: set[str], prev: dict | None, item: ListedItem, root: str, kind: str, nested: bool) -> bool:
    """True unless index.json vouches for `item` as listed now and every file of its entry is among `present`
    (the vault's files, as Vault.list_files gives them)."""
    if prev is None or not item.stamp or prev.get("stamp") != item.stamp:
        return True
    files = prev.get("files") or {}
    if not files:
        return True
    # Present is enough (reading all 300 files back was 14 MB per unchanged run): a changed file is in the commit.
    return any(p not in present for p in item_paths(root, kind, nested, prev["slug"], files).values())


def damaged_files(vault, root: str, kind: str, nested: bool, entry: dict) -> list[str]:
    """The paths of `entry`'s files whose bytes are not those index.json recorded (missing, truncated, edited);
    the others are claimed for the commit (Vault.claim), as flowvault's own. Reading them back costs ~10 ms per 300
    files (page cache) and is what keeps a damaged file from being committed as a backup (issue 18)."""
    from flowvault.canonical import content_hash

    bad = []
    for fname, path in item_paths(root, kind, nested, entry["slug"], entry.get("files") or {}).items():
        data = vault.read(path)
        if data is None or content_hash(data) != entry["files"][fname]:
            bad.append(path)
        else:
            vault.claim(path)
    return bad


def read_index_doc(vault, root: str) -> dict:
    data = vault.read(f"{root}/{INDEX}")
    try:
        doc = json.loads(data) if data is not None else {}
    except ValueError:
        doc = {}
    return doc if isinstance(doc, dict) else {}


def remove_orphans(vault, root, kind, nested, final: dict, protected_slugs: set) -> None:
    """Files under <kind>/ that no index entry accounts for (left by a killed run), except failed items' ones."""
    expected: set[str] = set()
    for entry in final.values():
        expected.update(item_paths(root, kind, nested, entry["slug"], entry.get("files") or {}).values())
    for path in vault.list_files(f"{root}/{kind}"):
        if path in expected:
            continue
        rest = PurePosixPath(path).relative_to(f"{root}/{kind}").parts
        slug = rest[0] if nested else rest[0].split(".")[0]
        if slug in protected_slugs or any(slug == s or rest[0].startswith(s + ".") for s in protected_slugs):
            continue
        vault.remove(path)
