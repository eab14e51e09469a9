"""One DaVinci flow (legacy or Platform API shape) <-> its canonical snapshot (flow.json, layout.json, meta.json).

The contract is docs/canonical-format.md; the field classification follows davinci-api.md §2.2-2.8
(davinci-client-go's config / designercue / metadata categories). Pure functions, no I/O. The graph is split by
davinci_graph; whole export documents (several flows, envelopes) are davinci.py's.
Unknown fields are kept (in flow.json), never dropped: the platform adds fields without notice (tf-davinci #601).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowvault.errors import InputError
from flowvault.normalize.davinci_graph import normalize_graph, ordered, rebuild_graph
from flowvault.normalize.redact import Redactor, is_literal_secret

# --- field classification ------------------------------------------------------------------------------------

# Platform "enabled" is the on/off state switched by the flow.enabled action, like legacy flowStatus
# (versionmetadata in davinci-client-go): meta, so both shapes of one flow give the same flow.json.
CONFIG_KEYS = ("settings", "trigger", "inputSchema", "outputSchema")
# Top-level keys that are ids, dates, versions, environment references or derived/compiled copies.
META_KEYS = frozenset(
    {
        "companyId", "customerId", "createdDate", "updatedDate", "savedDate", "deployedDate",
        "currentVersion", "publishedVersion", "versionId", "version", "flowStatus", "versionInfo",
        "connectorIds", "connectors", "connections", "authTokenExpireIds", "timeouts",
        "isInputSchemaSaved", "isOutputSchemaSaved", "inputSchemaCompiled", "outputSchemaCompiled",
        "orx", "enabledGraphData", "parentFlowId", "functionConnectionId",
        # Platform API (DaVinciExportFlowVersionResponse, davinci-api.md §1.3)
        "_links", "environment", "enabled", "createdAt", "updatedAt", "deployedAt", "dvlinterErrorCount",
        "dvlinterWarningCount", "updates", "alias", "clonedFrom", "_embedded",
    }
)  # fmt: skip
# flow.json's own keys: an unknown top-level key with one of these names goes under "unmapped" instead.
FLOW_OWN = frozenset({"name", "description", "nodes", "edges", "variables", "graph", "unmapped", *CONFIG_KEYS})
VARIABLE_META_KEYS = ("id", "companyId", "customerId", "flowId", "createdDate", "updatedDate")
SEP = "##SK##"
_IMPORT_STAMP = re.compile(r"\s*Imported on ")


@dataclass
class FlowSnapshot:
    """One flow in canonical form: flow.json, layout.json and meta.json contents."""

    flow: dict
    layout: dict
    meta: dict


# --- one flow ------------------------------------------------------------------------------------------------


def is_platform(raw: dict) -> bool:
    """Return True for a flow (or document) in the Platform API shape, False for the legacy shape."""
    if "flowId" in raw:
        return False
    return isinstance(raw.get("flow"), dict) or "_links" in raw or "environment" in raw


def _label(raw: dict) -> str:
    """Return the flow's name quoted for an error message, or "(unnamed)"."""
    name = raw.get("name")
    if not isinstance(name, str) and isinstance(raw.get("flow"), dict):
        name = raw["flow"].get("name")
    return repr(name) if isinstance(name, str) else "(unnamed)"


def _variable_key(name: str, context: Any) -> tuple[str, str | None]:
    """Return the canonical key "<context>/<name>" of an export variable name, and the ##SK## suffix after it."""
    parts = name.split(SEP)
    if len(parts) >= 2:
        suffix = SEP.join(parts[2:]) if len(parts) > 2 else None
        return f"{parts[1]}/{parts[0]}", suffix
    return f"{context if isinstance(context, str) else ''}/{name}", None


def _variable_name(key: str, suffix: str | None) -> str:
    """Return the export variable name _variable_key read the key (and suffix) from."""
    context, _, base = key.partition("/")
    return base + SEP + context + ("" if suffix is None else SEP + suffix)


def _redact_variable(body: dict, base: str, redactor: Redactor, path: list, secret_paths: list) -> dict:
    """Return the variable body with a secret value redacted (a copy when one is), its path added to
    secret_paths."""
    fields = body.get("fields")
    secret_typed = isinstance(fields, dict) and fields.get("type") == "secret"

    def hide(value: Any) -> bool:
        if value is None or value == "" or isinstance(value, dict) and "redacted" in value:
            return False
        return secret_typed or (redactor.matches(base) and is_literal_secret(value))

    if isinstance(fields, dict) and "value" in fields and hide(fields["value"]):
        body = dict(body)
        body["fields"] = {**fields, "value": redactor.value(fields["value"])}
        secret_paths.append([*path, "fields", "value"])
    if "value" in body and hide(body["value"]):  # Platform variables carry a top-level value
        body = dict(body)
        body["value"] = redactor.value(body["value"])
        secret_paths.append([*path, "value"])
    return redactor.redact_values(body, tuple(path), secret_paths)  # secrets by shape (a URL with a password, ...)


