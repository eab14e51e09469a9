"""The vault holds only what the service said (issue 18): damaged or hand-edited snapshot files are put back, not
committed; a detached HEAD is refused; a corrupt object or file is named on read; a local write failure is exit 3;
two backups pushing to one remote at once both land."""

from __future__ import annotations

import json
import subprocess

import pytest

from flowvault.sandbox.server import Sandbox
from tests.reliability.reliability_helpers import (
    call,
    cli_run,
    committed_tree,
    flowvault_cmd,
    git,
    index,
    make_vault,
    snapshot_tree,
    subprocess_env,
)

FLOW = "davinci/flows/full-basic"


def backed_up(tmp_path, sb, name="vault"):
    vault = make_vault(tmp_path / name, sb)
    result = cli_run(vault, "backup")
    assert result.exit_code == 0, result.output
    return vault


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_truncated_file_and_a_staged_hand_edit_are_put_back_from_the_service_not_committed(tmp_path):
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
        tree_before = git(vault, "rev-parse", "HEAD^{tree}")
        files_before = snapshot_tree(vault)
        flow = vault / "snapshots" / FLOW / "flow.json"
        with open(flow, "r+b") as f:
            f.truncate(1500)
        layout = vault / "snapshots" / FLOW / "layout.json"
        doc = json.loads(layout.read_text("utf-8"))
        doc["zoom"] = 7
        layout.write_text(json.dumps(doc), "utf-8")
        git(vault, "add", str(layout))
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
        assert f"snapshots/{FLOW}/flow.json: damaged on disk, restored from the service" in result.stderr
        assert f"snapshots/{FLOW}/layout.json: damaged on disk, restored from the service" in result.stderr
        assert git(vault, "rev-parse", "HEAD^{tree}") == tree_before
        assert snapshot_tree(vault) == files_before
        assert git(vault, "status", "--porcelain", "--", "snapshots") == ""
        assert cli_run(vault, "log").exit_code == 0
        assert cli_run(vault, "diff").exit_code == 0
        assert cli_run(vault, "show", "full-basic").exit_code == 0


def test_files_flowvault_did_not_write_are_named_and_left_out_of_the_commit(tmp_path):
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
        (vault / "snapshots" / "davinci" / "NOTES.md").write_text("mine\n")
        call_edit(sb, vault)
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
        assert "snapshots/davinci/NOTES.md: not written by flowvault" in result.stderr
        assert "davinci/NOTES.md" not in committed_tree(vault)
        assert (vault / "snapshots" / "davinci" / "NOTES.md").read_text() == "mine\n"  # reported, not deleted
        assert "edited by the test" in committed_tree(vault)[f"{FLOW}/flow.json"].decode()


def call_edit(sb, vault, slug="full-basic"):
    """Edit flow `slug` in the sandbox as a designer would."""
    flow_id = next(i for i, e in index(vault)["flows"].items() if e["slug"] == slug)
    call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": "edited by the test"})


def test_backup_on_a_detached_head_is_refused_in_one_line(tmp_path):
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
        git(vault, "checkout", "-q", "--detach", "HEAD")
        head = git(vault, "rev-parse", "HEAD")
        done = subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup", "--full"),
                              env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert 1 <= len(lines(done.stderr)) <= 3, done.stderr
    assert "detached HEAD" in done.stderr and "git switch" in done.stderr
    assert git(vault, "rev-parse", "HEAD") == head


def _two_backups(tmp_path):
    """A vault with two backups, the second changing full-basic, so that `log` reads its flow.json too (it reads
    changed files only)."""
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
        flow_id = json.loads((vault / "snapshots" / FLOW / "meta.json").read_text("utf-8"))["flowId"]
        call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": "edited"})
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
    return vault


def _damage(vault, spec: str, how: str) -> str:
    """Damage the object `spec` names (`garbage`: not a git object any more; `missing`: deleted); its id."""
    sha = git(vault, "rev-parse", spec).strip()
    obj = vault / ".git" / "objects" / sha[:2] / sha[2:]
    if how == "missing":
        obj.unlink()
    else:
        obj.chmod(0o644)
        obj.write_bytes(b"not a git object")
    return sha


