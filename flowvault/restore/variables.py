"""Variables on restore: each variable of the restored flows, matched in the target by context + name (issue 17).

Environment-wide variables (contexts `company` and `user`) are created or updated through `/variables` before any
flow is written, with their values; a flow's own variables (`flow`, `flowInstance`) travel with the flow's body,
their `##SK##flow##SK##<id>` suffix rewritten to the target flow's id (restore.bodies). A redacted value is never
sent: it comes from `restore_secrets` ("<context>/<name>" or "<name>"), else the target keeps its value, else it is
left out. A value holding redaction markers gets its secrets the same way (restore.secrets.fill_embedded), else the
plan names it as missing and the restore refuses. Ping refuses typed `false` and `0` values, so those are sent as
strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowvault.normalize.secret_shapes import is_redacted_value, markers
from flowvault.restore.secrets import fill_embedded

ENVIRONMENT_CONTEXTS = ("company", "user")  # written through /variables; the others travel with their flow
DATA_TYPES = ("boolean", "number", "object", "secret", "string")  # DaVinciVariableCreateRequest.dataType
COMPARED = ("dataType", "displayName", "mutable", "min", "max", "value")


@dataclass
class VariableStep:
    """One variable of the restored flows and what restore does with it in the target."""

    context: str
    name: str  # the base name (no ##SK## suffix)
    action: str  # "create" | "update" | "unchanged"
    via: str  # "variables" (its own write, before the flows) or "flow" (with the flow's body)
    flow: str | None = None  # the flow it belongs to (context flow), or the first flow that uses it
    flow_slug: str | None = None
    target_id: str | None = None  # the target's variable id, when it has one
    changed: list[str] = field(default_factory=list)
    secret: str | None = None  # where a redacted value came from
    missing: dict | None = None  # a value with markers nothing supplies: {"path", "missing": the key, "markers"}
    body: dict = field(default_factory=dict, repr=False)  # the /variables request (never shown: may hold a secret)
    previous: dict | None = field(default=None, repr=False)  # the target's variable before the restore
    kind: str = "variable"

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "name": f"{self.context}/{self.name}", "action": self.action,
               "context": self.context, "via": self.via, "flow": self.flow, "id": self.target_id,
               "changed": self.changed}
        if self.secret:
            out["secret"] = self.secret
        if self.missing:
            out["missing"] = self.missing["missing"]
        return out


def wire_value(value: Any) -> Any:
    """`value` as /variables accepts it: Ping refuses a typed `false` or `0`, so those go as strings."""
    if value is False:
        return "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return "0" if isinstance(value, int) or float(value).is_integer() else str(value)
    return value


def plan_variables(entries, flow_ids: Mapping[str, str | None], listed: list[dict],
                   supplied: Mapping[str, str] | None = None) -> list[VariableStep]:
    """A VariableStep per variable of the flows `entries` (callees first), matched in the target's `listed`
    variables; `flow_ids` maps a flow's slug to its target id (None: it will be created)."""
    supplied = supplied or {}
    steps: list[VariableStep] = []
    seen: set[tuple] = set()
    for e in entries:
        for key, var in sorted((e.doc.flow.get("variables") or {}).items()):
            if not isinstance(var, dict):
                continue
            context = str(var.get("context") or key.partition("/")[0])
            name = key.partition("/")[2] or key
            target_flow = flow_ids.get(e.slug)
            dedupe = (context, name) if context in ENVIRONMENT_CONTEXTS else (context, name, e.slug)
            if dedupe in seen:
                continue  # multi-flow packs repeat a company variable in every flow
            seen.add(dedupe)
            via = "variables" if context in ENVIRONMENT_CONTEXTS else "flow"
            current = None
            if context != "flow" or target_flow:
                current = next((v for v in listed if v.get("context") == context and v.get("name") == name
                                and (context != "flow" or (v.get("flow") or {}).get("id") == target_flow)), None)
            step = VariableStep(context, name, "create", via, flow=e.name, flow_slug=e.slug,
                                target_id=(current or {}).get("id"), previous=current)
            step.body = _body(var, context, name, current, supplied, step)
            if current is not None:
                step.changed = [k for k in COMPARED if k in step.body and _differs(step.body[k], current.get(k))]
                step.action = "update" if step.changed else "unchanged"
            steps.append(step)
    return steps


def _body(var: dict, context: str, name: str, current: dict | None, supplied: Mapping[str, str],
          step: VariableStep) -> dict:
    """The DaVinciVariableCreateRequest / ReplaceRequest for `var` (a flow.json variable entry)."""
    found = var.get("fields")
    fields: dict[str, Any] = found if isinstance(found, dict) else {}
    data_type = fields.get("type") if fields.get("type") in DATA_TYPES else "string"
    body: dict[str, Any] = {"name": name, "context": context, "dataType": data_type,
                            "mutable": bool(fields.get("mutable", True))}
    if isinstance(fields.get("displayName"), str):
        body["displayName"] = fields["displayName"]
    for bound in ("min", "max"):
        if isinstance(fields.get(bound), int) and not isinstance(fields.get(bound), bool):
            body[bound] = fields[bound]
    if "value" in fields:
        value = fields["value"]
        if isinstance(value, str) and markers(value):
            names = [f"{context}/{name}", name]
            filled, step.secret, key = fill_embedded(value, names, supplied, (current or {}).get("value"))
            if filled is None and context in ENVIRONMENT_CONTEXTS:  # a flow's own: its flow step says so
                step.missing = {"path": f"variables/{context}/{name}/fields/value", "missing": key,
                                "markers": len(markers(value))}
            if filled is not None:
                body["value"] = filled
        elif is_redacted_value(value):
            supplied_name = next((n for n in (f"{context}/{name}", name) if n in supplied), None)
            if supplied_name is not None:
                body["value"] = supplied[supplied_name]
                step.secret = f"from restore_secrets[{supplied_name!r}]"
            elif current is not None and current.get("value") is not None:
                body["value"] = current["value"]
                step.secret = "kept from the target"
            else:
                step.secret = "left out (not sent)"
        elif isinstance(value, (str, int, float, bool, dict)):
            body["value"] = value
    return body


def undo_body(previous: dict) -> dict:
    """The ReplaceRequest that puts the target's variable `previous` (a /variables item) back."""
    body = {k: previous[k] for k in ("name", "context", "dataType", "mutable", "displayName", "min", "max", "flow")
            if previous.get(k) is not None}
    if "value" in previous:
        body["value"] = wire_value(previous["value"])
    return body


def request_body(step: VariableStep) -> dict:
    """The body sent for `step`, typed false/0 as strings."""
    body = dict(step.body)
    if "value" in body:
        body["value"] = wire_value(body["value"])
    return body


def _differs(wanted: Any, current: Any) -> bool:
    """Whether a vault value and a target value differ (a number saved as text equals the number)."""
    if wanted == current and type(wanted) is type(current):
        return False
    if isinstance(wanted, bool) or isinstance(current, bool):
        return str(wanted).lower() != str(current).lower()
    return str(wanted) != str(current)