# Fields the service rewrites by itself (settings.logLevel: tf-davinci #125, #288, #462, #517). They stay config, so
# an edit of them shows in a diff, but a re-export that differs from the stored flow.json only in them keeps the
# stored file: the service's own rewrite never makes a commit (reference/davinci-api.md §2.7).
SERVICE_REWRITTEN = (("settings", "logLevel"),)


def only_service_rewrites(stored: dict, fresh: dict) -> bool:
    """True if the two flow.json documents differ, and only in fields the service rewrites by itself."""
    if stored == fresh:
        return False

    def without(doc: dict) -> dict:
        doc = dict(doc)
        for section, key in SERVICE_REWRITTEN:
            if isinstance(doc.get(section), dict):
                doc[section] = {k: v for k, v in doc[section].items() if k != key}
        return doc

    return without(stored) == without(fresh)


def normalize(raw_flow: dict, *, redactor: Redactor | None = None) -> FlowSnapshot:
    """Return the canonical snapshot of one legacy or Platform flow; denormalize() rebuilds the export from it."""
    if not isinstance(raw_flow, dict):
        raise InputError(f"a DaVinci flow must be a JSON object, got {type(raw_flow).__name__}")
    where = _label(raw_flow)
    platform = is_platform(raw_flow)
    flow: dict = {}
    layout: dict = {}
    meta: dict = {"shape": "platform" if platform else "legacy"}
    absent: list[str] = []
    secret_paths: list = []

    # identity: the flow id is environment-specific, so it lives in meta (quiet across environments)
    if platform and isinstance(raw_flow.get("flow"), dict):
        ident = raw_flow["flow"]
        extra = {k: v for k, v in ident.items() if k not in ("id", "name")}
        if extra:
            meta["flowExtra"] = extra
        id_key, name_src, handled = "id", ident, {"flow"}
        if "id" not in ident:
            absent.append("flow.id")
    elif platform:
        meta["flowKey"] = False
        id_key, name_src, handled = "id", raw_flow, {"id", "name"}
    else:
        id_key, name_src, handled = "flowId", raw_flow, {"flowId", "name"}
    if id_key in name_src:
        meta["flowId"] = name_src[id_key]
    if "name" in name_src:
        name = name_src["name"]
        if isinstance(name, str) and name.strip() != name:
            meta["name"] = name  # trailing NBSP appeared between exports (davinci-api.md §2.7)
            name = name.strip()
        flow["name"] = name
    else:
        absent.append("name")

    color_key = "color" if platform else "flowColor"
    # A legacy export has no outputSchema: its outputSchemaCompiled {output: {...}} is the flow's output schema,
    # the same object the Platform API calls outputSchema (tf-davinci's simpleoutputschemadrift test treats a
    # change there as drift), so it is config, filed under the Platform name.
    output_legacy = not platform and "outputSchema" not in raw_flow and "outputSchemaCompiled" in raw_flow
    if output_legacy:
        flow["outputSchema"] = raw_flow["outputSchemaCompiled"]
        meta["outputSchemaKey"] = "outputSchemaCompiled"
        handled = handled | {"outputSchemaCompiled"}
    for key, value in raw_flow.items():
        if key in handled or key in ("graphData", "variables"):
            continue
        if key == "description":
            if value == "" or isinstance(value, str) and _IMPORT_STAMP.match(value):
                # "Imported on <date>" is written by the import (in place of an empty description), not by a person
                meta["description"] = value
            else:
                flow["description"] = value
        elif key in CONFIG_KEYS:
            flow[key] = value
        elif key == color_key:
            layout["color"] = value
        elif key in META_KEYS:
            meta[key] = value
        elif key in FLOW_OWN:
            flow.setdefault("unmapped", {})[key] = value
        else:
            flow[key] = value  # unknown: kept verbatim, it may be config the platform added

    normalize_graph(raw_flow, flow, layout, meta, absent, where, redactor, secret_paths)

    if "variables" in raw_flow:
        _normalize_variables(raw_flow["variables"], flow, meta, where, redactor, secret_paths)
    else:
        absent.append("variables")

    if redactor is not None:
        # Secrets by shape in the rest of flow.json (settings, trigger, schemas, description, unknown keys); nodes
        # and variables had theirs redacted above.
        for key, value in flow.items():
            if key not in ("nodes", "variables"):
                flow[key] = redactor.redact_values(value, (key,), secret_paths)
    if absent:
        meta["absent"] = absent
    if secret_paths:
        meta["secret_paths"] = sorted(secret_paths, key=lambda p: [str(x) for x in p])
    return FlowSnapshot(flow, layout, meta)


