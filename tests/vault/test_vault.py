"""The vault: atomic writes under snapshots/ only, commits of snapshots/ only, the lock, history helpers."""

import subprocess
import sys
import textwrap
import time

import pytest

from flowvault.errors import VaultError
from flowvault.vault.repo import TMP_MARK, Vault


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "README.md").write_text("team config\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial")
    return path


def test_commit_contains_only_snapshots_and_leaves_the_users_staged_work_staged(repo):
    (repo / "README.md").write_text("edited, staged\n")
    (repo / "notes.txt").write_text("staged new file\n")
    (repo / "untracked.txt").write_text("not staged\n")
    git(repo, "add", "README.md", "notes.txt")
    vault = Vault.open(repo)
    vault.write("prod/flows/a/flow.json", '{"a": 1}\n')
    sha, changes = vault.commit("backup")
    assert sha
    assert [(c.status, c.path) for c in changes] == [("A", "prod/flows/a/flow.json")]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["snapshots/prod/flows/a/flow.json"]
    # The user's staged files are still staged, not committed; the snapshot is clean in the user's index.
    status = git(repo, "status", "--porcelain").splitlines()
    assert "M  README.md" in status and "A  notes.txt" in status and "?? untracked.txt" in status
    assert not [line for line in status if "snapshots" in line]
    assert git(repo, "show", "HEAD:README.md") == "team config\n"


def test_no_commit_when_nothing_changed(repo):
    vault = Vault.open(repo)
    vault.write("s/x.json", "1\n")
    first, _ = vault.commit("one")
    assert vault.write("s/x.json", "1\n") is False
    second, changes = vault.commit("two")
    assert second is None and changes == []
    assert vault.head() == first


def test_deletions_and_modifications_are_committed(repo):
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    vault.write("s/b.json", "1\n")
    vault.commit("first")
    vault.write("s/a.json", "2\n")
    assert vault.remove("s/b.json")
    sha, changes = vault.commit(lambda ch: f"{len(ch)} changes")
    assert [(c.status, c.path) for c in changes] == [("M", "s/a.json"), ("D", "s/b.json")]
    assert git(repo, "log", "-1", "--format=%s") == "2 changes\n"


def test_commit_in_an_empty_repository(tmp_path):
    vault, created = Vault.init(tmp_path / "v")
    assert created and vault.head() is None
    vault.write("s/a.json", "1\n")
    sha, _ = vault.commit("first")
    assert vault.head() == sha
    assert vault.read_tree("HEAD") == {"s/a.json": b"1\n"}


@pytest.mark.parametrize("rel", ["../x", "/abs", "a/../../x", ".git/config", "", "a/.git/x"])
def test_writes_outside_snapshots_are_refused(repo, rel):
    vault = Vault.open(repo)
    with pytest.raises(VaultError):
        vault.write(rel, "x")
    assert not (repo / "x").exists()


def test_symlink_cannot_redirect_a_write(repo, tmp_path):
    vault = Vault.open(repo)
    vault.snapshots.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (vault.snapshots / "evil").symlink_to(outside)
    with pytest.raises(VaultError):
        vault.write("evil/x.json", "x")
    assert not (outside / "x.json").exists()


def test_write_is_atomic_and_stale_temp_files_are_cleaned(repo, monkeypatch):
    vault = Vault.open(repo)
    vault.write("s/a.json", "old\n")
    # A crash in the middle of writing leaves the old content whole.
    import flowvault.vault.repo as vault_mod

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(vault_mod.os, "replace", boom)
    with pytest.raises(VaultError):
        vault.write("s/a.json", "new\n")
    monkeypatch.undo()
    assert (vault.snapshots / "s/a.json").read_text() == "old\n"
    assert not [p for p in vault.snapshots.rglob("*") if TMP_MARK in p.name]
    # Temp files left by a killed process are removed when the next run takes the lock, and never committed.
    stale = vault.snapshots / "s" / f".a.json{TMP_MARK}abc"
    stale.write_text("partial")
    with vault.lock():
        assert not stale.exists()
        sha, changes = vault.commit("c")
    assert [c.path for c in changes] == ["s/a.json"]