@pytest.mark.parametrize("how", ["garbage", "missing"])
def test_a_corrupt_object_is_named_with_its_file_and_commit_by_diff_log_and_show(tmp_path, how):
    vault = _two_backups(tmp_path)
    head = git(vault, "rev-parse", "HEAD").strip()
    blob = _damage(vault, f"HEAD:snapshots/{FLOW}/flow.json", how)
    # One line, in one wording, whichever command read the object (issue 18): no raw bytes from GitPython
    expected = (f"flowvault: snapshots/{FLOW}/flow.json at commit {head[:12]}: its object {blob[:12]} cannot be read; "
                f"run `git fsck` in {vault.resolve()}")
    for args in (("diff",), ("log",), ("log", "full-basic"), ("show", "full-basic")):
        done = subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), *args),
                              env=subprocess_env(), capture_output=True, text=True, timeout=60)
        assert done.returncode == 3, (args, done.stderr, done.stdout)
        assert lines(done.stderr) == [expected], (args, done.stderr)


def test_a_missing_tree_object_is_one_line_naming_it(tmp_path):
    vault = _two_backups(tmp_path)
    tree = _damage(vault, f"HEAD:snapshots/{FLOW}", "missing")
    for args in (("diff",), ("log",), ("log", "full-basic"), ("show", "full-basic")):
        done = subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), *args),
                              env=subprocess_env(), capture_output=True, text=True, timeout=60)
        assert done.returncode == 3, (args, done.stderr, done.stdout)
        assert len(lines(done.stderr)) == 1, (args, done.stderr)
        assert f"its object {tree[:12]} cannot be read; run `git fsck`" in done.stderr, (args, done.stderr)


@pytest.mark.parametrize("how", ["garbage", "missing"])
def test_backup_and_status_refuse_a_vault_with_a_corrupt_object_before_exporting_anything(tmp_path, how):
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
        head = git(vault, "rev-parse", "HEAD").strip()
        blob = _damage(vault, f"HEAD:snapshots/{FLOW}/layout.json", how)
        expected = (f"flowvault: snapshots/{FLOW}/layout.json at commit {head[:12]}: its object {blob[:12]} cannot be "
                    f"read; run `git fsck` in {vault.resolve()}")
        before = call(sb.url, "GET", "/_sandbox/stats")["by_route"]
        for args in (("backup",), ("backup", "--full"), ("status", "--exit-code")):
            result = cli_run(vault, *args)
            assert result.exit_code == 3, (args, result.output)
            assert lines(result.stderr) == [expected], (args, result.stderr)
        after = call(sb.url, "GET", "/_sandbox/stats")["by_route"]
    exports = {route: n - before.get(route, 0) for route, n in after.items() if "{flowID}" in route}
    assert not any(exports.values()), exports
    assert git(vault, "rev-parse", "HEAD").strip() == head
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""


def test_an_unparsable_committed_file_is_named_with_its_commit(tmp_path):
    with Sandbox(port=0) as sb:
        vault = backed_up(tmp_path, sb)
    (vault / "snapshots" / FLOW / "meta.json").write_text("{broken", "utf-8")
    git(vault, "commit", "-q", "-am", "a hand-made commit")
    head = git(vault, "rev-parse", "HEAD").strip()
    for args in (("diff",), ("log",), ("show", "full-basic")):
        result = cli_run(vault, *args)
        assert result.exit_code == 3, (args, result.output)
        assert len(lines(result.stderr)) == 1
        assert f"snapshots/{FLOW}/meta.json" in result.stderr and head[:12] in result.stderr


