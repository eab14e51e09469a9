"""kill -9 at any moment of a backup, and two backups at once on one vault: the last commit stays intact,
nothing half-written is committed, and the next run is whole."""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest

from flowvault.sandbox.server import Sandbox
from flowvault.vault.repo import TMP_MARK
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


def start_backup(vault, **env):
    return subprocess.Popen(flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup"),
                            env=subprocess_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_history_whole(vault):
    """git fsck clean, and every committed file of every commit complete (JSON parses, no temp file)."""
    fsck = subprocess.run(["git", "-C", str(vault), "fsck", "--full", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    for sha in git(vault, "rev-list", "--all").split():
        for path, data in committed_tree(vault, sha).items():
            assert TMP_MARK not in path, path
            if path.endswith(".json"):
                json.loads(data)  # a half-written file does not parse
            elif path.endswith(".xml"):
                assert data.rstrip().endswith(b">"), path


def clean_run(tmp_path, seed=0):
    with Sandbox(port=0, seed=seed) as sb:
        vault = make_vault(tmp_path / "clean", sb)
        assert cli_run(vault, "backup").exit_code == 0
        return snapshot_tree(vault)


def kill_runs(tmp_path, kills: int, rng: random.Random, edit_between: bool):
    with Sandbox(port=0, latency_ms=60) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        heads = set()
        for i in range(kills):
            head_before = git(vault, "rev-parse", "-q", "--verify", "HEAD", check=False).strip()
            proc = start_backup(vault)
            time.sleep(rng.uniform(0.4, 3.0))  # python start-up, lock, listing, exports, commit: anywhere
            proc.kill()
            proc.wait(timeout=10)
            head_after = git(vault, "rev-parse", "-q", "--verify", "HEAD", check=False).strip()
            # The commit is atomic: HEAD is the old commit or one whole new commit on top of it.
            if head_after != head_before:
                assert git(vault, "rev-parse", f"{head_after}~1", check=False).strip() == head_before or \
                    not head_before
                heads.add(head_after)
            assert_history_whole(vault)
            if edit_between and index_exists(vault):
                flow_id = sorted(index(vault)["flows"])[i % len(index(vault)["flows"])]
                call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": f"edit {i}"})
        sb.latency_ms = 0
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        assert_history_whole(vault)
        assert git(vault, "status", "--porcelain", "--", "snapshots") == ""
        return vault, snapshot_tree(vault), heads


def index_exists(vault):
    return (vault / "snapshots" / "davinci" / "index.json").is_file()


def test_kill_9_at_random_moments_leaves_the_vault_whole_and_the_next_run_equal_to_a_clean_one(tmp_path):
    vault, tree, _ = kill_runs(tmp_path, kills=3, rng=random.Random(7), edit_between=False)
    assert tree == clean_run(tmp_path)
    assert committed_tree(vault) == tree


@pytest.mark.chaos
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chaos_many_kills_with_edits_between(tmp_path, seed):
    vault, tree, heads = kill_runs(tmp_path, kills=12, rng=random.Random(seed), edit_between=True)
    assert committed_tree(vault) == tree
    print(f"seed {seed}: {len(heads)} of 12 killed runs had committed before the kill")


def wait_for_requests(sb, proc, n=1, limit=20.0):
    deadline = time.monotonic() + limit
    while call(sb.url, "GET", "/_sandbox/stats")["requests"] < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_second_backup_fails_clearly_when_the_lock_is_held_too_long_and_waits_otherwise(tmp_path):
    with Sandbox(port=0, latency_ms=250) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        first = start_backup(vault)
        wait_for_requests(sb, first)  # the first run holds the lock: it is talking to the sandbox
        impatient = subprocess.run(
            flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup"),
            env=subprocess_env(FLOWVAULT_LOCK_TIMEOUT="0.2"), capture_output=True, text=True, timeout=60)
        patient = start_backup(vault, FLOWVAULT_LOCK_TIMEOUT="120")
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        p_out, p_err = patient.communicate(timeout=120)
        sb.latency_ms = 0
    assert impatient.returncode == 3, impatient.stderr
    lines = [line for line in impatient.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and "another flowvault run is using the vault" in lines[-1]
    assert "Traceback" not in impatient.stderr
    assert patient.returncode == 0, p_err  # waited for the lock, then found nothing new
    assert "nothing changed" in p_out
    assert len(git(vault, "rev-list", "HEAD").split()) == 1
    assert_history_whole(vault)
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""  # git's own index is not corrupted either
    assert snapshot_tree(vault) == clean_run(tmp_path)


def git_that_kills_its_caller_on(tmp_path, subcommand: str) -> dict[str, str]:
    """The environment of a run whose `git <subcommand>` kills flowvault (kill -9) instead of running: the moment
    between two git calls, reproduced exactly (issue 18)."""
    import os
    import shutil

    real = shutil.which("git")
    bin_dir = tmp_path / f"kill-on-{subcommand}"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        'skip=0\n'  # `-c name=value` and `-C dir` take the next word
        f'for a in "$@"; do if [ $skip = 1 ]; then skip=0; continue; fi; case "$a" in -c|-C) skip=1;; -*) ;; '
        f'{subcommand}) kill -9 $PPID; sleep 5; exit 1;; *) break;; esac; done\n'
        f'exec {real} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def edit_a_flow(sb, vault, text):
    flow_id = sorted(index(vault)["flows"])[0]
    call(sb.url, "POST", f"/_sandbox/flows/{flow_id}/edit", {"/description": text})
    return index(vault)["flows"][flow_id]["slug"]


@pytest.mark.parametrize("mode, moment", [("--latest-only", "reset"), ("--latest-only", "update-ref"),
                                          ("--latest-only", "commit-tree"), ("versions", "fast-import"),
                                          ("versions", "update-ref"), ("versions", "reset")])
def test_a_kill_between_the_branch_moving_and_the_index_reset_is_finished_by_the_next_run(tmp_path, mode, moment):
    # The run's own commit (--latest-only) and the version commits (git fast-import, issue 16) alike.
    with Sandbox(port=0) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        assert cli_run(vault, "backup").exit_code == 0
        slug = edit_a_flow(sb, vault, "edited before the kill")
        flags = [mode] if mode.startswith("--") else []
        killed = subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup", *flags),
                                env=subprocess_env(**git_that_kills_its_caller_on(tmp_path, moment)),
                                capture_output=True, text=True, timeout=120)
        assert killed.returncode == -9, killed.stderr
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""
    assert "edited before the kill" in committed_tree(vault)[f"davinci/flows/{slug}/flow.json"].decode()
    assert_history_whole(vault)


def test_a_stale_index_lock_is_one_line_and_the_next_run_finishes_the_job(tmp_path):
    with Sandbox(port=0) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        assert cli_run(vault, "backup").exit_code == 0
        slug = edit_a_flow(sb, vault, "edited while git's index was locked")
        lock = vault / ".git" / "index.lock"
        lock.write_bytes(b"")  # left by a git killed mid-write
        locked = subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup"),
                                env=subprocess_env(), capture_output=True, text=True, timeout=120)
        assert locked.returncode == 0, locked.stderr
        warnings = [line for line in locked.stderr.splitlines() if "index.lock" in line or "Another git" in line]
        assert len(warnings) == 1 and str(lock) in warnings[0] and "delete it" in warnings[0], locked.stderr
        assert "Another git process" not in locked.stderr
        lock.unlink()
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""
    assert "index was locked" in committed_tree(vault)[f"davinci/flows/{slug}/flow.json"].decode()


@pytest.mark.chaos
@pytest.mark.parametrize("moment", ["hash-object", "read-tree", "update-index", "ls-files", "write-tree",
                                    "commit-tree", "update-ref", "reset"])
def test_chaos_kills_at_every_git_moment_of_the_commit_one_after_another(tmp_path, moment):
    """Each git call of the commit in turn is where the run dies, three times in a row with edits between; one
    plain run then leaves the vault as a clean backup leaves it."""
    with Sandbox(port=0) as sb:
        vault = make_vault(tmp_path / "vault", sb)
        assert cli_run(vault, "backup").exit_code == 0
        env = subprocess_env(**git_that_kills_its_caller_on(tmp_path, moment))
        for i in range(3):
            slug = edit_a_flow(sb, vault, f"edit {i} before a kill at {moment}")
            subprocess.run(flowvault_cmd("--config", str(vault / "flowvault.toml"), "backup"), env=env,
                           capture_output=True, text=True, timeout=120)
            assert_history_whole(vault)
        result = cli_run(vault, "backup")
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
    assert git(vault, "status", "--porcelain", "--", "snapshots") == ""
    assert f"edit 2 before a kill at {moment}" in committed_tree(vault)[f"davinci/flows/{slug}/flow.json"].decode()
    assert committed_tree(vault) == snapshot_tree(vault)
