"""`backup --push` on a busy remote: push, and on a non-fast-forward fetch, replay the local commits onto the remote
branch and push again, a bounded number of times with jitter (issue 18).

Each source writes only snapshots/<source>/, so backups of different sources pushed at once never touch the same
file: the replay is a pure tree operation (no merge, no working-tree checkout of our own files), made in a temporary
index with git plumbing. Should a path be changed on both sides after all, nothing is forced: it stops and says so.
No git import here: everything goes through the Vault's git runner (flowvault.vault.gitrepo).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from flowvault.errors import VaultError

ATTEMPTS = 6  # pushes in all; with N jobs racing, each round lets at least one of them through
# What git says when the remote branch moved under us: the pushes that a fetch and a replay can fix.
# "fetch first"/"non-fast-forward": the branch has commits we lack; "failed to update ref"/"cannot lock ref"/
# "incorrect old value": another push was updating it at that very moment.
_RETRYABLE = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref", "incorrect old value",
              "stale info")


def push(vault, remote: str, *, attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep,
         jitter: Callable[[float, float], float] = random.uniform) -> str | None:
    """Push the vault's branch to the same branch of `remote`; None if HEAD went as it was, else the branch its
    commits were replayed onto ("origin/main"): HEAD is then a new commit, and the one committed before is no
    branch's any more. VaultError naming git's reason when the push is refused for another reason, when the replay
    meets a conflict, or after `attempts` pushes (the local commits stay in every case)."""
    branch = vault.branch()
    target = f"refs/heads/{branch}"
    start = vault.head()
    for attempt in range(1, attempts + 1):
        reason = _push_once(vault, remote, target)
        if reason is None:
            return f"{remote}/{branch}" if vault.head() != start else None
        if not any(r in reason for r in _RETRYABLE):
            raise VaultError(f"push to {remote} was refused: {reason}; the backup is committed locally")
        if attempt == attempts:
            break
        # Jitter: jobs that were refused together do not come back together.
        sleep(jitter(0.05, 0.4) * attempt)
        tracking = f"refs/remotes/{remote}/{branch}"
        vault._git("fetch", "-q", "--no-tags", remote, f"+{target}:{tracking}")
        replay_onto(vault, tracking, remote)
    raise VaultError(f"push to {remote} was refused {attempts} times (the branch {branch} kept moving: {reason}); "
                     f"the backup is committed locally; run the backup again with --push")


def _push_once(vault, remote: str, target: str) -> str | None:
    """None if `git push` took HEAD to `target`, else git's reason in one line."""
    status, out, err = vault.repo.git.execute(["git", "push", "--porcelain", remote, f"HEAD:{target}"],
                                              with_extended_output=True, with_exceptions=False)
    if status == 0:
        return None
    for line in out.splitlines():  # --porcelain: "!<TAB>HEAD:refs/heads/main<TAB>[rejected] (fetch first)"
        if line.startswith("!"):
            return line.split("\t")[-1].strip()
    lines = [line.strip() for line in (err or "").splitlines() if line.strip()]
    cause = next((line for line in lines if line.startswith(("fatal:", "error:", "remote:"))), None)
    return cause or (lines[-1] if lines else f"git push exited with {status}")


def replay_onto(vault, upstream: str, remote: str = "the remote") -> str:
    """Replay the commits of HEAD that `upstream` lacks onto it, as `git rebase` would but in a temporary index;
    move HEAD, the user's index and the working tree there (as a fast-forward would); the new HEAD's sha."""
    head = vault.head()
    up = vault._git("rev-parse", "--verify", f"{upstream}^{{commit}}").strip()
    try:
        base = vault._git("merge-base", head, up).strip()
    except VaultError as e:
        raise VaultError(f"push to {remote}: the local branch and {upstream} share no history; nothing was "
                         f"pushed, the backup is committed locally") from e
    if base == up:
        return head  # nothing new upstream (the refusal was a race with a push of these very commits)
    if base == head:
        new = up  # every local commit is upstream already
    else:
        lines = vault._git("rev-list", "--reverse", "--parents", f"{base}..{head}").splitlines()
        if any(len(line.split()) != 2 for line in lines):
            raise VaultError(f"push to {remote}: the local commits include a merge; nothing was pushed, the backup "
                             f"is committed locally; pull and push by hand")
        theirs = set(filter(None, vault._git("diff-tree", "-r", "-z", "--no-renames", "--name-only", base, up,
                                             strip_newline_in_stdout=False).split("\0")))
        new = up
        with vault._temp_index(keep=False) as env:  # not the stat cache: no stat data
            for line in lines:
                sha, parent = line.split()
                new = _replay(vault, env, sha, parent, new, theirs, remote)
    vault._index_pending(head)  # a run killed from here on has the next one finish the move (Vault.lock)
    vault._git("update-ref", "-m", f"flowvault: replayed onto {upstream}", "HEAD", new, head)
    vault._follow_head(head)
    return new


def _replay(vault, env: dict[str, str], sha: str, parent: str, onto: str, theirs: set[str], remote: str) -> str:
    """Commit `sha`'s change (against `parent`) on top of `onto`, with its message and author; the new sha."""
    raw = vault._git("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, sha,
                     strip_newline_in_stdout=False)
    fields = [f for f in raw.split("\0") if f]
    entries = []  # (":oldmode newmode oldsha newsha status", path)
    for meta, path in zip(fields[0::2], fields[1::2], strict=True):
        if path in theirs:
            raise VaultError(f"push to {remote}: {path} was changed both here and on the remote; nothing was "
                             f"pushed, the backup is committed locally; merge by hand, then push")
        _, new_mode, _, new_sha, _ = meta.lstrip(":").split(" ")
        entries.append(f"{new_mode} {new_sha}\t{path}\0" if new_mode != "000000" else f"0 {'0' * 40}\t{path}\0")
    vault._git("read-tree", onto, env=env)
    if entries:
        vault._git_input(["update-index", "-z", "--index-info"], "".join(entries).encode("utf-8"), env=env)
    tree = vault._git("write-tree", env=env).strip()
    name, email, date, message = vault._git("log", "-1", "--format=%an%x00%ae%x00%ad%x00%B", "--date=raw",
                                            sha).split("\0", 3)
    author = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}
    return vault._git("commit-tree", tree, "-p", onto, "-m", message.rstrip("\n"),
                      env={**env, **vault._identity_env(), **author}).strip()
