"""Environment-wide records: a DaVinci environment's variables.json and applications.json (DESIGN.md "Diff records").

A changed company variable or a flow policy that now runs another flow version changes what every sign-on does, so
both files are reviewed like flows: `variable` records (target `<context>/<name>`, no flow), `application` records
(target: the application's name) and `policy` records (target `<application>/<policy>`). Ids and timestamps are
`metadata` (`--level all`); secrets are fingerprints already in the files and stay so.
"""

from __future__ import annotations

from typing import Any

from flowvault.diff.labels import variable_label
from flowvault.diff.paths import grouped, ordered_keys, pointer
from flowvault.diff.records import NOISE_CATEGORIES, Change, action, check_level

# Fields that say when or under which id the service stored an item, not what it does.
_NOISE_FIELDS = frozenset({"id", "createdAt", "updatedAt", "application"})


def _field_depth(path: list) -> int:
    """One record per field; a nested setting (oauth/redirectUris, apiKey/value) one per sub-field."""
    return 2 if path and path[0] in ("oauth", "apiKey", "trigger") else 1


def diff_environment(old: dict | None, new: dict | None, *, source: str | None = None, level: str = "config",
                     flow_names: dict[str, str] | None = None) -> list[Change]:
    """Return the records between two environments, each {"variables.json": doc, "applications.json": doc} (a
    file left out when the source does not store it); `flow_names` {flow id: name} names a distribution's flow."""
    check_level(level)
    old, new = old or {}, new or {}
    out = _variables((old.get("variables.json") or {}).get("variables") or {},
                     (new.get("variables.json") or {}).get("variables") or {}, source)
    out += _applications((old.get("applications.json") or {}).get("applications") or {},
                         (new.get("applications.json") or {}).get("applications") or {}, source, flow_names or {})
    if level == "config":
        out = [c for c in out if c.category not in NOISE_CATEGORIES]
    return out


def item_actions(records: list[Change]) -> dict[tuple[str, str], str]:
    """{(category, target): action} of the environment items (a variable, an application, a policy) `records` touch,
    each by what happened to it as a whole: added or removed when a record adds or removes the whole item, else
    changed."""
    items: dict[tuple[str, str], str] = {}
    for c in records:
        whole = c.path.count("/") == 2 or (c.category == "policy" and c.path.count("/") == 4)
        key = (c.category, c.target)
        items[key] = c.action if whole else items.get(key, "changed")
    return items


def _record(source, category, act, target, label, parts, old=None, new=None) -> Change:
    return Change(source, None, category, act, str(target), label, pointer(parts), old, new)


def _fields(source, category, target, label, parts, a: dict, b: dict) -> list[Change]:
    """One record per changed field of two versions of one item; ids and timestamps as `metadata`."""
    out = []
    for rel, va, vb in grouped(a, b, _field_depth):
        cat = "metadata" if rel and rel[0] in _NOISE_FIELDS else category
        out.append(_record(source, cat, "changed", target, label, [*parts, *rel], va, vb))
    return out


def _variables(old: dict, new: dict, source) -> list[Change]:
    out = []
    for key in ordered_keys(old, new):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        label = variable_label(key)
        if not (isinstance(a, dict) and isinstance(b, dict)):
            out.append(_record(source, "variable", action(a, b), key, label, ["variables", key], a, b))
        else:
            out += _fields(source, "variable", key, label, ["variables", key], a, b)
    return out


def _app_name(app: Any, app_id: str) -> str:
    return str(app.get("name") or app_id) if isinstance(app, dict) else str(app_id)


def _applications(old: dict, new: dict, source, flow_names: dict) -> list[Change]:
    out = []
    for app_id in ordered_keys(old, new):
        a, b = old.get(app_id), new.get(app_id)
        if a == b:
            continue
        name = _app_name(b if b is not None else a, app_id)
        parts = ["applications", app_id]
        if not (isinstance(a, dict) and isinstance(b, dict)):
            out.append(_record(source, "application", action(a, b), name, name, parts, a, b))
            continue
        rest_a = {k: v for k, v in a.items() if k != "flowPolicies"}
        rest_b = {k: v for k, v in b.items() if k != "flowPolicies"}
        if rest_a != rest_b:
            out += _fields(source, "application", name, name, parts, rest_a, rest_b)
        out += _policies(a.get("flowPolicies") or {}, b.get("flowPolicies") or {}, source, name, parts, flow_names)
    return out


def _policies(old: dict, new: dict, source, app: str, parts: list, flow_names: dict) -> list[Change]:
    out = []
    for policy_id in ordered_keys(old, new):
        a, b = old.get(policy_id), new.get(policy_id)
        if a == b:
            continue
        policy = b if isinstance(b, dict) else a
        target = (f"{app}/{(policy or {}).get('name') or policy_id}" if isinstance(policy, dict)
                  else f"{app}/{policy_id}")
        here = [*parts, "flowPolicies", policy_id]
        if not (isinstance(a, dict) and isinstance(b, dict)):
            out.append(_record(source, "policy", action(a, b), target, target, here, _named(a, flow_names),
                               _named(b, flow_names)))
            continue
        rest_a = {k: v for k, v in a.items() if k != "flowDistributions"}
        rest_b = {k: v for k, v in b.items() if k != "flowDistributions"}
        if rest_a != rest_b:
            out += _fields(source, "policy", target, target, here, rest_a, rest_b)
        out += _distributions(a.get("flowDistributions") or [], b.get("flowDistributions") or [], source, target,
                              here, flow_names)
    return out


def _named(policy: Any, flow_names: dict) -> Any:
    """A whole policy as a record value, each distribution carrying its flow's name where known."""
    if not isinstance(policy, dict):
        return policy
    dists = [{**d, "flow": flow_names.get(str(d.get("id")), d.get("id"))} if isinstance(d, dict) else d
             for d in policy.get("flowDistributions") or []]
    return {**policy, "flowDistributions": dists}


def _distributions(old: list, new: list, source, target: str, parts: list, flow_names: dict) -> list[Change]:
    """One record per distribution added or removed, one per changed field (version, weight...); matched by the
    flow they run (a distribution's `id` is its flow's id). The record's label names the flow."""

    def keyed(dists):
        return {str(d.get("id")): (i, d) for i, d in enumerate(dists) if isinstance(d, dict)}

    ka, kb = keyed(old), keyed(new)
    out = []
    for flow_id in ordered_keys(ka, kb):
        (ia, a), (ib, b) = ka.get(flow_id, (None, None)), kb.get(flow_id, (None, None))
        if a == b:
            continue
        label = flow_names.get(flow_id) or flow_id
        index = ib if ib is not None else ia
        here = [*parts, "flowDistributions", index]
        if a is None or b is None:
            out.append(_record(source, "policy", action(a, b), target, label, here, a, b))
            continue
        for key in ordered_keys(a, b):
            if a.get(key) != b.get(key):
                act = "added" if key not in a else "removed" if key not in b else "changed"
                out.append(_record(source, "policy", act, target, label, [*here, key], a.get(key), b.get(key)))
    return out
