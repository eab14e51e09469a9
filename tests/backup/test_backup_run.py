"""The backup run with a scripted source: incremental exports, nothing lost, removal rules, commit message."""

import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowvault.backup.records import Entry, ListedItem
from flowvault.backup.run import run_backup
from flowvault.errors import PartialBackupError, RemoteError, UsageError
from flowvault.ui import UI
from flowvault.vault.repo import Vault


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@dataclass
class FakeSource:
    """A source whose flows are a dict {id: (name, version)}; `fail` ids raise on export."""

    name: str
    flows: dict
    fail: set = field(default_factory=set)
    list_error: Exception | None = None
    embedded: dict = field(default_factory=dict)  # parent id -> [(sub id, name)]
    exports: list = field(default_factory=list)
    settled: tuple = ()
    kind = "flows"
    nested = True

    def list(self):
        if self.list_error:
            raise self.list_error
        return {i: ListedItem(i, n, {"currentVersion": v}, {"version": v}) for i, (n, v) in self.flows.items()}

    def export(self, item):
        self.exports.append(item.id)
        if item.id in self.fail:
            raise RemoteError(f"{self.name}: POST /flows/{item.id}/versions/1 -> 500: boom")
        name, version = self.flows[item.id]
        files = {"flow.json": f'{{"name": "{name}", "v": {version}}}\n'.encode(),
                 "layout.json": b"{}\n", "meta.json": f'{{"flowId": "{item.id}"}}\n'.encode()}
        out = [Entry(item.id, name, files, stamp=item.stamp)]
        for sub_id, sub_name in self.embedded.get(item.id, []):
            out.append(Entry(sub_id, sub_name, {"flow.json": b"{}\n", "layout.json": b"{}\n",
                                                "meta.json": f'{{"flowId": "{sub_id}"}}\n'.encode()},
                             parent=item.id))
        return out

    def extras(self, stored=None):
        return iter([("variables.json", b'{"variables": {}}\n')])

    def close(self):
        pass


@dataclass
class SourceCfg:
    name: str
    type: str = "davinci"
    settings: object = None
    secret_hint: str | None = None


@dataclass
class VaultCfg:
    path: Path
    remote: str | None = None
    redact: tuple = ()


@dataclass
class Cfg:
    path: Path
    vault: VaultCfg
    sources: dict


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "k" * 16)
    vault, _ = Vault.init(tmp_path / "vault")
    src = FakeSource("prod", {"f1": ("Sign On", 1), "f2": ("Register", 1), "f3": ("MFA", 1)})
    cfg = Cfg(tmp_path / "vault" / "flowvault.toml", VaultCfg(vault.path), {"prod": SourceCfg("prod")})

    def run(**kw):
        return run_backup(cfg, vault.path, ui=UI(quiet=True), source_factory=lambda *a, **k: src, **kw)

    return vault, src, run


def index(vault):
    return json.loads((vault.snapshots / "prod" / "index.json").read_text())


def test_first_run_commits_everything_then_nothing(setup):
    vault, src, run = setup
    result = run()
    assert result.committed and result.sources[0].exported == 3
    files = git(vault.path, "show", "--name-only", "--format=", "HEAD").split()
    assert "snapshots/prod/flows/sign-on/flow.json" in files and "snapshots/prod/index.json" in files
    msg = git(vault.path, "log", "-1", "--format=%B")
    assert msg.startswith("flowvault backup: 3 flows added, 1 file added (prod)")
    assert "prod: added Sign On (flows/sign-on)" in msg
    idx = index(vault)
    assert idx["flows"]["f1"]["slug"] == "sign-on"
    assert idx["flows"]["f1"]["files"]["flow.json"].startswith("sha256:")
    head = vault.head()
    src.exports.clear()
    again = run()
    assert not again.committed and vault.head() == head
    assert src.exports == []  # unchanged listing: nothing exported


def test_a_changed_flow_is_the_only_one_exported_and_committed(setup):
    vault, src, run = setup
    run()
    src.exports.clear()
    src.flows["f2"] = ("Register", 2)
    result = run()
    assert src.exports == ["f2"]
    files = git(vault.path, "show", "--name-only", "--format=", "HEAD").split()
    assert files == ["snapshots/prod/flows/register/flow.json", "snapshots/prod/index.json"]
    assert "prod: changed Register (flows/register)" in git(vault.path, "log", "-1", "--format=%B")
    assert result.sources[0].unchanged == 2


