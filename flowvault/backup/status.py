"""`flowvault status`: the live service against the vault, from listings only (issue 16; DESIGN.md "Versions").

Per source: one listing (what a backup lists first) compared with index.json, what the last backup recorded. Nothing
is exported and nothing is written. A DaVinci flow is `in-sync`, `behind` (its listing stamp moved: saved, deployed or
switched since the vault's copy), `new` (not in the vault) or `deleted` (in the vault, no longer listed); a PingIDM
workflow is `in-sync`, `changed` (its BPMN hash or deployed definition moved), `new` or `deleted`.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field

from flowvault.errors import FlowvaultError

IN_SYNC, BEHIND, NEW, DELETED, CHANGED = "in-sync", "behind", "new", "deleted", "changed"


@dataclass
class SourceStatus:
    name: str
    kind: str  # "flows" or "workflows"
    items: list[dict] = field(default_factory=list)
    error: str | None = None

    @property
    def behind(self) -> bool:
        return any(item["state"] != IN_SYNC for item in self.items)


@dataclass
class Status:
    sources: list[SourceStatus]

    @property
    def behind(self) -> bool:
        """True when a backup would change the vault: something is behind, new, changed or deleted."""
        return any(s.behind for s in self.sources)

    def to_dict(self) -> dict:
        out: dict = {}
        for s in self.sources:
            entry: dict = {s.kind: s.items}
            if s.error:
                entry["error"] = s.error
            out[s.name] = entry
        return {"sources": out}


def _version(stamp: dict | None, key: str):
    value = (stamp or {}).get(key)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def compare(kind: str, listed: dict, recorded: dict) -> list[dict]:
    """The status records of one source: `listed` ({id: ListedItem}) against index.json's `recorded` entries."""
    items = []
    for item_id, item in sorted(listed.items(), key=lambda kv: (kv[1].name.lower(), kv[0])):
        record = recorded.get(item_id)
        if record is None:
            state = NEW
        elif (record.get("stamp") or {}) == item.stamp:
            state = IN_SYNC
        else:
            state = BEHIND if kind == "flows" else CHANGED
        items.append(_row(kind, item.name, item_id, state, record, item.stamp))
    for item_id, record in sorted(recorded.items()):
        if item_id not in listed and not record.get("parent"):  # an embedded subflow is not listed by design
            items.append(_row(kind, str(record.get("name") or item_id), item_id, DELETED, record, None))
    return items


# What a DaVinci listing stamp holds (flowvault.sources.davinci.STAMP_FIELDS), as `differs` names it.
_DIFFERS = {"currentVersion": "version", "publishedVersion": "deployed_version", "deployedAt": "deployed_at",
            "enabled": "enabled", "updatedAt": "updated_at"}


def _row(kind: str, name: str, item_id: str, state: str, record: dict | None, live: dict | None) -> dict:
    row: dict = {"name": name, "id": item_id, "state": state}
    if kind == "flows":
        stamp = (record or {}).get("stamp") or {}
        row["vault_version"] = _version(stamp, "currentVersion")
        row["latest_version"] = _version(live, "currentVersion")
        row["deployed_version"] = _version(live, "publishedVersion")
        row["vault_deployed_version"] = _version(stamp, "publishedVersion")
        # What moved since the vault's copy, so that "behind" says why: a deploy, or an enable, without a new
        # saved version leaves vault_version == latest_version (the backup then records it: meta.json, index.json)
        row["differs"] = [] if state != BEHIND else \
            [_DIFFERS.get(key, key) for key in sorted(set(stamp) | set(live or {}), key=_stamp_order)
             if stamp.get(key) != (live or {}).get(key)]
    return row


def _stamp_order(key: str) -> tuple[int, str]:
    return (list(_DIFFERS).index(key) if key in _DIFFERS else len(_DIFFERS), key)


