"""Connector instances on restore: every node's `connectionId` names an instance of the environment it was saved
from, so it is mapped to the target's instance of the same connector and name (issue 17).

An instance is matched in the target by id (the same environment), else by connector id + instance name (the
instance names come from the source environment's `GET /connectorInstances` when it is configured, else from the
nodes' own names). `--map-connection OLD=NEW` decides a mapping (OLD: the vault's instance id or name; NEW: the
target's instance id or name); `--create-connections` creates, unconfigured, the instances the target lacks.
Anything else is *unmatched*: the plan says so and nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flowvault.errors import UsageError


@dataclass
class ConnectorStep:
    """One connector instance of the vault's flows and the target instance its nodes will use."""

    name: str  # the instance's name in the environment the flows were saved from
    connector: str  # connector id (httpConnector, ...)
    old_id: str
    new_id: str | None  # None: unmatched (or, for "create", not created yet)
    action: str  # "unchanged" (same id), "map", "create"
    via: str  # "id", "name", "--map-connection", "--create-connections", "unmatched"
    nodes: int = 0  # how many nodes of the plan's flows use it
    kind: str = "connector"

    @property
    def unmatched(self) -> bool:
        return self.via == "unmatched"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "action": self.action, "connector": self.connector,
                "from": self.old_id, "to": self.new_id, "via": self.via, "nodes": self.nodes,
                "unmatched": self.unmatched}


def node_connections(entries) -> dict[str, tuple[str, Counter]]:
    """{connection id: (connector id, Counter of the names of the nodes using it)} over the flows `entries`."""
    out: dict[str, tuple[str, Counter]] = {}
    for e in entries:
        nodes_meta = (e.doc.meta or {}).get("nodes") or {}
        for nid, node in (e.doc.flow.get("nodes") or {}).items():
            cid = (nodes_meta.get(nid) or {}).get("connectionId")
            connector = node.get("connectorId") if isinstance(node, dict) else None
            if not isinstance(cid, str) or not cid or not isinstance(connector, str):
                continue
            names = out.setdefault(cid, (connector, Counter()))[1]
            names[str(node.get("name") or connector)] += 1
    return out


def parse_mappings(pairs) -> dict[str, str]:
    """{OLD: NEW} from `--map-connection OLD=NEW` values (UsageError naming a malformed one)."""
    out = {}
    for pair in pairs or ():
        old, sep, new = str(pair).partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"--map-connection {pair!r}: expected OLD=NEW (the vault's connector instance id or "
                             "name = the target's instance id or name)")
        out[old.strip()] = new.strip()
    return out


def plan_connectors(entries, instances: list[dict], *, source_names: dict[str, str] | None = None,
                    mappings: dict[str, str] | None = None, create: bool = False, target: str = "the target") \
        -> list[ConnectorStep]:
    """A ConnectorStep per connector instance the nodes of `entries` use, matched against the target's
    `instances` (Target.connector_instances()); UsageError for a --map-connection that names nothing."""
    source_names = source_names or {}
    mappings = dict(mappings or {})
    by_id = {i["id"]: i for i in instances}
    steps = []
    for cid, (connector, names) in sorted(node_connections(entries).items()):
        name = source_names.get(cid) or min(names, key=lambda n: (-names[n], n))
        count = sum(names.values())
        key = cid if cid in mappings else name if name in mappings else None
        wanted = mappings.pop(key) if key is not None else None
        if wanted is not None:
            hit = by_id.get(wanted) or _unique([i for i in instances if i.get("name") == wanted
                                                and (i.get("connector") or {}).get("id") == connector])
            if hit is None:
                same = sorted(f"{i.get('name')} ({i['id']})" for i in instances
                              if (i.get("connector") or {}).get("id") == connector)
                raise UsageError(f"--map-connection {key}={wanted}: {target} has no "
                                 f"{connector} instance {wanted!r}; its {connector} instances: "
                                 f"{', '.join(same) or 'none'}")
            steps.append(ConnectorStep(name, connector, cid, hit["id"], "unchanged" if hit["id"] == cid else "map",
                                       "--map-connection", count))
            continue
        if cid in by_id:
            steps.append(ConnectorStep(name, connector, cid, cid, "unchanged", "id", count))
            continue
        hit = _unique([i for i in instances if (i.get("connector") or {}).get("id") == connector
                       and str(i.get("name") or "").strip() == name.strip()])
        if hit is not None:
            steps.append(ConnectorStep(name, connector, cid, hit["id"], "map", "name", count))
        elif create:
            steps.append(ConnectorStep(name, connector, cid, None, "create", "--create-connections", count))
        else:
            steps.append(ConnectorStep(name, connector, cid, None, "map", "unmatched", count))
    if mappings:
        raise UsageError(f"--map-connection {', '.join(sorted(mappings))}: no node of the restored flows uses "
                         f"{'that connector instance' if len(mappings) == 1 else 'those connector instances'}")
    return steps


def unmatched_message(steps: list[ConnectorStep], target: str) -> str | None:
    """What stops a restore with unmatched connector instances, or None when every one is decided."""
    missing = [s for s in steps if s.unmatched]
    if not missing:
        return None
    names = ", ".join(f"{s.name!r} ({s.connector}, {s.old_id})" for s in missing)
    return (f"{len(missing)} connector instance(s) of the vault have no match in {target}: {names}; decide with "
            f"--map-connection OLD=NEW, or --create-connections to create them unconfigured")


def map_connections(raw: dict, ids: dict[str, str]) -> None:
    """Point each node of the raw export flow `raw` whose connectionId is a key of `ids` at the mapped instance."""
    nodes = ((raw.get("graphData") or {}).get("elements") or {}).get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, dict) else None
        if isinstance(data, dict) and data.get("connectionId") in ids:
            data["connectionId"] = ids[data["connectionId"]]


def _unique(items: list):
    return items[0] if len(items) == 1 else None