def test_a_file_missing_from_the_working_tree_makes_its_flow_export_again(setup):
    vault, src, run = setup
    run()
    src.exports.clear()
    (vault.snapshots / "prod/flows/register/layout.json").unlink()
    (vault.snapshots / "prod/flows/mfa/meta.json").unlink()
    result = run()
    assert sorted(src.exports) == ["f2", "f3"] and result.sources[0].unchanged == 1


def test_full_re_exports_everything(setup):
    vault, src, run = setup
    run()
    src.exports.clear()
    run(full=True)
    assert sorted(src.exports) == ["f1", "f2", "f3"]


def test_failed_flow_keeps_its_files_is_named_and_exit_4_after_committing_the_rest(setup):
    vault, src, run = setup
    run()
    before = (vault.snapshots / "prod/flows/register/flow.json").read_bytes()
    src.flows["f1"] = ("Sign On", 2)
    src.flows["f2"] = ("Register", 2)
    src.fail = {"f2"}
    with pytest.raises(PartialBackupError) as info:
        run()
    assert "prod/Register" in str(info.value) and info.value.exit_status == 4
    assert (vault.snapshots / "prod/flows/register/flow.json").read_bytes() == before
    msg = git(vault.path, "log", "-1", "--format=%B")
    assert "prod: changed Sign On" in msg and "prod: FAILED Register (f2)" in msg
    # Its index entry is the old one, so the next run retries it.
    assert index(vault)["flows"]["f2"]["stamp"] == {"currentVersion": 1}
    src.fail = set()
    src.exports.clear()
    run()
    assert src.exports == ["f2"]


def test_failed_new_flow_and_failed_listing_delete_nothing(setup):
    vault, src, run = setup
    run()
    head = vault.head()
    src.list_error = RemoteError("prod: GET /flows -> 503")
    with pytest.raises(Exception) as info:
        run()
    assert info.value.exit_status == 3
    assert vault.head() == head and (vault.snapshots / "prod/flows/sign-on/flow.json").exists()


def test_only_a_flow_the_listing_no_longer_has_is_removed(setup):
    vault, src, run = setup
    run()
    del src.flows["f3"]
    run()
    assert not (vault.snapshots / "prod/flows/mfa").exists()
    assert "prod: removed MFA (flows/mfa)" in git(vault.path, "log", "-1", "--format=%B")
    assert "f3" not in index(vault)["flows"]


def test_renamed_flow_keeps_its_folder_and_twins_get_suffixes(setup):
    vault, src, run = setup
    src.flows = {"aaaa1111": ("Same", 1), "bbbb2222": ("SAME", 1)}
    run()
    assert sorted(p.name for p in (vault.snapshots / "prod/flows").iterdir()) == ["same", "same-bbbb2222"]
    src.flows["aaaa1111"] = ("Renamed", 2)
    run()
    assert sorted(p.name for p in (vault.snapshots / "prod/flows").iterdir()) == ["same", "same-bbbb2222"]


def test_embedded_subflow_stored_once_and_listed_one_from_its_own_export(setup):
    vault, src, run = setup
    src.embedded = {"f1": [("f2", "Register"), ("sub9", "Hidden Sub")]}
    run()
    idx = index(vault)
    assert idx["flows"]["sub9"]["parent"] == "f1"
    assert "parent" not in idx["flows"]["f2"]
    assert json.loads((vault.snapshots / "prod/flows/register/flow.json").read_text())["v"] == 1


def test_no_commit_writes_but_does_not_commit_and_the_next_run_commits(setup):
    vault, src, run = setup
    result = run(commit=False)
    assert not result.committed and vault.head() is None and result.changes
    assert (vault.snapshots / "prod/flows/sign-on/flow.json").exists()
    result = run()
    assert result.committed and "prod: added Sign On" in git(vault.path, "log", "-1", "--format=%B")


def test_unknown_source_is_a_usage_error_listing_valid_names(setup):
    vault, src, run = setup
    with pytest.raises(UsageError, match="valid sources: prod"):
        run(sources=("nope",))


