"""Committing snapshots/: stage in a temporary index, commit with git plumbing, and make the user's index follow.

Guarantees (DESIGN.md "The vault"):
- a commit contains only snapshots/ paths and is built in a temporary index (GIT_INDEX_FILE), so whatever the user
  has staged elsewhere stays staged and uncommitted; git hooks do not run (commit-tree, not `git commit`);
- every file written is fsynced (with its folder) before the commit that records it;
- one commit per run that changed something, none when nothing changed; a backup stages only the paths it claimed
  (wrote, removed, or checked against index.json), never a file someone else put or edited under snapshots/
  (issue 18);
- HEAD moves compare-and-swap: a commit of the user's since the run read HEAD is never lost;
- the user's index follows HEAD after a commit; a run killed between the two leaves INDEX_PENDING, and the next
  run that takes the lock finishes the job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from flowvault.errors import VaultError
from flowvault.vault.files import SnapshotFiles
from flowvault.vault.gitrepo import GitRepo

log = logging.getLogger(__name__)

INDEX_PREFIX = "flowvault-index-"  # temporary git index files inside .git/
STAT_CACHE = "flowvault-stat-index"  # the last commit's temp index, kept for its stat data (Commits._stage)
# Written before HEAD moves and removed once the user's index follows it: a run killed in between leaves it, and the
# next run finishes the job (issue 18). "reset": reset snapshots/ in the index to HEAD; a sha: the old HEAD of a
# rebase before push, whose working tree is moved to HEAD (`git read-tree -m -u <old> HEAD`).
INDEX_PENDING = "flowvault-pending-index"
_ZERO = "0" * 40


@dataclass(frozen=True)
class PathChange:
    """One path a commit adds (A), modifies (M) or deletes (D); `path` is relative to snapshots/."""

    status: str
    path: str


class Commits(GitRepo):
    """Staging and committing snapshots/ (Vault.commit, Vault.pending_changes), and the user's index after it."""

    files: SnapshotFiles  # the vault's files (Vault.__init__), whose writes _prehash hears of

    def __init__(self, repo: git.Repo, path: Path) -> None:
        super().__init__(repo, path)
        self._hasher: subprocess.Popen[bytes] | None = None  # see _prehash
        self._hasher_failed = False  # until the next commit, once it failed
        self._hash_lock = threading.Lock()
        # Paths (relative to snapshots/) this run wrote, removed or verified: with commit(claimed_only=True) only
        # these are staged, never a file someone else put or edited under snapshots/ (issue 18).
        self.claimed: set[str] = set()
        self.unclaimed: list[str] = []  # what the last claimed_only commit left out: files flowvault did not write
        self.rewrote = False  # a write changed a file: with nothing to commit, it put back what HEAD holds

    # --- ahead of the commit: blobs hashed as files are written ------------------------------------------------

    def _prehash(self, target: Path) -> None:
        """Hand `target` to a `git hash-object -w --stdin-paths` running beside the backup, so that its blob is in
        .git/objects by the commit: `git add` then finds the object there and only hashes the file, instead of also
        compressing and writing 300 files (~0.2 s of a 100-flow backup, on the critical path at the end).
        Best effort: `git add` writes whatever this did not (a failed hasher is dropped, never waited for)."""
        if self._hasher_failed:
            return
        name = os.fsencode(os.path.relpath(target, self.root))
        if b"\n" in name:
            return
        with self._hash_lock:  # sources write side by side (backup.run_backup)
            if self._hasher_failed:  # another thread's write just failed it
                return
            try:
                if self._hasher is None:
                    self._hasher = subprocess.Popen(
                        ["git", "hash-object", "-w", "--stdin-paths"], cwd=self.root, stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stdin = self._hasher.stdin
                assert stdin is not None  # stdin=PIPE
                stdin.write(name + b"\n")
                stdin.flush()
            except (OSError, ValueError):
                self._stop_prehash(wait=False)

    def _stop_prehash(self, wait: bool = True) -> None:
        hasher, self._hasher = self._hasher, None
        self._hasher_failed = not wait
        if hasher is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if hasher.stdin is not None:
                hasher.stdin.close()
        if wait:
            try:
                hasher.wait(timeout=120)
            except subprocess.TimeoutExpired:  # pragma: no cover - git add does the work itself
                hasher.kill()

    # --- staging and committing --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _temp_index(self, keep: bool = True) -> Iterator[dict[str, str]]:
        fd, index = tempfile.mkstemp(prefix=INDEX_PREFIX, dir=self.git_dir)
        os.close(fd)
        os.unlink(index)  # git wants to create it; an empty file is "index file smaller than expected"
        env = {**os.environ, "GIT_INDEX_FILE": index}
        try:
            yield env
        finally:
            try:  # kept for the next run's _stage: its stat data spares git re-hashing unchanged files
                if not keep:
                    raise OSError("not kept")
                os.replace(index, self.git_dir / STAT_CACHE)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(index)

    def _stage(self, env: dict[str, str], head: str | None, claimed_only: bool = False) -> list[PathChange]:
        """Fill the temp index with HEAD's tree plus the working tree of snapshots/ (with `claimed_only`, only of
        the claimed paths); the snapshot changes."""
        self._stop_prehash()
        if head and not self._read_tree_keeping_stat(env, head):
            self._git("read-tree", head, env=env)
        if claimed_only:
            self._stage_claimed(env)
        else:
            self._git("add", "--all", "--", self.prefix, env=env)
        if head:
            out = self._git("diff", "--cached", "--no-renames", "--name-status", "-z", head, "--", self.prefix,
                            env=env, strip_newline_in_stdout=False)
            fields = [f for f in out.split("\0") if f]
            pairs: Iterable[tuple[str, str]] = zip(fields[0::2], fields[1::2], strict=True)  # (status, path)
        else:
            out = self._git("ls-files", "-z", "--", self.prefix, env=env, strip_newline_in_stdout=False)
            pairs = (("A", f) for f in out.split("\0") if f)
        changes = []
        for status, path in pairs:
            rel = PurePosixPath(path).relative_to(self.prefix) if self.prefix != "." else PurePosixPath(path)
            changes.append(PathChange(status[0], rel.as_posix()))
        return sorted(changes, key=lambda c: c.path)

    def _read_tree_keeping_stat(self, env: dict[str, str], head: str) -> bool:
        """Load HEAD into the temp index from a copy of the last run's index, so that `git add` re-hashes only the
        files whose stat data changed (a fresh index made every run re-hash all of snapshots/: ~50 ms per 300
        files of an unchanged run). `read-tree -m` with one tree takes HEAD's entries and keeps the old stat data
        only where the content matches HEAD, and git re-hashes any file whose size, mtime, ctime or inode moved
        since, so the result is the same as from a fresh index. False (nothing kept) if there is no usable copy."""
        cache = self.git_dir / STAT_CACHE
        index = env["GIT_INDEX_FILE"]
        try:
            shutil.copyfile(cache, index)
        except OSError:
            return False
        try:
            self._git("read-tree", "-m", head, env=env)
            return True
        except VaultError:  # unreadable or from another git: start from a fresh index
            with contextlib.suppress(OSError):
                os.unlink(index)
            return False

    def _stage_claimed(self, env: dict[str, str]) -> None:
        """Stage the claimed paths (a missing one as deleted), then list in self.unclaimed the files under
        snapshots/ that differ from what is staged: someone else's, left out of the commit."""
        base = "" if self.prefix == "." else self.prefix + "/"
        claimed = sorted(self.claimed | ({".gitkeep"} if (self.snapshots / ".gitkeep").is_file() else set()))
        if claimed:
            self._git_input(["update-index", "--add", "--remove", "-z", "--stdin"],
                            b"".join(os.fsencode(base + p) + b"\0" for p in claimed), env=env)
        out = self._git("ls-files", "-z", "--others", "--modified", "--exclude-standard", "--", self.prefix,
                        env=env, strip_newline_in_stdout=False)
        self.unclaimed = sorted({p[len(base):] for p in out.split("\0") if p})

    def pending_changes(self) -> list[PathChange]:
        """What a commit now would contain: the snapshots/ paths that differ from HEAD."""
        with self._temp_index() as env:
            return self._stage(env, self.head())

    def commit(self, message: str | Callable[[list[PathChange]], str], *,
               claimed_only: bool = False) -> tuple[str | None, list[PathChange]]:
        """(sha, changes): commit the snapshots/ changes (only those) with `message` (or message(changes));
        sha is None and nothing is committed when nothing changed. `claimed_only`: only the claimed paths (see
        `claim`); the files under snapshots/ left out are in self.unclaimed."""
        self.files.sync()  # every file this run wrote is on disk before a commit records it (see files._Syncer)
        head = self.head()
        with self._temp_index() as env:
            changes = self._stage(env, head, claimed_only)
            if not changes:
                if claimed_only and self.rewrote and head:
                    self._sync_user_index()  # a hand edit staged in the user's index was put back on disk
                return None, []
            text = message(changes) if callable(message) else message
            tree = self._git("write-tree", env=env)
            parents = ["-p", head] if head else []
            sha = self._git("commit-tree", tree, *parents, "-m", text, env={**env, **self._identity_env()})
            # Compare-and-swap: if HEAD moved since we read it (a user's commit), fail rather than lose theirs.
            self._index_pending("reset")
            self._git("update-ref", "-m", f"flowvault: {text.splitlines()[0]}", "HEAD", sha, head or _ZERO)
        self._sync_user_index()
        return sha, changes

    def _index_pending(self, what: str) -> None:
        """Note, before HEAD moves, how the user's index must follow it (INDEX_PENDING), durably."""
        from flowvault.vault.files import atomic_write

        atomic_write(self.git_dir / INDEX_PENDING, what.encode())

    def _finish_index_update(self) -> None:
        """Make the user's index (and, after a rebase, the working tree) follow HEAD where a killed run left them
        behind (INDEX_PENDING): else `git status` shows the backup reversed and a plain `git commit` undoes it."""
        try:
            what = (self.git_dir / INDEX_PENDING).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):  # none (the usual case), or unreadable: nothing to finish
            return
        log.info("finishing the git index update of an interrupted run")
        if what == "reset":
            self._sync_user_index()
        else:
            self._follow_head(what)

    def _follow_head(self, old: str) -> None:
        """Move the user's index and working tree from commit `old` to HEAD as a fast-forward would (two-way
        read-tree: what the user changed elsewhere stays)."""
        try:
            self.repo.git.execute(["git", "read-tree", "-m", "-u", old, "HEAD"])
        except git.GitCommandError as e:
            self._index_warning(e, f"git read-tree -m -u {old[:12]} HEAD")
            return
        with contextlib.suppress(OSError):
            os.unlink(self.git_dir / INDEX_PENDING)

    def _index_warning(self, error: git.GitCommandError, fix: str) -> None:
        if getattr(self, "_index_warned", False):  # once per run: version commits and the run's commit both try
            return
        self._index_warned = True
        stderr = (error.stderr or "").strip()
        lock = self.git_dir / "index.lock"
        if "index.lock" in stderr:
            log.warning("flowvault: warning: git's index is locked (%s exists): if no git command is running, "
                        "delete it; the next backup then updates the index (or run `%s`)", lock, fix)
        else:
            first = next((line for line in stderr.splitlines() if line.strip()), str(error))
            log.warning("flowvault: warning: the backup is committed, but the git index was not updated (%s); "
                        "run `%s`", first.strip(), fix)

    def _sync_user_index(self) -> None:
        # The user's own index still holds the old snapshots/ entries; left alone, `git status` would show the
        # backup as staged reversals and a careless `git commit` would undo it. Reset only snapshots/ entries.
        # --no-refresh (git >= 2.36): the refresh re-hashed every new file, ~30 ms of a 100-flow backup's tail;
        # the user's next `git status` does it instead, once.
        try:
            try:
                self.repo.git.execute(["git", "reset", "-q", "--no-refresh", "HEAD", "--", self.prefix])
            except git.GitCommandError:  # an older git: the same reset, refreshed
                self.repo.git.execute(["git", "reset", "-q", "HEAD", "--", self.prefix])
        except git.GitCommandError as e:
            self._index_warning(e, f"git reset -q HEAD -- {self.prefix}")
            return
        with contextlib.suppress(OSError):
            os.unlink(self.git_dir / INDEX_PENDING)
