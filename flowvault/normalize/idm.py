"""PingIDM process definitions -> the stable <process-key>.json beside the workflow's BPMN file.

idm-and-launchers.md §1.4: _id is <key>:<version>:<deploymentId> and changes on every redeploy, so it goes
under "deployed" with version and deploymentId; engine-internal fields are dropped. Keys are matched exactly
(Frodo's substring matching would also strip a custom "lastModifiedSource", §2.4).
"""

from __future__ import annotations

from flowvault.errors import InputError

DEPLOYED_KEYS = ("_id", "version", "deploymentId")
# "diagram" is a base64 PNG rendered from the BPMN file (only with _fields=diagram): derived, not reviewable.
VOLATILE_KEYS = frozenset(
    {"_rev", "revisionNext", "suspensionState", "eventSupport", "executionListeners", "historyLevel", "diagram"}
)


def normalize_definition(definition: dict) -> dict:
    """Return the definition's stable metadata, with _id, version and deploymentId under "deployed"."""
    if not isinstance(definition, dict):
        raise InputError(f"a PingIDM process definition must be a JSON object, got {type(definition).__name__}")
    if not isinstance(definition.get("key"), str) or not definition["key"]:
        raise InputError("PingIDM process definition has no key: expected the response of GET processdefinition/{id}")
    out: dict = {}
    deployed: dict = {}
    for key, value in definition.items():
        if key in DEPLOYED_KEYS:
            deployed[key] = value
        elif key not in VOLATILE_KEYS:
            out[key] = value
    out["deployed"] = deployed
    return out
