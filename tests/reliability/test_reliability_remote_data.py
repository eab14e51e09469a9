"""Bad remote data (malformed JSON, wrong shapes, missing fields, huge bodies) from a tampering proxy in front of
the sandbox: one clear error for that item (or for the source), nothing lost, no traceback, the right exit code."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from flowvault.sandbox.server import Sandbox
from tests.reliability.reliability_helpers import Proxy, cli_run, git, index, make_vault, snapshot_tree

BAD_EXPORTS = {
    "malformed": (200, b'{"flow": {"id": "x", "name": "half'),
    "a list": (200, b"[1, 2, 3]"),
    "a string": (200, b'"hello"'),
    "wrong shape": (200, b'{"unexpected": true, "items": []}'),
    "flow not an object": (200, b'{"flow": "nope"}'),
    "missing fields": (200, b'{"flow": {}}'),
    "null": (200, b"null"),
    "error status with html": (500, b"<html>boom</html>"),
}


class Tamper:
    """Answers set per (method, path suffix) with a fixed bad body, every time."""

    def __init__(self):
        self.rules: dict[tuple[str, str], tuple[int, bytes]] = {}

    def __call__(self, method, path, n):
        for (m, suffix), answer in self.rules.items():
            if method == m and path.endswith(suffix):
                return answer
        return None


@pytest.fixture
def world(tmp_path, no_backoff):
    tamper = Tamper()
    with Sandbox(port=0) as sb, Proxy(sb.url, tamper) as proxy:
        vault = make_vault(tmp_path / "vault", sb, url=proxy.url)
        first = cli_run(vault, "backup")
        assert first.exit_code == 0, first.output
        yield sb, vault, tamper


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowvault:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("kind", sorted(BAD_EXPORTS))
def test_a_bad_export_fails_that_flow_only_and_keeps_its_copy(world, kind):
    sb, vault, tamper = world
    before = snapshot_tree(vault)
    head = git(vault, "rev-parse", "HEAD")
    flow_id, entry = sorted(index(vault)["flows"].items())[0]
    tamper.rules[("POST", f"/flows/{flow_id}/versions/{entry['stamp']['currentVersion']}")] = BAD_EXPORTS[kind]
    result = cli_run(vault, "backup", "--full")
    assert result.exit_code == 4, (kind, result.output)
    one_error_line(result)
    failed = [line for line in result.stderr.splitlines() if "previous copy kept" in line]
    assert len(failed) == 1 and entry["name"].strip() in failed[0] and "previous copy kept" in failed[0], failed
    assert snapshot_tree(vault) == before  # --full re-exported everything else to the same bytes; nothing lost
    assert git(vault, "rev-parse", "HEAD") == head  # nothing changed, so no commit


@pytest.mark.parametrize("body", [b"{}", b'{"_embedded": {}}', b'{"_embedded": {"flows": "x"}}', b"[]",
                                  b'{"_embedded": {"flows": [{"name": "no id"}]}}', b"<html/>", b"null"])
def test_a_bad_listing_fails_the_source_and_removes_nothing(world, body):
    sb, vault, tamper = world
    before = snapshot_tree(vault)
    head = git(vault, "rev-parse", "HEAD")
    tamper.rules[("GET", "/flows")] = (200, body)
    result = cli_run(vault, "backup", "--source", "davinci")
    assert result.exit_code in (3, 4), (body, result.output)
    line = one_error_line(result)
    assert "davinci" in line and "flows" in line, line
    assert snapshot_tree(vault) == before, body
    assert git(vault, "rev-parse", "HEAD") == head


def test_a_huge_export_body_is_one_clear_error_for_that_flow(world):
    sb, vault, tamper = world
    before = snapshot_tree(vault)
    flow_id, entry = sorted(index(vault)["flows"].items())[0]
    doc = json.loads(resources.files("flowvault.sandbox").joinpath(
        "data/davinci/tfprovider__internal_acctest_flows_simple.json").read_text("utf-8"))
    doc.update(flowId=flow_id, description="A" * (80 << 20))  # a complete export, only far too large
    huge = json.dumps(doc).encode()
    tamper.rules[("POST", f"/flows/{flow_id}/versions/{entry['stamp']['currentVersion']}")] = (200, huge)
    result = cli_run(vault, "backup", "--full", "--source", "davinci")
    assert result.exit_code == 4, result.output
    one_error_line(result)
    failed = [line for line in result.stderr.splitlines() if "previous copy kept" in line]
    assert len(failed) == 1 and entry["name"].strip() in failed[0] and "too large" in failed[0], failed
    assert snapshot_tree(vault) == before


@pytest.mark.parametrize("kind", ["malformed", "a list", "wrong shape", "null"])
def test_a_bad_idm_definition_fails_that_workflow_only(world, kind):
    sb, vault, tamper = world
    before = snapshot_tree(vault)
    key, entry = sorted(index(vault, "idm")["workflows"].items())[0]
    tamper.rules[("GET", "/" + entry["stamp"]["_id"])] = BAD_EXPORTS[kind]
    result = cli_run(vault, "backup", "--full", "--source", "idm")
    assert result.exit_code == 4, (kind, result.output)
    one_error_line(result)
    failed = [line for line in result.stderr.splitlines() if "previous copy kept" in line]
    assert len(failed) == 1 and key in failed[0], failed
    assert snapshot_tree(vault) == before


@pytest.mark.parametrize("body", [b"{}", b'{"result": {}}', b"[]", b"<html/>"])
def test_a_bad_idm_listing_fails_the_source_and_removes_nothing(world, body):
    sb, vault, tamper = world
    before = snapshot_tree(vault)
    tamper.rules[("GET", "/workflow/processdefinition")] = (200, body)
    result = cli_run(vault, "backup", "--source", "idm")
    assert result.exit_code == 3, (body, result.output)
    assert "idm" in one_error_line(result)
    assert snapshot_tree(vault) == before
