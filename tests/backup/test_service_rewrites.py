"""A field the service rewrites by itself (settings.logLevel) is config, but never rewrites a stored flow.json alone."""

import json

from backup_helpers import backup, call, git

from flowvault.normalize.davinci import only_service_rewrites

SUCCESS_FLOW = "5b0c5a1d0c0ffee0000000000000a0c1"
FLOW_JSON = "snapshots/davinci/flows/sandbox-api-success/flow.json"


def test_only_a_service_rewritten_field_differs():
    stored = {"name": "f", "settings": {"logLevel": 2, "css": "a"}, "nodes": {}}
    assert only_service_rewrites(stored, {**stored, "settings": {"logLevel": 3, "css": "a"}})
    assert not only_service_rewrites(stored, stored)
    assert not only_service_rewrites(stored, {**stored, "settings": {"logLevel": 3, "css": "b"}})


def test_a_log_level_rewrite_alone_keeps_flow_json_and_a_real_edit_records_both(env):
    sb, vault = env
    assert backup(vault).exit_code == 0
    before = (vault / FLOW_JSON).read_bytes()

    call(sb, "POST", f"/_sandbox/flows/{SUCCESS_FLOW}/edit", {"/settings/logLevel": 3})
    assert backup(vault).exit_code == 0
    assert (vault / FLOW_JSON).read_bytes() == before
    assert FLOW_JSON not in git(vault, "show", "--name-only", "--format=", "HEAD")

    call(sb, "POST", f"/_sandbox/flows/{SUCCESS_FLOW}/edit", {"/settings/customTitle": "Welcome"})
    assert backup(vault).exit_code == 0
    settings = json.loads((vault / FLOW_JSON).read_text())["settings"]
    assert settings["customTitle"] == "Welcome" and settings["logLevel"] == 3
