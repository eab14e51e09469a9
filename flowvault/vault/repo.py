"""The vault: a git repository whose `snapshots/` folder flowvault owns.

Vault is built from three parts, one module each: where the repository is and how git runs there
(flowvault.vault.gitrepo), staging and committing (flowvault.vault.commits), reading trees, history and blobs
(flowvault.vault.history). This module opens and creates vaults, holds the lock, and writes the files.
The vault package is the only one that imports git.

Guarantees (DESIGN.md "The vault"):
- files are written atomically (temp file + os.replace), and only under snapshots/; every file written is
  fsynced (with its folder) before the commit that records it (Vault.sync; flowvault.vault.files does both);
- a commit contains only snapshots/ paths and is built in a temporary index (GIT_INDEX_FILE), so whatever the user
  has staged elsewhere stays staged and uncommitted; git hooks do not run (commit-tree, not `git commit`);
- one commit per run that changed something, none when nothing changed; the commit happens last, so a run killed
  at any moment leaves the last commit intact; a backup stages only the paths it claimed (wrote, removed, or checked
  against index.json), never a file someone else put or edited under snapshots/ (issue 18);
- the user's index follows HEAD after a commit; a run killed between the two leaves INDEX_PENDING, and the next
  run that takes the lock finishes the job;
- a lock file inside .git/ keeps two runs on one vault apart: the second waits up to a bound, then fails clearly.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock
import git

from flowvault.errors import NoVaultError, VaultError
from flowvault.vault.commits import INDEX_PREFIX, Commits
from flowvault.vault.files import TMP_MARK, SnapshotFiles
from flowvault.vault.history import History

log = logging.getLogger(__name__)

LOCK_NAME = "flowvault.lock"
DEFAULT_LOCK_TIMEOUT = 60.0
LOCK_QUIET = 1.0  # seconds a run waits for the lock before it says so


def _find_repo(path: Path) -> git.Repo | None:
    """The git repository whose working tree holds `path`, found by git itself (so GIT_CEILING_DIRECTORIES and
    safe.directory apply, as for any git command), or None."""
    try:
        top = git.Git(str(path)).rev_parse("--show-toplevel")
    except git.GitCommandError:
        return None
    return git.Repo(top)


class Vault(Commits, History):
    """An open vault. Use `Vault.open(path)` (or `Vault.init(path)` to create one)."""

    def __init__(self, repo: git.Repo, path: Path) -> None:
        super().__init__(repo, path)
        self.files = SnapshotFiles(self.snapshots, on_written=self._prehash)

    # --- opening -----------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike) -> Vault:
        """The vault at `path` (a git repo, or a folder inside one); VaultError if there is no repo."""
        path = Path(path)
        if not path.is_dir():
            raise NoVaultError(f"{path}: vault folder does not exist; run `flowvault init {path}`")
        repo = _find_repo(path)
        if repo is None:
            raise NoVaultError(f"{path}: not a git repository; run `flowvault init {path}`")
        top = repo.working_tree_dir
        if repo.bare or top is None:
            raise VaultError(f"{path}: is a bare git repository; a vault needs a working tree")
        try:
            path.resolve().relative_to(Path(top).resolve())
        except ValueError as e:  # pragma: no cover - git found a repo that does not contain path
            raise VaultError(f"{path}: outside the git working tree {repo.working_tree_dir}") from e
        return cls(repo, Path(path))

    @classmethod
    def init(cls, path: str | os.PathLike) -> tuple[Vault, bool]:
        """(vault, created_repo): `path` made a vault, reusing the enclosing git repo if there is one."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        created = False
        repo = _find_repo(path)
        if repo is None:
            try:
                repo = git.Repo.init(path)
            except git.GitError as e:
                raise VaultError(f"{path}: git init failed: {e}") from e
            created = True
        vault = cls(repo, path)
        vault.snapshots.mkdir(parents=True, exist_ok=True)
        return vault, created

    # --- the lock ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the vault lock (.git/flowvault.lock) for the block; VaultError if another run holds it too long.
        `on_wait(message)` is told, after LOCK_QUIET seconds, that this run waits for another one (issue 19)."""
        if timeout is None:
            timeout = float(os.environ.get("FLOWVAULT_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
        lock_path = self.git_dir / LOCK_NAME
        # An OS-level lock (flock / LockFileEx): a killed run releases it with its process, so no stale locks.
        lock = filelock.FileLock(str(lock_path), timeout=timeout)
        pid_path = self.git_dir / (LOCK_NAME + ".pid")  # who holds it, for the waiting run's message
        try:
            if on_wait is not None and timeout > LOCK_QUIET:
                try:
                    lock.acquire(timeout=LOCK_QUIET)
                except filelock.Timeout:
                    try:
                        holder = f" (pid {int(pid_path.read_text(encoding='ascii').strip())})"
                    except (OSError, ValueError):
                        holder = ""
                    rel = os.path.relpath(lock_path, self.root) if lock_path.is_relative_to(self.root) else lock_path
                    on_wait(f"waiting for the run holding {rel}{holder} "
                            f"(up to {timeout:g} s, FLOWVAULT_LOCK_TIMEOUT)...")
                    lock.acquire(timeout=timeout - LOCK_QUIET)
            else:
                lock.acquire()
        except filelock.Timeout as e:
            raise VaultError(
                f"another flowvault run is using the vault {self.path} (lock {lock_path} held for more than "
                f"{timeout:g} s); wait for it to finish and run again, or raise FLOWVAULT_LOCK_TIMEOUT"
            ) from e
        with contextlib.suppress(OSError):
            pid_path.write_text(f"{os.getpid()}\n", encoding="ascii")
        try:
            self.clean_stale()
            self._finish_index_update()
            yield
        finally:
            lock.release()

    def clean_stale(self) -> list[Path]:
        """Remove what a killed run may have left: temp files under snapshots/ and temp indexes in .git/."""
        removed: list[Path] = []
        if self.snapshots.is_dir():
            for p in self.snapshots.rglob(f"*{TMP_MARK}*"):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
        for p in self.git_dir.glob(f"{INDEX_PREFIX}*"):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
        if removed:
            log.info("removed %d stale temp file(s) of an interrupted run", len(removed))
        return removed

    # --- files under snapshots/: SnapshotFiles (flowvault.vault.files) does the work -----------------------------
    # Its `on_written` hook hands each changed file to _prehash, the git side of a write.

    def file(self, rel: str | os.PathLike) -> Path:
        """The absolute path of `rel` (relative to snapshots/); VaultError if it would leave snapshots/."""
        return self.files.file(rel)

    def read(self, rel: str | os.PathLike) -> bytes | None:
        """The bytes of snapshots/<rel> in the working tree, or None if it does not exist."""
        return self.files.read(rel)

    def write(self, rel: str | os.PathLike, data: bytes | str) -> bool:
        """Write snapshots/<rel> atomically; True if its content changed (an unchanged file is not touched)."""
        changed = self.files.write(rel, data)
        self.claim(rel)
        if changed:  # only ever set (sources write side by side: no read-modify-write)
            self.rewrote = True
        return changed

    def remove(self, rel: str | os.PathLike) -> bool:
        """Delete snapshots/<rel> (a file or a folder); True if something was there."""
        if self.file(rel).is_dir():
            self.claimed.update(self.list_files(rel))
        self.claim(rel)
        return self.files.remove(rel)

    def claim(self, rel: str | os.PathLike) -> None:
        """Vouch for snapshots/<rel> as flowvault's (written, removed, or checked against index.json): a
        claimed_only commit stages it."""
        self.claimed.add(str(rel).replace("\\", "/"))

    def list_files(self, rel: str | os.PathLike = "") -> list[str]:
        """Files under snapshots/<rel> in the working tree, as paths relative to snapshots/, sorted."""
        return self.files.list_files(rel)

    def sync(self) -> None:
        """Return once every file `write` wrote (and its folder) is on disk; VaultError if an fsync failed."""
        self.files.sync()

    # --- the remote --------------------------------------------------------------------------------------------

    def push(self, remote: str | None) -> str | None:
        """Push HEAD to `remote` (its branch of the same name), replaying the local commits onto the remote branch
        when it moved (flowvault.vault.push): None, or the branch they were replayed onto ("origin/main"), HEAD being
        then the replayed commit; VaultError naming git's reason if refused (the local commit stays)."""
        if not remote:
            raise VaultError("--push: no [vault].remote configured; add remote = \"origin\" to [vault]")
        if remote not in [r.name for r in self.repo.remotes]:
            valid = ", ".join(r.name for r in self.repo.remotes) or "none"
            raise VaultError(f"--push: the vault has no git remote {remote!r} (remotes: {valid})")
        from flowvault.vault.push import push

        return push(self, remote)

    def branch(self) -> str:
        """The name of the checked-out branch (born or not); VaultError on a detached HEAD, or a HEAD that names
        something else than a branch: a backup must not commit where no branch keeps it (issue 18)."""
        try:
            ref = self.repo.head.reference
        except TypeError:  # GitPython: "HEAD is a detached symbolic reference"
            sha = self.head()
            at = f" at {sha[:12]}" if sha else ""
            raise VaultError(f"the vault {self.root} has a detached HEAD{at}; check out the branch that backups go "
                             f"to ({self._switch_hint(sha)}), then run again") from None
        except (ValueError, OSError) as e:
            raise VaultError(f"the vault {self.root}: cannot read HEAD ({e}); check the repository with "
                             f"`git status`") from e
        if not ref.path.startswith("refs/heads/"):
            raise VaultError(f"the vault {self.root}: HEAD points at {ref.path}, which is not a branch; check out "
                             f"the branch that backups go to ({self._switch_hint(self.head())}), then run again")
        return ref.path[len("refs/heads/"):]

    def _switch_hint(self, sha: str | None, shown: int = 3) -> str:
        """How to get back onto a branch, naming the vault's real ones: the branch(es) whose tip is `sha`, else the
        local branches, else `git switch <branch>`."""
        try:
            heads = [(h.name, h.commit.hexsha) for h in self.repo.heads]
        except (ValueError, OSError, git.GitError):  # an unreadable ref: no names to offer
            heads = []
        at_head = [name for name, tip in heads if sha and tip == sha]
        names = at_head or [name for name, _ in heads]
        if not names:
            return "`git switch <branch>`"
        cmds = " or ".join(f"`git switch {name}`" for name in names[:shown])
        more = f" ({len(names) - shown} more: `git branch`)" if len(names) > shown else ""
        return f"{cmds}{more}, at this commit" if at_head else f"a local branch: {cmds}{more}"
