"""Reading what the vault committed: trees, history with the paths each commit changed, and blobs in bulk
(for diff / log / show / restore, and a backup's look at HEAD)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import git

from flowvault.errors import VaultCorruptError, VaultError
from flowvault.vault.commits import PathChange
from flowvault.vault.files import SNAPSHOTS
from flowvault.vault.gitrepo import GitRepo


@dataclass(frozen=True)
class LogEntry:
    sha: str
    date: str  # ISO 8601, committer date
    author: str
    summary: str  # first line of the message
    message: str
    parents: tuple = ()  # shas of the commit's parents (Vault.history only)
    changes: tuple = ()  # PathChange per snapshots/ path the commit changed against its first parent (history only)


class History(GitRepo):
    """The vault's commits and the files they hold, read with git."""

    def _repo_path(self, prefix: str) -> str:
        rel = (self.path / prefix).resolve().relative_to(self.root) if prefix else self.path.relative_to(self.root)
        return PurePosixPath(*rel.parts).as_posix() if rel.parts else ""

    def _snapshot_rel(self, repo_path: str) -> str | None:
        """`repo_path` relative to snapshots/, or None when it lies outside."""
        if self.prefix in ("", "."):
            return repo_path
        rel = PurePosixPath(repo_path)
        try:
            return rel.relative_to(self.prefix).as_posix()
        except ValueError:
            return None

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
