"""A series of commits on top of HEAD, one per saved flow version, through one `git fast-import` process.

A backfill of 30 flows x 6 versions is 180 commits: one `git add` + `write-tree` + `commit-tree` + `update-ref` per
version would start ~700 git processes. fast-import takes every commit (message, author date, changed files) on one
stream and builds the trees itself, without an index or a working tree (issue 16). The series lives on a private
ref (refs/flowvault/series); HEAD is moved to its tip at each checkpoint, compare-and-swap like Vault.commit, so a
run killed half-way keeps every version committed up to its last checkpoint and the next run continues from there.

Commits are built from the bytes handed in, not from the working tree: the caller writes the same bytes to the
working tree after committing them, and the run's last commit (Vault.commit) then sees no change for those files.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Mapping
from typing import IO

from flowvault.errors import VaultError

SERIES_REF = "refs/flowvault/series"
CHECKPOINT_EVERY = 2.0  # seconds between moves of HEAD during a long series: what a killed run keeps
_ZERO = "0" * 40


class Series:
    """Commits made one after another on top of the vault's HEAD; thread-safe (sources commit side by side)."""

    def __init__(self, vault) -> None:
        self.vault = vault
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._marks = 0
        self._head: str | None = None  # HEAD as last seen or set by this series
        self._pending = 0  # commits sent since the last checkpoint
        self._last_checkpoint = 0.0
        self.made = 0  # commits made by this series
        self.seconds = 0.0  # time spent sending commits and checkpointing (for the per-version cost)

    # --- the process -------------------------------------------------------------------------------------------

    def _start(self) -> None:
        env = {**os.environ, **self.vault._identity_env()}
        self._ident = {role: self._ident_of(role, env) for role in ("AUTHOR", "COMMITTER")}
        self._head = self.vault.head()
        try:
            self._proc = subprocess.Popen(
                # Deflate level 1: fast-import compresses every new blob on one core, and at the default level that
                # was what a backfill waited on (0.7 s of 180 versions); `git gc` repacks tighter later.
                # --force: the private ref may still hold a killed run's series, which this one does not continue
                # (it starts from HEAD); without it fast-import refuses to move the ref back ("Not updating ...").
                ["git", "-c", "pack.compression=1", "fast-import", "--quiet", "--done", "--force"], cwd=self.vault.root,
                env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise VaultError(f"cannot start git fast-import in {self.vault.root}: {e}") from e
        self._send(f"reset {SERIES_REF}\n".encode())
        if self._head:
            self._send(f"from {self._head}\n\n".encode())
        else:
            self._send(b"\n")
        self._last_checkpoint = time.monotonic()

    def _ident_of(self, role: str, env: dict) -> tuple[str, str]:
        """(name <email>, "<epoch> <tz>") as git would sign a commit now (config, GIT_* variables)."""
        try:
            out = subprocess.run(["git", "var", f"GIT_{role}_IDENT"], cwd=self.vault.root, env=env, check=True,
                                 capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as e:
            raise VaultError(f"git has no {role.lower()} identity in {self.vault.root}: set user.name and "
                             f"user.email") from e
        who, _, when = out.rpartition(">")
        return who + ">", when.strip()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        """(stdin, stdout) of the running fast-import; VaultError if it is not running (abandoned)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise VaultError(f"git fast-import is not running in {self.vault.root}")
        return proc.stdin, proc.stdout

    def _send(self, data: bytes) -> None:
        stdin, _ = self._pipes()
        try:
            stdin.write(data)
        except (OSError, ValueError) as e:
            raise VaultError(f"git fast-import failed in {self.vault.root}: {self._stderr() or e}") from e

    def _stderr(self) -> str:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return ""
        with contextlib.suppress(Exception):
            proc.kill()
            return (proc.stderr.read() or b"").decode("utf-8", "replace").strip().replace("\n", " ")
        return ""

    # --- commits -----------------------------------------------------------------------------------------------

    def commit(self, message: str, files: Mapping[str, bytes], author_time: int | None = None) -> None:
        """Commit `files` ({path relative to snapshots/: bytes}) on top of the series, with `message` and, if
        given, `author_time` (seconds since the epoch, UTC) as the author date; HEAD moves at the next checkpoint."""
        started = time.perf_counter()
        with self._lock:
            if self._proc is None:
                self._start()
            self._marks += 1
            who, now = self._ident["AUTHOR"]
            author = f"{who} {author_time} +0000" if author_time is not None else f"{who} {now}"
            cwho, cnow = self._ident["COMMITTER"]
            text = message.encode("utf-8")
            parts = [f"commit {SERIES_REF}\nmark :{self._marks}\nauthor {author}\ncommitter {cwho} {cnow}\n"
                     f"data {len(text)}\n".encode(), text, b"\n"]
            prefix = "" if self.vault.prefix in ("", ".") else self.vault.prefix + "/"
            for rel, data in sorted(files.items()):
                path = prefix + rel
                if "\n" in path or path.startswith('"'):
                    raise VaultError(f"{rel!r}: a path git fast-import cannot take")
                parts.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
                parts += [data, b"\n"]
            parts.append(b"\n")
            self._send(b"".join(parts))
            self._pending += 1
            self.made += 1
            if time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY:
                self._checkpoint()
        self.seconds += time.perf_counter() - started

    def checkpoint(self) -> None:
        """Make every commit sent so far durable and move HEAD to the last one."""
        started = time.perf_counter()
        with self._lock:
            self._checkpoint()
        self.seconds += time.perf_counter() - started

    def _checkpoint(self) -> None:
        if self._proc is None or not self._pending:
            return
        self._send(f"checkpoint\nget-mark :{self._marks}\n".encode())
        stdin, stdout = self._pipes()
        try:
            stdin.flush()
            line = stdout.readline().decode().strip()
        except (OSError, ValueError) as e:
            raise VaultError(f"git fast-import failed in {self.vault.root}: {self._stderr() or e}") from e
        if len(line) != 40:
            raise VaultError(f"git fast-import failed in {self.vault.root}: {self._stderr() or 'no commit made'}")
        # Compare-and-swap, as Vault.commit: a commit of the user's since the series began is never lost. The user's
        # index must follow HEAD; noted first, so a run killed before close() has it finished by the next (issue 18).
        self.vault._index_pending("reset")
        self.vault._git("update-ref", "-m", f"flowvault: {self._pending} flow version(s)", "HEAD", line,
                        self._head or _ZERO)
        self._head = line
        self._pending = 0
        self._last_checkpoint = time.monotonic()

    def close(self) -> None:
        """Checkpoint, end the fast-import process and drop the private ref; the user's index follows HEAD."""
        if self._proc is None:
            return
        try:
            self.checkpoint()
            with self._lock:
                self._send(b"done\n")
                stdin, _ = self._pipes()
                stdin.close()
                if self._proc.wait(timeout=300) != 0:
                    raise VaultError(f"git fast-import failed in {self.vault.root}: {self._stderr()}")
        finally:
            self.abandon()
            with contextlib.suppress(VaultError):
                self.vault._git("update-ref", "-d", SERIES_REF)
            if self.made:
                self.vault._sync_user_index()

    def abandon(self) -> None:
        """Stop the process without a checkpoint: what was not checkpointed is not in HEAD (a run interrupted)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                proc.kill()
                proc.wait(timeout=10)
