"""The sandbox's DaVinci Platform responses validate against Ping's OpenAPI schemas (tests/fixtures/pingone)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import ValidationError, validators
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).parents[1] / "fixtures" / "pingone" / "pingone-openapi.yaml"
FULL_BASIC = "c7062a8857740ee2185694bb855f8f21"
IMPORT_LEGACY = "application/vnd.pingidentity.flow.import.legacy+json"


def _plain(obj):
    # YAML turns example dates into datetime objects; the schemas only need them as JSON values.
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return str(obj) if isinstance(obj, (datetime.date, datetime.datetime)) else obj


def _pattern(validator, pattern, instance, schema):
    # The spec's patterns use ECMA-262 classes (\p{L}) that Python's re lacks; `regex` has them.
    if not isinstance(instance, str):
        return
    try:
        import regex
    except ImportError:  # pragma: no cover - regex ships with most Python setups; skip only \p patterns then
        if "\\p" in pattern:
            return
        regex = re
    if not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _one_of_as_any_of(validator, one_of, instance, schema):
    # The spec's oneOf alternatives overlap: "" satisfies both choices of settings.intermediateLoadingScreenCSS/HTML
    # (seed 002's real export has exactly ""), and an export without `_embedded` satisfies both branches of
    # DaVinciFlowVersionExportOrSubflowsResponse. Following the real example, oneOf is checked as anyOf.
    errors = []
    for sub in one_of:
        found = list(validator.descend(instance, sub))
        if not found:
            return
        errors.extend(found)
    yield ValidationError(f"{instance!r:.80} matches none of the oneOf alternatives", context=errors)


Validator = validators.extend(OAS31Validator, {"pattern": _pattern, "oneOf": _one_of_as_any_of})


@pytest.fixture(scope="module")
def registry():
    spec = _plain(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    return Registry().with_resource("urn:pingone", Resource.from_contents(spec, default_specification=DRAFT202012))


def check(registry, schema_name: str, instance) -> None:
    validator = Validator({"$ref": f"urn:pingone#/components/schemas/{schema_name}"}, registry=registry,
                          format_checker=OAS31Validator.FORMAT_CHECKER)
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(instance)]
    assert not errors, f"{schema_name}: " + "; ".join(errors[:5])


def test_flows_versions_and_exports_conform(registry, p1):
    flows = p1.get("/flows").json()
    check(registry, "DaVinciFlowCollection", flows)
    for flow in flows["_embedded"]["flows"]:
        fid = flow["id"]
        check(registry, "DaVinciFlowResponse", p1.get(f"/flows/{fid}").json())
        versions = p1.get(f"/flows/{fid}/versions").json()
        check(registry, "DaVinciFlowVersionCollectionResponse", versions)
        for version in versions["_embedded"]["versions"]:
            n = version["version"]
            check(registry, "DaVinciFlowVersionResponse", p1.get(f"/flows/{fid}/versions/{n}").json())
            check(registry, "DaVinciExportFlowVersionResponse", p1.export(fid, n).json())
            full = p1.export(fid, n, includeSubFlows=True, includeVariableValues=True).json()
            check(registry, "DaVinciExportFlowVersionSubflowsResponse", full)
            check(registry, "DaVinciFlowVersionExportOrSubflowsResponse", full)


def test_variables_applications_and_policies_conform(registry, p1):
    check(registry, "DaVinciVariableCollectionResponse", p1.get("/variables", params={"limit": 3}).json())
    everything = p1.get("/variables", params={"limit": 500}).json()
    check(registry, "DaVinciVariableCollectionResponse", everything)
    check(registry, "DaVinciVariableResponse",
          p1.get(f"/variables/{everything['_embedded']['variables'][0]['id']}").json())
    apps = p1.get("/davinciApplications").json()
    check(registry, "DaVinciApplicationCollectionResponse", apps)
    for app in apps["_embedded"]["davinciApplications"]:
        check(registry, "DaVinciApplicationResponse", p1.get(f"/davinciApplications/{app['id']}").json())
        policies = p1.get(f"/davinciApplications/{app['id']}/flowPolicies").json()
        check(registry, "DaVinciFlowPolicyCollection", policies)
        for policy in policies["_embedded"]["flowPolicies"]:
            check(registry, "DaVinciFlowPolicyResponse",
                  p1.get(f"/davinciApplications/{app['id']}/flowPolicies/{policy['id']}").json())


def test_import_deploy_and_errors_conform(registry, p1):
    import json
    from importlib import resources

    legacy = json.loads(resources.files("flowvault.sandbox").joinpath(
        "data/davinci/tfprovider__internal_acctest_flows_full-basic-subflow-1.json").read_text())
    imported = p1.post("/flows", IMPORT_LEGACY, {"name": "imported", "flowInfo": legacy, "flowNameMapping": {}}).json()
    check(registry, "DaVinciImportFlowResponse", imported)
    deployed = p1.post(f"/flows/{imported['flow']['id']}", "application/vnd.pingidentity.flow.deploy+json", {}).json()
    check(registry, "DaVinciFlowResponse", deployed)
    check(registry, "NotFoundError", p1.get("/flows/nope").json())
    check(registry, "BadRequestError", p1.get("/variables", params={"limit": 9999}).json())


def test_connector_instances_details_and_writes_conform(registry, p1, two_envs):
    from tests.sandbox.sandbox_helpers import client_for

    instances = p1.get("/connectorInstances").json()
    check(registry, "DaVinciConnectorInstanceCollectionResponse", instances)
    first = instances["_embedded"]["connectorInstances"][0]["id"]
    check(registry, "DaVinciConnectorInstanceResponse", p1.get(f"/connectorInstances/{first}").json())
    check(registry, "DaVinciConnectorInstanceResponse", p1.post(
        "/connectorInstances", "application/json", {"name": "n", "connector": {"id": "httpConnector"}}).json())
    p1.hook(f"flows/{FULL_BASIC}/edit", {"/description": "aliased", "alias": "v4"})
    p1.post(f"/flows/{FULL_BASIC}/versions/1", "application/vnd.pingidentity.flowversion.revert+json", {})
    check(registry, "DaVinciFlowVersionCollectionResponse", p1.get(f"/flows/{FULL_BASIC}/versions").json())
    for n in (1, 4, 5):
        check(registry, "DaVinciFlowVersionDetailResponse", p1.get(f"/flows/{FULL_BASIC}/versions/{n}/details").json())
        check(registry, "DaVinciExportFlowVersionResponse", p1.export(FULL_BASIC, n).json())
    check(registry, "DaVinciFlowVersionAliasResponse",
          p1.put(f"/flows/{FULL_BASIC}/versions/2/alias", {"alias": "a"}).json())
    validated = p1.post(f"/flows/{FULL_BASIC}", "application/vnd.pingidentity.flow.validate+json", {}).json()
    check(registry, "DaVinciFlowResponse", validated)
    check(registry, "DaVinciFlowCollection", p1.get("/flows", params={"attributes": "name"}).json())
    variable = p1.post("/variables", "application/json",
                       {"name": "n", "context": "company", "dataType": "number", "mutable": True, "value": 3}).json()
    check(registry, "DaVinciVariableResponse", variable)
    check(registry, "DaVinciVariableResponse", p1.put(f"/variables/{variable['id']}", {
        "name": "n", "context": "company", "dataType": "number", "mutable": False, "value": 4}).json())
    app = p1.get("/davinciApplications").json()["_embedded"]["davinciApplications"][0]["id"]
    flow_id = "5b0c5a1d0c0ffee0000000000000a0c1"
    policy = p1.post(f"/davinciApplications/{app}/flowPolicies", "application/json",
                     {"name": "p", "flowDistributions": [{"id": flow_id, "version": -1}]}).json()
    check(registry, "DaVinciFlowPolicyResponse", policy)
    check(registry, "DaVinciFlowPolicyResponse", p1.put(f"/davinciApplications/{app}/flowPolicies/{policy['id']}", {
        "name": "p2", "status": "disabled",
        "flowDistributions": [{"id": flow_id, "version": 1, "weight": 100}]}).json())
    prod = client_for(two_envs, "prod")
    check(registry, "DaVinciConnectorInstanceCollectionResponse", prod.get("/connectorInstances").json())
    check(registry, "DaVinciFlowCollection", prod.get("/flows").json())


def test_error_bodies_conform(registry, p1):
    import requests

    check(registry, "UnauthorizedError", requests.get(f"{p1.api}/flows", timeout=5).json())
    check(registry, "UnsupportedMediaTypeError", p1.post("/variables", "text/plain", {}).json())
    check(registry, "BadRequestError", p1.post("/variables", "application/json", {"name": "x"}).json())
    p1.hook("faults", {"fail_writes": {"davinci": 0}})
    check(registry, "InternalServerError", p1.post("/variables", "application/json", {}).json())
