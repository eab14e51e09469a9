"""The files under a vault's snapshots/ folder: atomic writes, path safety, and fsyncs run in the background.

No git here (only the Vault's own modules import it: repo, gitrepo, commits, history); Vault hands its file
operations to SnapshotFiles.

Guarantees (DESIGN.md "The vault"): files are written atomically (temp file + os.replace), and only under
snapshots/; every file written is fsynced (with its folder) before Vault.commit records it (SnapshotFiles.sync).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from flowvault.errors import VaultError

SNAPSHOTS = "snapshots"
TMP_MARK = ".fvtmp-"  # in the names of temp files that a killed run may leave behind


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` so that a reader (or a crash) sees the old content or the new one, never a mix.

    `durable=False` skips the fsyncs: the caller makes the file durable later (Vault.sync) before relying on it.
    """
    fd, tmp = _create_temp(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


_temp_names = itertools.count()
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _create_temp(path: Path) -> tuple[int, str]:
    """(fd, name) of a new temp file next to `path` (mode 0600, as mkstemp makes it), its folder created if need be;
    lighter than tempfile.mkstemp, which a 100-flow backup called 300 times on the thread that collects exports."""
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name[:40]}{TMP_MARK}{os.getpid()}-{next(_temp_names)}")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp  # the umask applies, as to any file git writes
        except FileExistsError:  # left by a killed run with the same pid: take the next name
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(f"no free temp file name next to {path}")


def _fsync_file(path: Path) -> None:
    # Windows' fsync (_commit) needs a handle open for writing; POSIX fsyncs a read-only descriptor just as well.
    fd = os.open(path, os.O_RDONLY if os.name == "posix" else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if os.name == "posix":  # make a rename in it durable (Windows has no directory fsync)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class _Syncer:
    """fsyncs the files a run wrote on background threads, while the run goes on; `wait` returns once every file
    (and then every folder that got a rename) is on disk, raising the first OSError.

    Why not fsync each file as it is written: the two fsyncs per file (file + folder) were 1.7 s of a 4.9 s
    100-flow backup (benchmarks/README.md, issue 8), spent on the one thread that collects the exports. Nothing
    needs them that early. A run killed at any moment (kill -9) loses nothing to the page cache, which outlives the
    process, and the temp file + os.replace already keeps every file whole. Power loss is what fsync is for, and
    there the file must be on disk before a commit records it: `git add` reads the working tree, and a file
    truncated by a power cut after the commit would look unchanged to the next run's index.json and be committed
    empty. So Vault.commit waits for these fsyncs first.
    """

    def __init__(self, workers: int = 4) -> None:
        self._workers = workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: list[concurrent.futures.Future] = []
        self._folders: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, path: Path) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="fsync")
            self._futures.append(self._pool.submit(_fsync_file, path))
            self._folders.add(path.parent)

    def wait(self) -> None:
        with self._lock:
            futures, folders, pool = self._futures, self._folders, self._pool
            self._futures, self._folders, self._pool = [], set(), None
        if pool is None:
            return
        try:
            errors = [f.exception() for f in futures]
            # Folders after their files' renames (all done by now): one fsync per folder, not one per file.
            errors += [f.exception() for f in [pool.submit(_fsync_dir, d) for d in folders]]
        finally:
            pool.shutdown(wait=True)
        first = next((e for e in errors if e is not None and not isinstance(e, FileNotFoundError)), None)
        if first is not None:  # a file removed after it was written (FileNotFoundError) needs no fsync
            raise first


