"""The git side of a vault: where the repository and snapshots/ are, and how git is run there.

The base of Vault (flowvault.vault.repo), which adds committing (flowvault.vault.commits) and reading history
(flowvault.vault.history) to it. The vault package is the only one that imports git.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

import git

from flowvault.errors import VaultError
from flowvault.vault.files import SNAPSHOTS


class GitRepo:
    """The git repository that holds a vault folder, and its snapshots/ folder."""

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