def _normalize_variables(variables, flow, meta, where, redactor, secret_paths) -> None:
    """Move the export's variables list into flow["variables"] (keyed by _variable_key) and meta."""
    if not isinstance(variables, list):
        raise InputError(f"flow {where}: variables is {type(variables).__name__}, expected a list")
    out: dict = {}
    vmeta_all: dict = {}
    for index, var in enumerate(variables):
        if not isinstance(var, dict) or not isinstance(var.get("name"), str):
            raise InputError(f"flow {where}: variable #{index} has no name")
        name = var["name"]
        key, suffix = _variable_key(name, var.get("context"))
        vmeta = {k: var[k] for k in VARIABLE_META_KEYS if k in var}
        if suffix is not None:
            vmeta["nameSuffix"] = suffix  # name##SK##flow##SK##<flowId>: the flow id differs per environment
        if key in out:  # the same variable twice: keep both, the second under a numbered key
            n = 2
            while f"{key}#{n}" in out:
                n += 1
            key = f"{key}#{n}"
        if _variable_name(key, suffix) != name:
            vmeta["name"] = name
        body = {k: v for k, v in var.items() if k != "name" and k not in VARIABLE_META_KEYS}
        if redactor is not None:
            base = name.split(SEP, 1)[0]
            body = _redact_variable(body, base, redactor, ["variables", key], secret_paths)
        out[key] = body
        if vmeta:
            vmeta_all[key] = vmeta
    flow["variables"] = out
    if vmeta_all:
        meta["variables"] = vmeta_all
    meta.setdefault("order", {})["variables"] = list(out)


# --- back to an export ---------------------------------------------------------------------------------------


def denormalize(snapshot: FlowSnapshot) -> dict:
    """Return the raw export flow that snapshot describes (equal to the original up to key and list order)."""
    flow, layout, meta = snapshot.flow, snapshot.layout, snapshot.meta
    platform = meta.get("shape") == "platform"
    absent = set(meta.get("absent", ()))
    raw: dict = {}

    name = flow.get("name")
    original = meta.get("name")
    if isinstance(original, str) and isinstance(name, str) and original.strip() == name:
        name = original
    ident: dict = {}
    if "flowId" in meta:
        ident["flowId" if not platform else "id"] = meta["flowId"]
    if "name" not in absent:
        ident["name"] = name
    if platform and meta.get("flowKey", True):
        raw["flow"] = {**meta.get("flowExtra", {}), **ident}
    else:
        raw.update(ident)

    if "description" in flow:
        raw["description"] = flow["description"]
    elif "description" in meta:
        raw["description"] = meta["description"]
    for key in CONFIG_KEYS:
        if key in flow:
            raw[key] = flow[key]
    if meta.get("outputSchemaKey") == "outputSchemaCompiled" and "outputSchema" in flow:
        raw["outputSchemaCompiled"] = raw.pop("outputSchema")
    for key, value in meta.items():
        if key in META_KEYS:
            raw[key] = value
    if "color" in layout:
        raw["color" if platform else "flowColor"] = layout["color"]
    for key, value in flow.items():
        if key not in FLOW_OWN:
            raw[key] = value
    raw.update(flow.get("unmapped", {}))

    if "graphData" not in absent:
        raw["graphData"] = rebuild_graph(flow, layout, meta, absent)
    if "variables" not in absent:
        order = meta.get("order", {})
        vmeta_all = meta.get("variables", {})
        variables = []
        for key in ordered(flow.get("variables", {}), order.get("variables")):
            vmeta = vmeta_all.get(key, {})
            var = dict(flow["variables"][key])
            var["name"] = vmeta.get("name") or _variable_name(key, vmeta.get("nameSuffix"))
            for mkey in VARIABLE_META_KEYS:
                if mkey in vmeta:
                    var[mkey] = vmeta[mkey]
            variables.append(var)
        raw["variables"] = variables
    return raw