class SnapshotFiles:
    """The working-tree files under `snapshots` (paths relative to it); `on_written` is called with each file
    `write` changed (Vault: to pre-hash it for git)."""

    def __init__(self, snapshots: Path, on_written: Callable[[Path], None] | None = None) -> None:
        self.snapshots = snapshots
        self._on_written = on_written
        self._snapshots_real: Path | None = None  # snapshots/ with symlinks resolved, once (file)
        self._real_dirs: set[str] = set()  # folders under snapshots/ known to be real folders (_has_symlink)
        self._syncer = _Syncer()

    def file(self, rel: str | os.PathLike) -> Path:
        """The absolute path of `rel` (relative to snapshots/); VaultError if it would leave snapshots/."""
        rel_path = PurePosixPath(str(rel).replace("\\", "/"))
        if rel_path.is_absolute() or not rel_path.parts or any(p in ("..", "", ".git") for p in rel_path.parts):
            raise VaultError(f"refusing to write {str(rel)!r}: not a path inside {SNAPSHOTS}/")
        target = self.snapshots.joinpath(*rel_path.parts)
        # A symlink planted under snapshots/ must not redirect a write outside it.
        if self._has_symlink(rel_path.parts):
            if self._snapshots_real is None:
                self._snapshots_real = self.snapshots.resolve()
            try:
                target.resolve().relative_to(self._snapshots_real)
            except ValueError as e:
                raise VaultError(f"refusing to write {str(rel)!r}: it resolves outside {self.snapshots}") from e
        return target

    def _has_symlink(self, parts: tuple[str, ...]) -> bool:
        """True unless every existing component of snapshots/<parts> is certainly no symlink: then the path cannot
        leave snapshots/ and needs no resolve() (8 lstat calls in Python per file, 0.25 s of a 100-flow backup).
        Folders found real are remembered for the run: flowvault itself only ever makes real folders."""
        folder = str(self.snapshots)
        for index, part in enumerate(parts):
            folder = os.path.join(folder, part)
            last = index == len(parts) - 1
            if not last and folder in self._real_dirs:
                continue
            try:
                st = os.lstat(folder)
            except (FileNotFoundError, NotADirectoryError):
                return False  # nothing below a missing component exists, so no symlink either
            except OSError:
                return True
            if stat.S_ISLNK(st.st_mode):
                return True
            if not last:
                if not stat.S_ISDIR(st.st_mode):
                    return False  # a file where a folder should be: the write fails on its own
                self._real_dirs.add(folder)
        return False

    def read(self, rel: str | os.PathLike) -> bytes | None:
        """The bytes of snapshots/<rel> in the working tree, or None if it does not exist."""
        try:
            return self.file(rel).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def write(self, rel: str | os.PathLike, data: bytes | str) -> bool:
        """Write snapshots/<rel> atomically; True if its content changed (an unchanged file is not touched)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        target = self.file(rel)
        if target.is_file() and target.read_bytes() == data:
            return False
        try:
            atomic_write(target, data, durable=False)
        except OSError as e:
            raise VaultError(f"cannot write {target}: {e.strerror or e}") from e
        self._syncer.add(target)
        if self._on_written is not None:
            self._on_written(target)
        return True

    def sync(self) -> None:
        """Return once every file `write` wrote (and its folder) is on disk; VaultError if an fsync failed."""
        try:
            self._syncer.wait()
        except OSError as e:
            raise VaultError(f"cannot make the written files durable in {self.snapshots}: {e.strerror or e}") from e

    def remove(self, rel: str | os.PathLike) -> bool:
        """Delete snapshots/<rel> (a file or a folder); True if something was there."""
        target = self.file(rel)
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise VaultError(f"cannot remove {target}: {e.strerror or e}") from e
        parent = target.parent
        while parent != self.snapshots and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
        return True

    def list_files(self, rel: str | os.PathLike = "") -> list[str]:
        """Files under snapshots/<rel> in the working tree, as paths relative to snapshots/, sorted."""
        base = self.file(rel) if str(rel) else self.snapshots
        if not base.is_dir():
            return []
        # os.scandir, not Path.rglob: a pathlib object and a stat per file cost ~10 ms per 300 files at the end of
        # every backup (issue 8); a DirEntry knows its type from the folder listing. Symlinked folders are not
        # followed, as rglob does not.
        out: list[str] = []
        prefix = base.relative_to(self.snapshots).as_posix()
        stack = [(str(base), "" if prefix == "." else prefix + "/")]
        while stack:
            folder, rel_folder = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, rel_folder + entry.name + "/"))
                    elif entry.is_file() and TMP_MARK not in entry.name:
                        out.append(rel_folder + entry.name)
        return sorted(out)
