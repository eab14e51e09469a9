"""PingIDM process definition metadata (idm-and-launchers.md §1.4)."""

import pytest

from flowvault import canonical
from flowvault.errors import InputError
from flowvault.normalize import idm

READ = {
    "_id": "contractorOnboarding:1:5", "_rev": "1", "candidateStarterGroupIdExpressions": [],
    "candidateStarterUserIdExpressions": [], "category": "Examples", "deploymentId": "1", "description": None,
    "eventSupport": {}, "executionListeners": [{}], "graphicalNotationDefined": False, "hasStartFormKey": True,
    "historyLevel": None, "ioSpecification": None, "key": "contractorOnboarding", "laneSets": [],
    "name": "Contractor onboarding process", "participantProcess": None,
    "processDiagramResourceName": "contractorOnboarding.contractorOnboarding.png", "properties": {},
    "resourceName": "contractorOnboarding.bpmn20.xml", "revisionNext": 2, "startFormHandler": None,
    "suspended": False, "suspensionState": 1, "taskDefinitions": None, "tenantId": "", "variables": None,
    "version": 1, "formResourceKey": "contractorForm.js", "lastModifiedSource": "kept: exact names only",
    "formProperties": [{"_id": "userName", "name": "Username", "type": {"name": "string"}, "required": True}],
}  # fmt: skip


def test_definition_keeps_stable_metadata_and_files_deployment_ids():
    out = idm.normalize_definition(READ)
    assert out["deployed"] == {"_id": "contractorOnboarding:1:5", "version": 1, "deploymentId": "1"}
    for key in ("_rev", "revisionNext", "suspensionState", "eventSupport", "executionListeners", "historyLevel"):
        assert key not in out
    for key in ("key", "name", "category", "resourceName", "formProperties", "lastModifiedSource", "suspended"):
        assert out[key] == READ[key]
    assert "_id" not in out and "version" not in out


def test_redeploy_changes_only_deployed():
    again = dict(READ, _id="contractorOnboarding:2:9", _rev="4", version=2, deploymentId="9", revisionNext=3)
    a, b = idm.normalize_definition(READ), idm.normalize_definition(again)
    assert {k: v for k, v in a.items() if k != "deployed"} == {k: v for k, v in b.items() if k != "deployed"}
    assert canonical.dumps(a) != canonical.dumps(b)


def test_definition_without_key_rejected():
    with pytest.raises(InputError, match="no key"):
        idm.normalize_definition({"name": "x"})
