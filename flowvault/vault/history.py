"""Reading what the vault committed: trees, history with the paths each commit changed, and blobs in bulk
(for diff / log / show / restore, and a backup's look at HEAD)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import git

from flowvault.errors import VaultCorruptError, VaultError
from flowvault.vault.commits import PathChange
from flowvault.vault.files import SNAPSHOTS
from flowvault.vault.gitrepo import GitRepo

# What git says of an object it cannot read (missing, or failing its zlib or hash check), with the object's id.
_DAMAGED_OBJECT = re.compile(r"(?:unable to read|could not read|bad object|corrupt|missing|inflate|unable to unpack)"
                             r"\D*?([0-9a-f]{40})", re.IGNORECASE)


@dataclass(frozen=True)
class LogEntry:
    sha: str
    date: str  # ISO 8601, committer date
    author: str
    summary: str  # first line of the message
    message: str
    parents: tuple = ()  # shas of the commit's parents (Vault.history only)
    changes: tuple = ()  # PathChange per snapshots/ path the commit changed against its first parent (history only)
    author_date: str = ""  # ISO 8601: when the change was made; for a version commit, when the version was saved


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
        reading: tuple[str | None, str | None] = (repo_prefix or None, None)  # (path, object) being read, if damaged
        try:
            try:
                tree = commit.tree / repo_prefix if repo_prefix else commit.tree
            except KeyError:
                return {}
            if isinstance(tree, git.Blob):
                reading = (repo_prefix, tree.hexsha)
                return {PurePosixPath(repo_prefix).name: tree.data_stream.read()}
            out: dict[str, bytes] = {}
            if not isinstance(tree, git.Tree):  # a submodule: no file of ours
                return out
            for item in tree.traverse():
                if isinstance(item, (git.Blob, git.Tree)):
                    reading = (os.fspath(item.path), item.hexsha)
                if isinstance(item, git.Blob):
                    out[PurePosixPath(item.path).relative_to(repo_prefix or ".").as_posix()] = item.data_stream.read()
            return out
        except (ValueError, git.GitError, OSError) as e:  # a missing or corrupt object (issue 18)
            path, obj = reading
            if obj is None or obj not in str(e):  # the object git named: a tree above the file, or the file's own
                named = re.search(r"\b[0-9a-f]{40}\b", str(e))
                obj = named.group(0) if named else obj
            raise VaultCorruptError(unreadable(self.root, path, commit.hexsha, obj)) from e

    def _under_prefix(self, rel: str) -> str:
        """snapshots/<rel> as a path of the repository (what git names it)."""
        return "/".join(p for p in (self.prefix if self.prefix not in ("", ".") else "", rel) if p)

    def check_readable(self) -> None:
        """Return if git can read every object of HEAD's snapshots/ tree; else VaultCorruptError naming the first
        file (or folder) that it cannot, with the commit and `git fsck` (issue 18). A backup relies on them: it
        keeps files as unchanged by what index.json says, so a damaged object would outlive every later backup.
        One `git ls-tree -r` (which reads the trees) and one `git cat-file --batch-check` over the blob ids (which
        finds a missing object, and a loose one whose header does not inflate); it reads no blob's content."""
        head = self.head()
        if head is None:
            return
        try:
            listing = self._git("ls-tree", "-r", "-t", "-z", head, "--", self.prefix, strip_newline_in_stdout=False)
        except VaultError as e:
            damage = _DAMAGED_OBJECT.search(str(e))
            if damage is None:
                raise
            oid = damage.group(1)
            # with -t, git lists a tree before it reads it: the folder whose tree it could not read is named
            listed = _object_paths(str(getattr(e.__cause__, "stdout", "") or ""))
            raise VaultCorruptError(unreadable(self.root, listed.get(oid, f"the {self.prefix}/ tree"), head,
                                               oid)) from e
        blobs = _object_paths(listing, ("blob",))  # the trees: read by ls-tree already
        if not blobs:
            return
        answer = self._git_input(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                                 "".join(f"{oid}\n" for oid in blobs).encode("ascii"))
        for line in answer.splitlines():
            oid, _, kind = line.partition(" ")
            if kind != "blob" and oid in blobs:  # "<oid> missing"
                raise VaultCorruptError(unreadable(self.root, blobs[oid], head, oid))

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
        args = ["log", "--no-renames", "--raw", "--no-abbrev", "-z",
                "--format=%x01%H%x00%P%x00%cI%x00%an%x00%aI%x00%B%x00"]
        if n:
            args.append(f"--max-count={n}")
        try:
            out = self._git(*args, ref, "--", *repo_paths, strip_newline_in_stdout=False)
        except VaultError as e:  # a tree git cannot read while it compares commits (issue 18)
            damage = _DAMAGED_OBJECT.search(str(e))
            if damage is None:
                raise
            raise VaultCorruptError(unreadable(self.root, f"the {self.prefix}/ history", self.sha_of(ref),
                                               damage.group(1))) from e
        entries = []
        for chunk in out.split("\x01")[1:]:
            fields = chunk.split("\0")
            sha, parents, date, author, author_date, body = fields[:6]
            changes, i = [], 6
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
                                    tuple(changes), author_date))
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
                raise VaultCorruptError(unreadable(self.root, self._under_prefix(rel), ref, None))
            header = line.split()
            if len(header) != 3:  # "<spec> missing"
                return None
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after the content
            return header[1], data

        def folder(ref: str, rel_dir: str) -> dict[str, bytes] | None:
            if (ref, rel_dir) not in trees:
                path = self._under_prefix(rel_dir)
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
                raise VaultCorruptError(unreadable(self.root, self._under_prefix(rel), ref, entries[name].hex()))
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
                LogEntry(c.hexsha, c.committed_datetime.isoformat(), str(c.author), _text(c.summary), _text(c.message),
                         author_date=c.authored_datetime.isoformat())
                for c in commits
            ]
        except (git.GitCommandError, ValueError) as e:
            raise VaultError(f"git log {ref} failed in {self.root}: {e}") from e


def damaged(path: str, commit: str | None, problem: str, fix: str) -> str:
    """The one line that names a damaged part of the vault, whatever read it (diff, log, show, restore, backup):
    `<path> at commit <12 hex>: <problem>; <fix>` (`in the working tree` for commit None)."""
    where = f"at commit {commit[:12]}" if commit else "in the working tree"
    return f"{path} {where}: {problem}; {fix}"


def unreadable(root, path: str | None, commit: str, obj: str | None) -> str:
    """`damaged` for a git object that cannot be read (missing, or failing its zlib or hash check): the file (a
    repository path), the commit, the object, and `git fsck`."""
    what = f"its object {obj[:12]}" if obj else "its git object"
    return damaged(path or "the snapshots/ tree", commit, f"{what} cannot be read", f"run `git fsck` in {root}")


def _object_paths(listing: str, kinds: tuple[str, ...] = ("blob", "tree")) -> dict[str, str]:
    """{object id: the first path that holds it} of `git ls-tree -z` output, for objects of `kinds`."""
    paths: dict[str, str] = {}
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] in kinds:
            paths.setdefault(fields[2], path)
    return paths


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