def test_killed_run_leaves_the_last_commit_and_the_next_run_whole(setup, monkeypatch):
    vault, src, run = setup
    run()
    head = vault.head()
    src.flows["f1"] = ("Sign On", 2)
    src.flows["f2"] = ("Register", 2)
    real_write = Vault.write
    calls = {"n": 0}

    def dying_write(self, rel, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed mid-run, after one file was written
        return real_write(self, rel, data)

    monkeypatch.setattr(Vault, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.undo()
    assert vault.head() == head  # last commit intact
    assert index(vault)["flows"]["f1"]["stamp"] == {"currentVersion": 1}  # index.json not yet rewritten
    run()
    flows = {i: json.loads((vault.snapshots / f"prod/flows/{s}/flow.json").read_text())["v"]
             for i, s in (("f1", "sign-on"), ("f2", "register"))}
    assert flows == {"f1": 2, "f2": 2}
    assert git(vault.path, "status", "--porcelain") == ""


def test_lost_index_is_rebuilt_from_the_files(setup):
    vault, src, run = setup
    src.flows = {"aaaa1111": ("Same", 1), "bbbb2222": ("SAME", 1)}
    run()
    (vault.snapshots / "prod/index.json").unlink()
    run()
    assert sorted(p.name for p in (vault.snapshots / "prod/flows").iterdir()) == ["same", "same-bbbb2222"]
    assert git(vault.path, "status", "--porcelain") == ""


def test_redaction_warning_is_printed_once_per_run(setup, monkeypatch, capsys):
    vault, src, run = setup
    monkeypatch.delenv("FLOWVAULT_REDACT_KEY")
    lines = []

    class Capture(UI):
        def _write(self, line, style=None):
            lines.append(line)

    cfg_src = {"prod": SourceCfg("prod"), "dev": SourceCfg("dev")}
    from flowvault.backup.run import run_backup as rb

    cfg = Cfg(vault.path / "flowvault.toml", VaultCfg(vault.path), cfg_src)
    rb(cfg, vault.path, ui=Capture(interactive=False),
       source_factory=lambda c, s, **k: FakeSource(s.name, {"x": ("X", 1)}))
    assert sum("FLOWVAULT_REDACT_KEY" in line for line in lines) == 1


def test_a_changed_redaction_key_re_exports_everything(setup, monkeypatch):
    vault, src, run = setup
    run()
    src.exports.clear()
    monkeypatch.setenv("FLOWVAULT_REDACT_KEY", "another-key-0123")
    run()
    assert sorted(src.exports) == ["f1", "f2", "f3"]


def test_concurrent_exports_use_several_threads(setup):
    vault, src, run = setup
    src.flows = {f"id{i:02d}": (f"Flow {i}", 1) for i in range(16)}
    barrier = threading.Barrier(4, timeout=5)
    real = src.export

    def export(item):
        if item.id in ("id00", "id01", "id02", "id03"):
            barrier.wait()  # deadlocks (BrokenBarrierError) unless 4 exports run at once
        return real(item)

    src.export = export
    result = run(jobs=4)
    assert result.sources[0].exported == 16 and not result.sources[0].failed


def test_rare_gc_restores_the_threshold_and_leaves_a_callers_frozen_objects_frozen():
    import gc

    from flowvault.backup.run import _rare_gc

    before = gc.get_threshold()
    with _rare_gc():
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _rare_gc():
            pass
        assert gc.get_freeze_count() == frozen  # the caller's freeze is the caller's to undo
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("asked, jobs, expected", [(False, 16, 0), (True, 1, 0), (True, 16, 1)])
def test_worker_processes_only_when_asked_with_jobs_and_enough_exports(setup, monkeypatch, asked, jobs, expected):
    # flowvault.backup.workers: the CLI asks for them; a library caller's main module would be re-imported by them.
    import flowvault.backup.workers

    vault, src, run = setup
    src.flows.update({f"f{n}": (f"Flow {n}", 1) for n in range(4, 21)})  # 20 flows: enough to start them
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    started = []
    monkeypatch.setattr(flowvault.backup.workers.Workers, "start", lambda self: started.append(self.processes))
    run(worker_processes=asked, jobs=jobs)
    assert started == [expected]  # asked once (20 exports >= 16), with this many processes