def run_status(config, vault_dir, *, sources=(), source_factory=None) -> Status:
    """Each selected source's items compared with the vault (listings only); a source whose listing fails is
    reported with its error (RemoteError when every source failed)."""
    from flowvault.backup.index import load_index
    from flowvault.backup.run import _key_file, _make_source, select_sources
    from flowvault.normalize.redact import Redactor
    from flowvault.vault.repo import Vault

    names = select_sources(config, sources)
    vault = Vault.open(vault_dir)
    vault.check_readable()  # a vault that lost an object is not "in sync" whatever its index.json says (issue 18)
    # The backup's own redactor: a workflow file's listing stamp is the hash of its canonical, redacted bytes, so a
    # status with another key (or none) would see every workflow with a secret in it as changed.
    redactor = Redactor.from_environment(getattr(config.vault, "redact", ()) or (), key_file=_key_file(config))

    def one(name: str) -> SourceStatus:
        src_cfg = config.sources[name]
        source = (source_factory or _make_source)(config, src_cfg, redactor=redactor, jobs=1)
        try:
            listed = source.list()
            return SourceStatus(name, source.kind, compare(source.kind, listed, load_index(vault, name, source.kind)))
        finally:
            source.close()

    out = []
    with concurrent.futures.ThreadPoolExecutor(max(1, len(names)), thread_name_prefix="status") as pool:
        futures = [(name, pool.submit(one, name)) for name in names]
        for name, future in futures:
            try:
                out.append(future.result())
            except FlowvaultError as e:
                kind = "workflows" if config.sources[name].type == "idm" else "flows"
                out.append(SourceStatus(name, kind, error=str(e).splitlines()[0]))
    failed = [(s.name, s.error) for s in out if s.error]
    if out and len(failed) == len(out):
        from flowvault.errors import RemoteError

        name, why = failed[0]
        raise RemoteError(why if why.startswith(name) else f"{name}: {why}")
    return Status(out)


def text_lines(status: Status) -> list[str]:
    """What is not in sync, and each flow whose latest saved version is not the deployed one; one line each."""
    from flowvault.backup.records import one_line

    lines = []
    for s in status.sources:
        if s.error:
            lines.append(f"{s.name}: FAILED: {one_line(s.error)}")
            continue
        shown = 0
        for item in s.items:
            name = one_line(item["name"])
            state = item["state"]
            if state != IN_SYNC:
                shown += 1
                if s.kind != "flows":
                    lines.append(f"{s.name}: {name}: {state}")
                elif state == BEHIND:
                    lines.append(f"{s.name}: {name}: behind: {_behind(item)}")
                elif state == NEW:
                    lines.append(f"{s.name}: {name}: new (version {item['latest_version']}, not in the vault)"
                                 + _deployed(item))
                else:
                    lines.append(f"{s.name}: {name}: deleted from the service (vault has version "
                                 f"{item['vault_version']})")
            elif s.kind == "flows" and item["latest_version"] != item["deployed_version"]:
                shown += 1
                lines.append(f"{s.name}: {name}: in sync; latest version {item['latest_version']} is not deployed"
                             + _deployed(item))
        if not shown:
            lines.append(f"{s.name}: in sync ({len(s.items)} {s.kind})")
    return lines


def _behind(item: dict) -> str:
    """What moved on the service since the vault's copy of a flow that is behind, e.g. "deployed version changed:
    vault 6, service 7"."""
    differs = item.get("differs") or []
    said = []
    if "version" in differs:
        said.append(f"vault has version {item['vault_version']}, the service {item['latest_version']}"
                    + ("" if "deployed_version" in differs else _deployed(item)))
    if "deployed_version" in differs:
        said.append(f"deployed version changed: vault {_or_none(item['vault_deployed_version'])}, "
                    f"service {_or_none(item['deployed_version'])}")
    elif "deployed_at" in differs:
        said.append(f"deployed again (version {_or_none(item['deployed_version'])})")
    if "enabled" in differs:
        said.append("enabled changed on the service")
    if not said:  # only its update date (or a field flowvault does not name) moved
        said.append(f"updated on the service, still version {item['latest_version']}")
    return "; ".join(said)


def _or_none(version) -> str:
    return "none" if version is None else str(version)


def _deployed(item: dict) -> str:
    deployed = item.get("deployed_version")
    return f" (deployed: version {deployed})" if deployed else " (never deployed)"