def test_a_snapshot_folder_that_cannot_be_written_is_exit_3_not_a_partial_backup(tmp_path):
    with Sandbox(port=0) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        (vault / "snapshots" / "davinci").mkdir(parents=True)
        (vault / "snapshots" / "davinci" / "flows").write_text("a file where a folder goes\n")
        result = cli_run(vault, "backup")
    assert result.exit_code == 3, result.output
    assert "cannot write" in result.stderr and "could not be exported" not in result.stderr
    assert len(lines(result.stderr.split("flowvault: ", 1)[-1])) == 1


def test_two_clones_backing_up_different_sources_push_to_one_remote_at_once(tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    with Sandbox(port=0) as sb:
        first = make_vault(tmp_path / "first", sb)
        toml = (first / "flowvault.toml").read_text("utf-8")
        toml = toml.replace('[vault]\npath = "."', '[vault]\npath = "."\nremote = "origin"')
        (first / "flowvault.toml").write_text(toml)
        assert 'remote = "origin"' in (first / "flowvault.toml").read_text("utf-8")
        git(first, "add", "flowvault.toml")
        git(first, "commit", "-q", "-m", "vault config")
        git(first, "remote", "add", "origin", str(remote))
        git(first, "push", "-q", "origin", "HEAD")
        branch = git(first, "rev-parse", "--abbrev-ref", "HEAD").strip()
        second = tmp_path / "second"
        git(tmp_path, "clone", "-q", str(remote), str(second))
        # Both clones start from the same commit: whichever pushes second finds the remote moved.
        runs = [subprocess.Popen(flowvault_cmd("--config", str(clone / "flowvault.toml"), "backup", "--source", source,
                                               "--push"),
                                 env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for clone, source in ((first, "davinci"), (second, "idm"))]
        outcomes = [run.communicate(timeout=180) + (run.returncode,) for run in runs]
    for out, err, code in outcomes:
        assert code == 0, err
        assert "pushed" in out
    tip = git(remote, "rev-parse", branch).strip()
    files = git(remote, "ls-tree", "-r", "--name-only", tip, "--", "snapshots").split()
    assert "snapshots/davinci/index.json" in files and "snapshots/idm/index.json" in files
    assert len(git(remote, "rev-list", tip).split()) == 3  # the config commit, then one backup each
    for clone in (first, second):
        assert git(clone, "status", "--porcelain", "--", "snapshots") == ""


def _vault_pushing_to(tmp_path, sb, remote):
    vault = make_vault(tmp_path / "vault", sb)
    toml = (vault / "flowvault.toml").read_text("utf-8")
    (vault / "flowvault.toml").write_text(toml.replace('[vault]\npath = "."', '[vault]\npath = "."\nremote = "origin"'))
    git(vault, "add", "flowvault.toml")
    git(vault, "commit", "-q", "-m", "vault config")
    git(vault, "remote", "add", "origin", str(remote))
    git(vault, "push", "-q", "origin", "HEAD")
    return vault


def test_a_push_replayed_onto_a_moved_remote_reports_the_commit_that_was_pushed(tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    with Sandbox(port=0) as sb:
        vault = _vault_pushing_to(tmp_path, sb, remote)
        branch = git(vault, "rev-parse", "--abbrev-ref", "HEAD").strip()
        other = tmp_path / "other"
        git(tmp_path, "clone", "-q", str(remote), str(other))
        (other / "NOTES.md").write_text("a teammate's commit\n")
        git(other, "add", "NOTES.md")
        git(other, "commit", "-q", "-m", "theirs")
        git(other, "push", "-q", "origin", "HEAD")
        result = cli_run(vault, "backup", "--latest-only", "--push")
    assert result.exit_code == 0, result.output
    tip = git(remote, "rev-parse", branch).strip()
    assert git(vault, "rev-parse", "HEAD").strip() == tip
    line = next(line for line in lines(result.stdout) if line.startswith("committed "))
    assert line.startswith(f"committed {tip[:12]}: "), (line, tip)
    assert line.endswith(f", pushed (replayed onto origin/{branch})"), line
    assert json.loads(cli_run(vault, "backup", "--push", "--format", "json").stdout)["replayed_onto"] is None
