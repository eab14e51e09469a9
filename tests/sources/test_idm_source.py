"""The IDM source without a server: query fallback, .bar files, keys, auth headers, unreadable files."""

import io
import zipfile

import pytest

from flowvault.errors import ConfigError, RemoteError
from flowvault.sources.idm import Settings, Source, auth_headers

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Examples">
  <process id="{key}" name="{name}"><startEvent id="start"/><endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="end"/></process>
</definitions>
"""


class FakeClient:
    """Answers GET workflow/processdefinition like OpenIDM <= 6: 400 to _queryFilter, a list to _queryId."""

    def __init__(self, definitions, query_filter=False):
        self.definitions = definitions
        self.query_filter = query_filter
        self.calls = []

    def get_json(self, path, params=None, **kw):
        self.calls.append((path, dict(params or {})))
        if path == "workflow/processdefinition":
            if "_queryFilter" in (params or {}) and not self.query_filter:
                raise RemoteError("idm: GET /openidm/workflow/processdefinition -> 400: Unknown query-id", status=400)
            return {"result": [{k: v for k, v in d.items() if k != "formProperties"} for d in self.definitions],
                    "resultCount": len(self.definitions)}
        for d in self.definitions:
            if path == f"workflow/processdefinition/{d['_id']}":
                return d
        raise RemoteError(f"idm: GET {path} -> 404", status=404)

    def close(self):
        pass


def definition(key, version, dep):
    return {"_id": f"{key}:{version}:{dep}", "key": key, "name": key.title(), "version": version,
            "deploymentId": str(dep), "resourceName": f"{key}.bpmn20.xml", "category": "Examples",
            "formProperties": [{"_id": "x", "name": "X"}]}


def test_query_falls_back_to_query_id_and_keys_on_the_latest_version(tmp_path):
    client = FakeClient([definition("approve", 1, 5), definition("approve", 2, 9), definition("other", 1, 7)])
    source = Source("idm", Settings(url="http://idm.invalid/openidm"), client=client)
    listed = source.list()
    assert [c[1] for c in client.calls] == [{"_queryFilter": "true"}, {"_queryId": "query-all-ids"}]
    assert sorted(listed) == ["approve", "other"]
    assert listed["approve"].stamp == {"_id": "approve:2:9"}
    [entry] = source.export(listed["approve"])
    assert client.calls[-1][0] == "workflow/processdefinition/approve:2:9"  # the read has formProperties
    assert set(entry.files) == {".json"}


def test_other_errors_are_not_retried_as_a_fallback():
    class Down(FakeClient):
        def get_json(self, path, params=None, **kw):
            raise RemoteError("idm: unreachable", status=None)

    with pytest.raises(RemoteError):
        Source("idm", Settings(url="http://idm.invalid/openidm"), client=Down([])).list()


def test_files_from_workflow_dir_and_bar_archives(tmp_path):
    wd = tmp_path / "workflow"
    wd.mkdir()
    (wd / "a.bpmn20.xml").write_text(BPMN.format(key="alpha", name="Alpha"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("beta.bpmn20.xml", BPMN.format(key="beta", name="Beta"))
        z.writestr("form.js", "console.log(1)")
    (wd / "beta.bar").write_bytes(buf.getvalue())
    (wd / "notes.xml").write_text("<notes/>")  # XML that is not BPMN: not a workflow, not a failure
    (wd / "broken.bpmn20.xml").write_text("<definitions")
    source = Source("idm", Settings(url="", workflow_dir="workflow"), client=None, base_dir=tmp_path)
    listed = source.list()
    assert sorted(listed) == ["alpha", "beta"]
    assert listed["beta"].stamp["file"] == "beta.bar!beta.bpmn20.xml"
    assert list(source.failed_files()) == ["broken.bpmn20.xml"]
    [entry] = source.export(listed["beta"])
    assert entry.files[".bpmn20.xml"].startswith(b"<?xml") or b"<definitions" in entry.files[".bpmn20.xml"]
    assert b'"deployed": null' in entry.files[".json"]


def test_missing_workflow_dir_is_a_config_error(tmp_path):
    source = Source("idm", Settings(url="", workflow_dir="nope"), client=None, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="workflow_dir"):
        source.list()


def test_auth_headers_idm_credentials_or_bearer():
    assert auth_headers(Settings(url="u", username="admin", password="pw")) == {
        "X-OpenIDM-Username": "admin", "X-OpenIDM-Password": "pw"}
    assert auth_headers(Settings(url="u", bearer_token="tok")) == {"Authorization": "Bearer tok"}


def test_an_unreadable_workflow_file_keeps_its_previous_copy(tmp_path, monkeypatch):
    """Backup level: the key of a broken file is unknown, so its previous files must not be removed."""
    from flowvault.backup.run import run_backup
    from flowvault.errors import PartialBackupError
    from flowvault.ui import UI
    from flowvault.vault.repo import Vault

    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "k" * 16)
    wd = tmp_path / "workflow"
    wd.mkdir()
    (wd / "a.bpmn20.xml").write_text(BPMN.format(key="alpha", name="Alpha"))
    vault, _ = Vault.init(tmp_path / "vault")

    class Cfg:
        path = tmp_path / "flowvault.toml"

        class vault:  # noqa: N801
            redact = ()
            remote = None

        class _Src:
            name, type, settings, secret_hint = "idm", "idm", Settings(url="", workflow_dir=str(wd)), None

        sources = {"idm": _Src}

    run_backup(Cfg, vault.path, ui=UI(quiet=True))
    saved = vault.snapshots / "idm/workflows/alpha.bpmn20.xml"
    assert saved.is_file()
    (wd / "a.bpmn20.xml").write_text("<definitions")  # someone broke the file
    with pytest.raises(PartialBackupError, match="Alpha|alpha|a.bpmn20.xml"):
        run_backup(Cfg, vault.path, ui=UI(quiet=True))
    assert saved.is_file()
