"""The names a reviewer reads in a Change's label: nodes, edges, variables and BPMN elements.

Labels use what the designer shows (titles, connector names), never environment-specific ids, so one change reads
the same whichever environment the flow came from.
"""

from __future__ import annotations

import re


def connector_display(connector_id: str) -> str:
    """Return a connector's display name: 'pingOneSSOConnector' -> 'PingOne SSO', 'httpConnector' -> 'Http'."""
    base = connector_id[: -len("Connector")] if connector_id.endswith("Connector") else connector_id
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", base) or [base]
    out: list[str] = []
    for word in words:
        if out and out[-1] == "Ping" and word == "One":
            out[-1] = "PingOne"
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def node_title(node: dict) -> str:
    """Return the short name a designer sees on a node: the title given in the designer (`properties.nodeTitle`),
    else its label, else its connector name, else its type."""
    title = ((node.get("properties") or {}).get("nodeTitle") or {}).get("value")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for key in ("label", "name"):
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if node.get("connectorId"):
        return connector_display(node["connectorId"])
    kind = node.get("nodeType")
    if not isinstance(kind, str):
        return "node"
    return {"EVAL": "Evaluator", "START": "Start", "ANNOTATION": "Annotation"}.get(kind, "node")


def node_kind(node: dict) -> str:
    """Return 'PingOne SSO / checkPassword' for a connector node, the node type otherwise."""
    connector = node.get("connectorId")
    if connector:
        capability = node.get("capabilityName")
        return f"{connector_display(connector)} / {capability}" if capability else connector_display(connector)
    return node.get("nodeType") or node.get("type") or "node"


def node_label(node: dict, title: str | None = None) -> str:
    """Return 'Check password - PingOne SSO / checkPassword'; just the kind when the title only repeats the
    connector. `title` replaces node_title(node) (the differ passes one made unique with the node id)."""
    kind = node_kind(node)
    plain = node_title(node)
    title = title or plain
    if not node.get("connectorId"):
        return title if (plain == kind and title == plain) or kind == "node" else f"{title} - {kind}"
    if plain in (node.get("name"), connector_display(node["connectorId"]), kind):
        return kind  # renderers add the node id to a bare kind

    return f"{title} - {kind}"


def subflow_name(node: dict) -> str | None:
    """Return the name of the subflow a flowConnector node calls (flow.json keeps the name, not the
    environment-specific id), or None."""
    value = ((node.get("properties") or {}).get("subFlowId") or {}).get("value")
    if isinstance(value, dict):
        return value.get("label") or None
    return value if isinstance(value, str) else None


def is_subflow_call(node: dict) -> bool:
    """Return True for a flowConnector node that calls a subflow."""
    return node.get("connectorId") == "flowConnector" and "subFlowId" in (node.get("properties") or {})


def edge_label(edge: dict, title) -> str:
    """Return 'Source title -> Target title'; `title(node_id)` names a node (a dict of nodes works too, the node id
    standing in for a node not in it)."""
    if isinstance(title, dict):
        nodes = title

        def title(node_id):
            node = nodes.get(node_id)
            return node_title(node) if isinstance(node, dict) else str(node_id)

    return f"{title(edge.get('source'))} -> {title(edge.get('target'))}"


def variable_label(key: str) -> str:
    """Return 'flow variable x' for the canonical key 'flow/x', 'variable x' for a key without a context."""
    context, _, name = key.partition("/")
    if not name:
        return f"variable {key}"
    return f"{context} variable {name}"


def bpmn_title(elements: dict, element_id: str) -> str:
    """Return a BPMN element's name, or its id when it has none (`elements` is normalize.bpmn.elements' result)."""
    element = (elements.get("elements") or {}).get(element_id) or {}
    return str(element.get("name") or element_id)

