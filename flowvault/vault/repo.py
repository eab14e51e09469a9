"""The vault: a git repository whose `snapshots/` folder flowvault owns. The only module that imports git.

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
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import filelock
import git

from flowvault.errors import NoVaultError, VaultCorruptError, VaultError
from flowvault.vault.files import SNAPSHOTS, TMP_MARK, SnapshotFiles

log = logging.getLogger(__name__)

INDEX_PREFIX = "flowvault-index-"  # temporary git index files inside .git/
STAT_CACHE = "flowvault-stat-index"  # the last commit's temp index, kept for its stat data (Vault._stage)
LOCK_NAME = "flowvault.lock"
# Written before HEAD moves and removed once the user's index follows it: a run killed in between leaves it, and the
# next run finishes the job (issue 18). "reset": reset snapshots/ in the index to HEAD; a sha: the old HEAD of a
# rebase before push, whose working tree is moved to HEAD (`git read-tree -m -u <old> HEAD`).
INDEX_PENDING = "flowvault-pending-index"
DEFAULT_LOCK_TIMEOUT = 60.0
LOCK_QUIET = 1.0  # seconds a run waits for the lock before it says so
_ZERO = "0" * 40


@dataclass(frozen=True)
class PathChange:
    """One path a commit adds (A), modifies (M) or deletes (D); `path` is relative to snapshots/."""

    status: str
    path: str


@dataclass(frozen=True)
class LogEntry:
    sha: str
    date: str  # ISO 8601, committer date
    author: str
    summary: str  # first line of the message
    message: str
    parents: tuple = ()  # shas of the commit's parents (Vault.history only)
    changes: tuple = ()  # PathChange per snapshots/ path the commit changed against its first parent (history only)


def _find_repo(path: Path) -> git.Repo | None:
    """The git repository whose working tree holds `path`, found by git itself (so GIT_CEILING_DIRECTORIES and
    safe.directory apply, as for any git command), or None."""
    try:
        top = git.Git(str(path)).rev_parse("--show-toplevel")
    except git.GitCommandError:
        return None
    return git.Repo(top)


class Vault:
    """An open vault. Use `Vault.open(path)` (or `Vault.init(path)` to create one)."""

    def __init__(self, repo: git.Repo, path: Path) -> None:
        top = repo.working_tree_dir
        if top is None:
            raise VaultError(f"{path}: is a bare git repository; a vault needs a working tree")
        self.repo = repo
        self.path = path.resolve()  # [vault].path
        self.root = Path(top).resolve()
        self.snapshots = self.path / SNAPSHOTS
        rel = self.snapshots.relative_to(self.root) if self.snapshots != self.root else Path(".")
        self.prefix = PurePosixPath(*rel.parts).as_posix()  # snapshots/ relative to the repo root, for git
        self.git_dir = Path(repo.git_dir).resolve()
        self._hasher: subprocess.Popen[bytes] | None = None  # see _prehash
        self._hasher_failed = False  # until the next commit, once it failed
        self._hash_lock = threading.Lock()
        self.files = SnapshotFiles(self.snapshots, on_written=self._prehash)
        # Paths (relative to snapshots/) this run wrote, removed or verified: with commit(claimed_only=True) only
        # these are staged, never a file someone else put or edited under snapshots/ (issue 18).
        self.claimed: set[str] = set()
        self.unclaimed: list[str] = []  # what the last claimed_only commit left out: files flowvault did not write
        self.rewrote = False  # a write changed a file: with nothing to commit, it put back what HEAD holds

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

    # --- git ---------------------------------------------------------------------------------------------------

    def head(self) -> str | None:
        """The sha of HEAD, or None on an unborn branch."""
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            return None

    def _git(self, *args: str, env: dict[str, str] | None = None, **kwargs) -> str:
        try:
            return self.repo.git.execute(["git", *args], env=env, **kwargs)
        except git.GitCommandError as e:
            stderr = (e.stderr or "").strip().replace("\n", " ")
            raise VaultError(f"git {args[0]} failed in {self.root}: {stderr or e}") from e

    def _git_input(self, args: list[str], data: bytes, env: dict[str, str] | None = None) -> str:
        """`git ARGS` with `data` on its stdin; its stdout (VaultError with git's first line if it fails)."""
        try:
            done = subprocess.run(["git", *args], cwd=self.root, input=data, env=env, capture_output=True)
        except OSError as e:
            raise VaultError(f"git {args[0]} could not run in {self.root}: {e}") from e
        if done.returncode:
            stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise VaultError(f"git {args[0]} failed in {self.root}: {stderr[0] if stderr else done.returncode}")
        return done.stdout.decode("utf-8", "replace")

    def _identity_env(self) -> dict[str, str]:
        """Author/committer defaults for CI runners with no git identity (git would refuse to commit)."""
        env: dict[str, str] = {}
        reader = self.repo.config_reader()
        has_name = reader.has_option("user", "name")
        has_email = reader.has_option("user", "email")
        for role in ("AUTHOR", "COMMITTER"):
            if not has_name and f"GIT_{role}_NAME" not in os.environ:
                env[f"GIT_{role}_NAME"] = "flowvault"
            if not has_email and f"GIT_{role}_EMAIL" not in os.environ:
                env[f"GIT_{role}_EMAIL"] = "flowvault@localhost"
        return env

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
        self.sync()  # every file this run wrote is on disk before a commit records it (see vaultfiles._Syncer)
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

    def push(self, remote: str | None) -> None:
        """Push HEAD to `remote` (its branch of the same name), replaying the local commits onto the remote branch
        when it moved (flowvault.vault.push); VaultError naming git's reason if refused (the local commit stays)."""
        if not remote:
            raise VaultError("--push: no [vault].remote configured; add remote = \"origin\" to [vault]")
        if remote not in [r.name for r in self.repo.remotes]:
            valid = ", ".join(r.name for r in self.repo.remotes) or "none"
            raise VaultError(f"--push: the vault has no git remote {remote!r} (remotes: {valid})")
        from flowvault.vault.push import push

        push(self, remote)

    def branch(self) -> str:
        """The name of the checked-out branch (born or not); VaultError on a detached HEAD, or a HEAD that names
        something else than a branch: a backup must not commit where no branch keeps it (issue 18)."""
        try:
            ref = self.repo.head.reference
        except TypeError:  # GitPython: "HEAD is a detached symbolic reference"
            sha = self.head()
            at = f" at {sha[:12]}" if sha else ""
            raise VaultError(f"the vault {self.root} has a detached HEAD{at}; check out the branch that backups go "
                             f"to (e.g. `git switch main`), then run again") from None
        except (ValueError, OSError) as e:
            raise VaultError(f"the vault {self.root}: cannot read HEAD ({e}); check the repository with "
                             f"`git status`") from e
        if not ref.path.startswith("refs/heads/"):
            raise VaultError(f"the vault {self.root}: HEAD points at {ref.path}, which is not a branch; check out "
                             f"the branch that backups go to (e.g. `git switch main`), then run again")
        return ref.path[len("refs/heads/"):]

    # --- reading history (for diff / log / show / restore) -----------------------------------------------------

    def _repo_path(self, prefix: str) -> str:
        rel = (self.path / prefix).resolve().relative_to(self.root) if prefix else self.path.relative_to(self.root)
        return PurePosixPath(*rel.parts).as_posix() if rel.parts else ""

    def read_tree(self, ref: str = "HEAD", prefix: str = SNAPSHOTS) -> dict[str, bytes]:
        """{path relative to prefix: bytes} of every file under `prefix` (relative to the vault folder) at `ref`."""
        try:
            commit = self.repo.commit(ref)
        except (git.BadName, ValueError, git.GitCommandError) as e:
            raise VaultError(f"{ref!r} is not a commit of the vault {self.path}") from e
        repo_prefix = self._repo_path(prefix)
        try:
            tree = commit.tree / repo_prefix if repo_prefix else commit.tree
        except KeyError:
            return {}
        reading = repo_prefix or None  # the file being read, for the message if its object is damaged
        try:
            if isinstance(tree, git.Blob):
                return {PurePosixPath(repo_prefix).name: tree.data_stream.read()}
            out: dict[str, bytes] = {}
            if not isinstance(tree, git.Tree):  # a submodule: no file of ours
                return out
            for item in tree.traverse():
                if isinstance(item, git.Blob):
                    reading = os.fspath(item.path)
                    out[PurePosixPath(item.path).relative_to(repo_prefix or ".").as_posix()] = item.data_stream.read()
                    reading = repo_prefix or None
            return out
        except (ValueError, git.GitError, OSError) as e:  # a missing or corrupt object (issue 18)
            raise VaultCorruptError(self._corrupt(commit.hexsha, reading, e)) from e

    def _corrupt(self, sha: str, path: str | None, error: BaseException) -> str:
        where = f"{path or 'the tree'} at commit {sha[:12]}"
        detail = " ".join(str(error).split())[:160]
        return (f"{where}: a git object of the vault cannot be read ({detail}); the repository is damaged: run "
                f"`git fsck`, or restore .git from a clone")

    def sha_of(self, ref: str) -> str:
        """The commit sha `ref` names, or `ref` itself if it names none (for messages)."""
        try:
            return self.repo.commit(ref).hexsha
        except (git.BadName, ValueError, git.GitCommandError):
            return ref

    def history(self, paths: list[str] | None = None, n: int | None = None, ref: str = "HEAD") -> list[LogEntry]:
        """Like `log`, each entry also naming its parents and the snapshots/ paths it changed against its first
        parent, from one `git log --raw` (no tree is read: git compares tree ids and lists only what differs)."""
        if self.head() is None:
            return []
        repo_paths = [self._repo_path(p) or "." for p in (paths or [])] or [self.prefix]
        args = ["log", "--no-renames", "--raw", "--no-abbrev", "-z", "--format=%x01%H%x00%P%x00%cI%x00%an%x00%B%x00"]
        if n:
            args.append(f"--max-count={n}")
        out = self._git(*args, ref, "--", *repo_paths, strip_newline_in_stdout=False)
        entries = []
        for chunk in out.split("\x01")[1:]:
            fields = chunk.split("\0")
            sha, parents, date, author, body = fields[:5]
            changes, i = [], 5
            while i < len(fields) - 1:
                token = fields[i].strip("\n")
                if token.startswith(":"):
                    rel = self._snapshot_rel(fields[i + 1])
                    if rel is not None:
                        changes.append(PathChange(token.split()[-1][0], rel))
                    i += 2
                else:
                    i += 1
            entries.append(LogEntry(sha, date, author, body.split("\n", 1)[0], body, tuple(parents.split()),
                                    tuple(changes)))
        return entries

    def _snapshot_rel(self, repo_path: str) -> str | None:
        """`repo_path` relative to snapshots/, or None when it lies outside."""
        if self.prefix in ("", "."):
            return repo_path
        rel = PurePosixPath(repo_path)
        try:
            return rel.relative_to(self.prefix).as_posix()
        except ValueError:
            return None

    @contextlib.contextmanager
    def blobs(self) -> Iterator[Callable[[str, str], bytes | None]]:
        """A reader `read(ref, rel)` -> the bytes of snapshots/<rel> at `ref`, or None where there is no such file;
        one `git cat-file --batch` serves every read of the block, so reading k files costs k blobs, not k trees."""
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None  # both PIPE

        trees: dict[tuple[str, str], dict[str, bytes] | None] = {}  # (ref, folder) -> {name: object id}

        def fetch(spec: bytes, rel: str, ref: str) -> tuple[bytes, bytes] | None:
            """(type, content) of the object `spec` names, None if there is none."""
            stdin.write(spec + b"\n")
            stdin.flush()
            line = stdout.readline()
            if not line:  # git ended: it could not read an object it holds (zlib or hash error): a damaged repo
                raise VaultCorruptError(f"snapshots/{rel} at commit {ref[:12]}: git cannot read its object; "
                                        f"run `git fsck` in {self.root}")
            header = line.split()
            if len(header) != 3:  # "<spec> missing"
                return None
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after the content
            return header[1], data

        def folder(ref: str, rel_dir: str) -> dict[str, bytes] | None:
            if (ref, rel_dir) not in trees:
                path = "/".join(p for p in (self.prefix if self.prefix not in ("", ".") else "", rel_dir) if p)
                found = fetch(f"{ref}:{path}".encode(), rel_dir, ref)
                trees[(ref, rel_dir)] = _tree_entries(found[1]) if found and found[0] == b"tree" else None
            return trees[(ref, rel_dir)]

        def read(ref: str, rel: str) -> bytes | None:
            # Through the folder's tree: a file the tree lists but git cannot read is a damaged repo, never "no file"
            # (cat-file answers "missing" for both).
            if "\n" in ref or "\n" in rel:
                return None
            rel_dir, _, name = rel.rpartition("/")
            entries = folder(ref, rel_dir)
            if entries is None or name not in entries:
                return None
            found = fetch(entries[name].hex().encode(), rel, ref)
            if found is None:
                raise VaultCorruptError(f"snapshots/{rel} at commit {ref[:12]}: its object {entries[name].hex()[:12]} "
                                        f"cannot be read; run `git fsck` in {self.root}")
            return found[1] if found[0] == b"blob" else None

        try:
            yield read
        except (OSError, ValueError) as e:
            raise VaultError(f"git cat-file failed in {self.root}: {e}") from e
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()
            proc.wait()
            stdout.close()

    def log(self, paths: list[str] | None = None, n: int | None = None, ref: str = "HEAD") -> list[LogEntry]:
        """Commits reachable from `ref`, newest first, touching `paths` (relative to the vault folder) if given."""
        if self.head() is None:
            return []
        repo_paths = [self._repo_path(p) or "." for p in (paths or [])]
        try:
            commits = self.repo.iter_commits(ref, paths=repo_paths, max_count=n)
            return [
                LogEntry(c.hexsha, c.committed_datetime.isoformat(), str(c.author), _text(c.summary), _text(c.message))
                for c in commits
            ]
        except (git.GitCommandError, ValueError) as e:
            raise VaultError(f"git log {ref} failed in {self.root}: {e}") from e


def _text(value: str | bytes) -> str:
    """A commit message as text: GitPython leaves it bytes when the commit's encoding cannot decode it."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _tree_entries(data: bytes) -> dict[str, bytes]:
    """{name: 20-byte object id} of a raw git tree object ("<mode> <name>\\0<id>" entries)."""
    out: dict[str, bytes] = {}
    at = 0
    while at < len(data):
        nul = data.index(b"\0", at)
        name = data[data.index(b" ", at) + 1:nul].decode("utf-8", "surrogateescape")
        out[name] = data[nul + 1:nul + 21]
        at = nul + 21
    return out