def test_list_files_gives_files_only_sorted_without_temp_files(repo):
    vault = Vault.open(repo)
    for rel in ("b/flows/z/flow.json", "b/flows/a/meta.json", "b/index.json", "a.json"):
        vault.write(rel, b"{}\n")
    (vault.snapshots / "b/flows/a" / f".meta.json{TMP_MARK}1-0").write_bytes(b"half")
    (vault.snapshots / "b/flows/empty").mkdir()
    assert vault.list_files("b") == ["b/flows/a/meta.json", "b/flows/z/flow.json", "b/index.json"]
    assert vault.list_files("b/flows/z") == ["b/flows/z/flow.json"]
    assert vault.list_files("nothing/here") == []
    assert "a.json" in vault.list_files()


def test_vault_in_a_subfolder_of_the_enclosing_repo(repo):
    sub = repo / "infra" / "flows"
    vault, created = Vault.init(sub)
    assert not created and vault.root == repo.resolve()
    vault.write("p/a.json", "1\n")
    vault.commit("c")
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["infra/flows/snapshots/p/a.json"]
    assert vault.read_tree("HEAD", "snapshots/p") == {"a.json": b"1\n"}
    assert [e.summary for e in vault.log(["snapshots/p"])] == ["c"]


def test_open_refuses_a_folder_without_git(tmp_path):
    from flowvault.errors import NoVaultError

    with pytest.raises(NoVaultError, match="flowvault init"):
        Vault.open(tmp_path)


def test_read_tree_and_log(repo):
    vault = Vault.open(repo)
    vault.write("p/a/flow.json", "1\n")
    vault.write("p/b/flow.json", "1\n")
    vault.commit("first")
    vault.write("p/a/flow.json", "2\n")
    vault.commit("second")
    assert vault.read_tree("HEAD~1") == {"p/a/flow.json": b"1\n", "p/b/flow.json": b"1\n"}
    assert vault.read_tree("HEAD", "snapshots/p/a") == {"flow.json": b"2\n"}
    assert vault.read_tree("HEAD", "snapshots/nope") == {}
    assert [e.summary for e in vault.log()] == ["second", "first", "initial"]
    assert [e.summary for e in vault.log(["snapshots/p/b"])] == ["first"]
    assert [e.summary for e in vault.log(n=1)] == ["second"]
    with pytest.raises(VaultError):
        vault.read_tree("no-such-ref")


def test_head_moved_by_someone_else_is_not_overwritten(repo, monkeypatch):
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    real_head = vault.head()
    monkeypatch.setattr(Vault, "head", lambda self: real_head)
    git(repo, "commit", "-q", "--allow-empty", "-m", "user commit meanwhile")
    with pytest.raises(VaultError):
        vault.commit("backup")
    assert git(repo, "log", "-1", "--format=%s") == "user commit meanwhile\n"


HOLDER = textwrap.dedent("""
    import sys, time
    from flowvault.vault.repo import Vault
    with Vault.open(sys.argv[1]).lock(timeout=5):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_second_run_waits_for_the_lock_then_fails_clearly(repo):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(repo), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        vault = Vault.open(repo)
        start = time.monotonic()
        with pytest.raises(VaultError, match="another flowvault run"):
            with vault.lock(timeout=0.5):
                pass
        assert 0.4 < time.monotonic() - start < 5
    finally:
        holder.kill()
        holder.wait()
    # The killed holder's lock is released with its process: no stale lock.
    with Vault.open(repo).lock(timeout=2):
        pass


def test_second_run_gets_the_lock_when_the_first_finishes(repo):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(repo), "0.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Vault.open(repo).lock(timeout=10):
            assert holder.poll() is not None or holder.wait(5) == 0
    finally:
        holder.wait()


def _remote_with_a_push_from_elsewhere(repo, tmp_path, path="x", text="x"):
    """A bare remote of `repo`, then another clone pushes a commit of `path` to it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "HEAD")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    (other / path).parent.mkdir(parents=True, exist_ok=True)
    (other / path).write_text(text)
    git(other, "add", path)
    git(other, "commit", "-q", "-m", "theirs")
    git(other, "push", "-q", "origin", "HEAD")
    return remote


