"""DaVinci export documents <-> canonical snapshots: the entry point the rest of flowvault uses.

An export document holds one flow or several (legacy single/multi, an import envelope, a Platform flow with its
_embedded subflows); split_export turns it into one FlowSnapshot per flow (davinci_flow.normalize) plus the
envelope that join_export needs to rebuild it. Pure functions: no I/O except load_export.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowvault.errors import InputError
from flowvault.normalize.davinci_flow import FlowSnapshot, denormalize, is_platform, normalize, only_service_rewrites
from flowvault.normalize.redact import Redactor

__all__ = ["Bundle", "FlowSnapshot", "denormalize", "detect_shape", "join_export", "load_export", "normalize",
           "only_service_rewrites", "split_export"]


@dataclass
class Bundle:
    """The flows of one export document plus whatever wrapped them."""

    flows: list[FlowSnapshot]
    envelope: dict = field(default_factory=dict)


def detect_shape(doc: Any) -> str:
    """Return "legacy" (one flow), "legacy-multi" ({flows: [...]}), "import" ({flowInfo, ...}) or "platform"."""
    if not isinstance(doc, dict):
        raise InputError(f"not a DaVinci export: the document is a JSON {type(doc).__name__}, expected an object")
    if "flowInfo" in doc:
        return "import"
    if "flowId" not in doc and isinstance(doc.get("flows"), list):
        return "legacy-multi"
    if is_platform(doc):
        return "platform"
    if "flowId" in doc or "graphData" in doc:
        return "legacy"
    raise InputError("not a DaVinci export: expected flowId/graphData, flows, flowInfo or a Platform flow object")


def _flow_list(items: Any, where: str) -> list:
    """Return `items` when it is a list; InputError naming `where` otherwise."""
    if not isinstance(items, list):
        raise InputError(f"not a DaVinci export: {where} is {type(items).__name__}, expected a list of flows")
    return items


def split_export(doc: Any, *, redactor: Redactor | None = None) -> Bundle:
    """Return the flows of an export document in canonical form plus the envelope that join_export needs."""
    shape = detect_shape(doc)
    if shape == "legacy":
        return Bundle([normalize(doc, redactor=redactor)], {"shape": shape})
    if shape == "legacy-multi":
        flows = [normalize(f, redactor=redactor) for f in _flow_list(doc["flows"], "flows")]
        return Bundle(flows, {"shape": shape, "document": {k: v for k, v in doc.items() if k != "flows"}})
    if shape == "import":
        info = doc["flowInfo"]
        envelope: dict = {"shape": shape, "document": {k: v for k, v in doc.items() if k != "flowInfo"}}
        if isinstance(info, dict) and "flowId" not in info and "flows" in info:
            flows = [normalize(f, redactor=redactor) for f in _flow_list(info["flows"], "flowInfo.flows")]
            envelope["flowInfo"] = {k: v for k, v in info.items() if k != "flows"}
        else:
            flows = [normalize(info, redactor=redactor)]
        return Bundle(flows, envelope)
    main = {k: v for k, v in doc.items() if k != "_embedded"}
    flows = [normalize(main, redactor=redactor)]
    envelope = {"shape": shape}
    if "_embedded" in doc:
        embedded = doc["_embedded"]
        if isinstance(embedded, dict):  # list responses nest them as _embedded.flows
            envelope["embedded"] = {k: v for k, v in embedded.items() if k != "flows"}
            embedded = embedded.get("flows", [])
        else:
            envelope["embedded"] = None
        flows += [normalize(f, redactor=redactor) for f in _flow_list(embedded, "_embedded")]
    return Bundle(flows, envelope)


def join_export(bundle: Bundle) -> dict:
    """Return the export document a Bundle came from (up to key and meaningless list order)."""
    envelope = bundle.envelope or {}
    raws = [denormalize(s) for s in bundle.flows]
    shape = envelope.get("shape") or ("legacy" if len(raws) == 1 else "legacy-multi")
    if shape == "legacy":
        if len(raws) != 1:
            raise InputError(f"a single-flow export holds one flow, the bundle has {len(raws)}")
        return raws[0]
    if shape == "legacy-multi":
        return {**envelope.get("document", {}), "flows": raws}
    if shape == "import":
        info = {**envelope["flowInfo"], "flows": raws} if "flowInfo" in envelope else raws[0]
        return {**envelope.get("document", {}), "flowInfo": info}
    if shape == "platform":
        doc = dict(raws[0])
        if "embedded" in envelope:
            embedded = envelope["embedded"]
            doc["_embedded"] = raws[1:] if embedded is None else {**embedded, "flows": raws[1:]}
        return doc
    raise InputError(f"unknown export shape {shape!r}: expected legacy, legacy-multi, import or platform")


def load_export(source: str | os.PathLike | bytes, *, redactor: Redactor | None = None) -> Bundle:
    """Parse an export file (path) or its bytes and return split_export's Bundle; InputError says why it cannot."""
    if isinstance(source, (bytes, bytearray)):
        name, data = "export", bytes(source)
    else:
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise InputError(f"{name}: cannot read: {e.strerror or e}") from e
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text (byte {e.start}); export the flow again as JSON") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{name}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise InputError(f"{name}: JSON nested too deeply") from e
    try:
        return split_export(doc, redactor=redactor)
    except InputError as e:
        raise InputError(f"{name}: {e}") from e