def test_push_onto_a_remote_that_moved_replays_the_backup_on_top(repo, tmp_path):
    remote = _remote_with_a_push_from_elsewhere(repo, tmp_path, "snapshots/other/index.json", "{}\n")
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    sha, _ = vault.commit("backup")
    vault.push("origin")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    pushed = git(remote, "rev-parse", branch).strip()
    assert vault.head() == pushed != sha  # replayed: a new commit on top of theirs, same message, same change
    assert git(repo, "log", "-2", "--format=%s", pushed).split("\n")[:2] == ["backup", "theirs"]
    assert git(repo, "show", "--name-only", "--format=", pushed).split() == ["snapshots/s/a.json"]
    # The working tree and the user's index followed: their file is here, nothing shows in `git status`.
    assert (repo / "snapshots" / "other" / "index.json").read_text() == "{}\n"
    assert git(repo, "status", "--porcelain") == ""


def test_push_stops_and_says_so_when_both_sides_changed_one_file(repo, tmp_path):
    _remote_with_a_push_from_elsewhere(repo, tmp_path, "snapshots/s/a.json", "theirs\n")
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    sha, _ = vault.commit("backup")
    with pytest.raises(VaultError, match="snapshots/s/a.json was changed both here and on the remote.*"
                                         "committed locally"):
        vault.push("origin")
    assert vault.head() == sha
    with pytest.raises(VaultError, match="no git remote"):
        vault.push("upstream")


def test_a_refused_push_names_gits_reason(repo, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    (remote / "hooks" / "pre-receive").write_text("#!/bin/sh\necho 'protected branch: ask an admin' >&2\nexit 1\n")
    (remote / "hooks" / "pre-receive").chmod(0o755)
    git(repo, "remote", "add", "origin", str(remote))
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    vault.commit("backup")
    with pytest.raises(VaultError) as info:
        vault.push("origin")
    message = str(info.value)
    assert "pre-receive hook declined" in message and "committed locally" in message
    assert "pull, then push" not in message and "\n" not in message


def test_push_accepted(repo, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    vault = Vault.open(repo)
    vault.write("s/a.json", "1\n")
    sha, _ = vault.commit("backup")
    vault.push("origin")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    assert git(remote, "rev-parse", branch).strip() == sha


def test_a_repository_above_the_ceiling_is_not_taken_for_the_vault(tmp_path, monkeypatch):
    from flowvault.errors import NoVaultError
    from flowvault.vault.repo import Vault

    git(tmp_path, "init", "-q", str(tmp_path))
    inner = tmp_path / "team" / "vault"
    inner.mkdir(parents=True)
    assert Vault.open(inner).repo.working_tree_dir == str(tmp_path)  # found by git, like any git command
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path / "team"))
    with pytest.raises(NoVaultError, match="not a git repository; run `flowvault init"):
        Vault.open(inner)


def test_snapshot_files_follow_the_umask_like_files_git_writes(tmp_path):
    import os

    git(tmp_path, "init", "-q", str(tmp_path))
    vault = Vault.open(tmp_path)
    old = os.umask(0o022)
    try:
        vault.write("src/index.json", b"{}\n")
    finally:
        os.umask(old)
    assert (vault.snapshots / "src" / "index.json").stat().st_mode & 0o777 == 0o644


def test_a_backup_needs_a_branch_to_commit_onto(repo):
    vault = Vault.open(repo)
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    assert vault.branch() == branch
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(VaultError, match="detached HEAD at [0-9a-f]{12}; check out the branch"):
        Vault.open(repo).branch()
    git(repo, "symbolic-ref", "HEAD", "refs/remotes/origin/unborn")  # an unborn ref that no branch is
    with pytest.raises(VaultError, match="HEAD points at refs/remotes/origin/unborn, which is not a branch"):
        Vault.open(repo).branch()
    git(repo, "checkout", "-q", "--orphan", "fresh")  # an unborn branch, checked out: the first backup's case
    assert Vault.open(repo).branch() == "fresh"


def test_the_detached_head_hint_names_the_vaults_real_branches(repo):
    git(repo, "branch", "-m", "nightly")  # not main, not master
    git(repo, "branch", "other", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(VaultError) as info:
        Vault.open(repo).branch()
    assert "(`git switch nightly` or `git switch other`, at this commit)" in str(info.value)
    git(repo, "commit", "-q", "--allow-empty", "-m", "detached work")
    with pytest.raises(VaultError) as info:
        Vault.open(repo).branch()
    assert "(a local branch: `git switch nightly` or `git switch other`)" in str(info.value)
    assert "main" not in str(info.value)
