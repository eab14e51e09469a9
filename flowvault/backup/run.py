"""One backup run: every selected source -> canonical files in the vault -> one commit.

Per source: list what the source has (one listing call), export only what changed since index.json (or
everything with `full`), concurrently, writing each item as it arrives; remove only what a successful listing no
longer has; write index.json last. Then one commit of snapshots/ for the whole run (none if nothing changed).
NOTHING LOST: an item that failed keeps its previous files and index entry, is named on stderr and in the commit
message, and the run ends with PartialBackupError (exit 4) after committing the rest. A failed listing deletes
nothing. A run killed at any moment leaves the last commit intact; the next run re-exports whatever the stale
index.json does not vouch for. Every file kept as unchanged is checked against the hash index.json recorded (a
damaged one is re-exported), and the commit stages only what the run wrote or checked (Vault.claim): a file under
snapshots/ that flowvault did not write is named, not committed (issue 18).

index.json is read and written through flowvault.backup.index; the records a run returns and its commit message
are in flowvault.backup.records.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Any

from flowvault.backup.export import backup_source, start, stored_reader
from flowvault.backup.records import BackupResult, SourceReport, commit_message, item_labels
from flowvault.errors import ConfigError, FlowvaultError, PartialBackupError, UsageError, VaultError, first_line
from flowvault.sources.base import Source, in_place
from flowvault.ui import UI
from flowvault.vault.slug import slugify

# Exports in flight per source. A backup is one short burst (PingOne allows at most 100 flows per environment), so
# the cap sets how long the burst lasts, not a sustained rate. 16 keeps a 100-flow backup from waiting on round
# trips (8 left it latency-bound: issue 8's >= 6x target was out of reach) while staying well under what one
# client can hold open. PingOne's rate limits are per licence and shared (davinci-api.md 1.3): a 429 pauses every
# thread of the client until its Retry-After (retry.Gate), so a busy licence slows the burst down rather than
# failing it; --jobs lowers the cap for a licence that other tools use heavily.
DEFAULT_JOBS = 16
KEY_FILE_ENV = "FLOWVAULT_REDACT_KEY_FILE"  # where the fingerprints' key is, when not in FLOWVAULT_REDACT_KEY


def _key_file(config) -> Path | None:
    """[vault].redact_key_file, else $FLOWVAULT_REDACT_KEY_FILE (see _refuse_key_file_inside)."""
    raw = getattr(config.vault, "redact_key_file", None) or os.environ.get(KEY_FILE_ENV)
    return Path(raw).expanduser().resolve() if raw else None


def _refuse_key_file_inside(path: Path | None, vault) -> None:
    """ConfigError if the key file is inside the vault's repository, where the key would sit next to the
    fingerprints it protects (and could be committed by anyone)."""
    if path is None:
        return
    try:
        path.relative_to(vault.root.resolve())
    except ValueError:
        return
    raise ConfigError(f"redact key file {path} is inside the vault repository {vault.root}; keep it outside "
                      f"(e.g. ~/.config/flowvault/redact.key), or use {KEY_FILE_ENV} / FLOWVAULT_REDACT_KEY")


def _abandon(made) -> None:
    """Stop what `made` (started sources) asked for, and close their clients: the run ends before using them."""
    for _name, _cfg, source, started in made:
        for future in started or ():
            future.cancel()
        if started is not None:
            with contextlib.suppress(Exception):
                source.close()


def select_sources(config, names: tuple[str, ...] | list[str]) -> list[str]:
    """The source names to back up: `names` (UsageError listing the valid ones if unknown), else all."""
    valid = list(config.sources)
    if not valid:
        raise ConfigError(f"{config.path}: no [sources.NAME] table; add one (see `flowvault init`)")
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        raise UsageError(f"unknown source {unknown[0]!r}; valid sources: {', '.join(valid)}")
    chosen = list(dict.fromkeys(names)) or valid
    for name in chosen:
        if slugify(name) != name.lower() or name.startswith("."):
            raise ConfigError(f"{config.path}: [sources.{name}]: the name must be usable as a folder name")
    return chosen


def run_backup(config, vault_dir, *, sources=(), message: str | None = None, commit: bool = True,
               push: bool = False, full: bool = False, jobs: int | None = None, ui: UI | None = None,
               source_factory=None, worker_processes: bool = False, history: bool = False,
               latest_only: bool = False) -> BackupResult:
    """Back up the selected sources into the vault and commit; PartialBackupError (with .result) if items failed.

    Each flow version saved since the vault's last one is committed on its own first (flowvault.backup.versions),
    then the rest of the run in one commit; `latest_only` (or no commit) keeps one commit per run. `history`
    also commits every stored version of the flows the vault does not hold yet.

    `worker_processes`: parse and normalize exports in spawned processes (flowvault.backup.workers), as the
    `flowvault backup` command does. A spawned process imports the caller's main module, so a script that
    asks for them must keep its work under `if __name__ == "__main__":`, as multiprocessing requires."""
    from flowvault.backup.workers import Workers
    from flowvault.normalize.redact import ENV_KEY, Redactor

    ui = ui or UI()
    if push and not commit:
        raise UsageError("--push needs a commit; drop --no-commit or --push")
    if history and (latest_only or not commit):
        raise UsageError("--history commits every stored version; drop --latest-only / --no-commit or --history")
    names = select_sources(config, sources)
    for name in names:  # only the chosen sources' secrets are needed (issue 19)
        getattr(config.sources[name], "require", lambda: None)()
    jobs = jobs or DEFAULT_JOBS
    key_file = _key_file(config)
    redactor = Redactor.from_environment(getattr(config.vault, "redact", ()) or (), key_file=key_file)
    if not redactor.keyed:
        ui.warn(f"{ENV_KEY} is not set: secrets are stored as {{\"redacted\": true}}, so a changed secret does not "
                f"show in diffs; set {ENV_KEY} to a random secret to store keyed fingerprints", once="redact-key")
    result = BackupResult([])
    # Worker processes for parsing and normalizing exports (flowvault.backup.workers), started by a source with enough
    # to export: one core less than the machine has, which this process's threads need (on 2 cores, one worker
    # beat two: 1.11 s vs 1.22 s per 100 flows); none with --jobs 1, where nothing would run beside them.
    # A worker imports what the sources' calls need (their modules, the codec) as it starts.
    from flowvault.sources import SOURCES

    preload = ["orjson", "flowvault.canonical", *sorted({SOURCES[config.sources[n].type] for n in names})]
    workers = Workers(min(jobs, (os.cpu_count() or 1) - 1) if worker_processes and jobs > 1 else 0, preload=preload)
    stop = threading.Event()  # set when the run is interrupted: sources side by side start no further export
    with workers, _rare_gc(), _early_pool(2 * len(names)) as early:
        made: list[tuple[str, Any, Source | FlowvaultError, tuple | None]] = []  # (name, config, source, started)
        for name in names:
            src_cfg = config.sources[name]
            try:
                source = (source_factory or functools.partial(_make_source, workers=workers))(
                    config, src_cfg, redactor=redactor, jobs=jobs)
            except FlowvaultError as e:
                made.append((name, src_cfg, e, None))
                continue
            # Every source's listing and environment-wide files are asked for at once, before the first export: a
            # source's round trips then overlap the other sources' work (an unchanged run is little else).
            # Each source's client still caps its own requests in flight (--jobs).
            made.append((name, src_cfg, source, start(early, source, stored_reader(vault_dir, name))))
        # The vault is opened while those first round trips are in flight: importing git and asking it where the
        # repository is took ~60 ms before the first request could leave (issue 8).
        try:
            from flowvault.vault.repo import Vault

            vault = Vault.open(vault_dir)
            _refuse_key_file_inside(key_file, vault)
            if commit:
                vault.branch()  # a detached HEAD is refused before any export (issue 18)
            vault.check_readable()  # HEAD's objects, which unchanged files rely on (issue 18); while listings run
        except BaseException:
            _abandon(made)
            raise
        with vault.lock(on_wait=ui.info), _series(vault, commit and not latest_only) as series:
            def one(name, src_cfg, source, started, report) -> None:
                if started is None:
                    report.error = str(source)
                    return
                try:
                    backup_source(vault, source, report, started, redactor=redactor, full=full, jobs=jobs, ui=ui,
                                  workers=workers, stop=stop, series=series, history=history)
                except (FlowvaultError, OSError) as e:
                    if isinstance(e, (UsageError, VaultError)):  # the vault, not the source, failed: exit 3
                        raise
                    report.error = first_line(e)
                finally:
                    with contextlib.suppress(Exception):
                        source.close()

            runs = [(*m, SourceReport(m[0], m[1].type)) for m in made]
            result.sources += [r[-1] for r in runs]
            if len(runs) > 1 and jobs > 1 and not getattr(ui, "interactive", False):
                # Sources export side by side (each into its own folder; index.json per source, one commit at the end).
                # Not on a terminal, where a progress bar is a live display and only one can be shown at a time.
                with concurrent.futures.ThreadPoolExecutor(len(runs), thread_name_prefix="source") as pool:
                    futures = [pool.submit(one, *r) for r in runs]
                    try:
                        for future in futures:
                            future.result()
                    except BaseException:  # Ctrl-C reaches this thread only: the sources' threads stop too
                        stop.set()
                        for future in futures:
                            future.cancel()
                        raise
            else:
                for r in runs:
                    one(*r)
            workers.close(wait=False)  # no export is left: the workers end while the commit runs
            if series is not None:
                series.close()  # HEAD at the last version commit: the run's own commit goes on top
            every_source_failed = all(report.error for report in result.sources)
            if commit and not every_source_failed:  # nothing was exported: nothing to commit (not even a .gitkeep)
                sha, changes = vault.commit(lambda ch: commit_message(ch, result, item_labels(vault, ch), message),
                                            claimed_only=True)
                result.commit, result.changes, result.committed = sha, changes, sha is not None
                _report_unclaimed(vault.unclaimed, ui)
            else:
                vault.sync()  # durable even uncommitted (Vault.commit syncs itself)
                # nothing was written when every source failed: nothing to stage, and no `git add` whose error
                # (no snapshots/ yet in a plain git repo) would hide why the sources failed (issue 19)
                result.changes = [] if every_source_failed else vault.pending_changes()
                result.commit = vault.head()
            if push:
                result.replayed_onto = vault.push(getattr(config.vault, "remote", None))
                result.pushed = True
                if result.replayed_onto and result.committed:  # the commit pushed is the replayed one
                    result.commit = vault.head()
    for failure in result.failures:
        ui.info(failure.line())
    whole = [(s.name, s.error) for s in result.sources if s.error]  # (source, why it failed as a whole)
    every = bool(whole) and len(whole) == len(result.sources) and not result.failures
    if every and len(whole) == 1:  # the error line itself says why
        name, why = whole[0]
        raise _SourceFailed(f"{name}: {why}" if not why.startswith(name) else why, result)
    # each failed source's reason once, on stderr, then the error line names them all (issue 19)
    for name, why in whole:
        ui.info(f"{name}: FAILED, nothing of it changed: {_named(name, why)}")
    if every:
        raise _SourceFailed(f"every source failed, nothing changed: {', '.join(name for name, _ in whole)}; "
                            f"see the lines above for why", result)
    if result.failures or whole:
        named = [f"{f.source}/{f.name}" for f in result.failures] + [f"{name} (whole source)" for name, _ in whole]
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        raise PartialBackupError(
            f"partial backup: {len(named)} item(s) could not be exported ({shown}); their previous copies stay "
            f"in the vault; run again, or see the lines above for why", failed=named, result=result)
    return result


def _report_unclaimed(paths: list[str], ui: UI, shown: int = 5) -> None:
    """Name the files under snapshots/ that the commit left out: flowvault did not write them (issue 18)."""
    for path in paths[:shown]:
        ui.warn(f"snapshots/{path}: not written by flowvault (added or edited by hand); left out of the commit")
    if len(paths) > shown:
        ui.warn(f"and {len(paths) - shown} more file(s) under snapshots/ not written by flowvault; see `git status`")


@contextlib.contextmanager
def _series(vault, wanted: bool):
    """The run's version commits (flowvault.vault.series), or None; what was not checkpointed when the run fails
    is dropped (the versions committed before stay, and the next run continues after them)."""
    if not wanted:
        yield None
        return
    from flowvault.vault.series import Series

    series = Series(vault)
    try:
        yield series
    finally:
        series.abandon()


@contextlib.contextmanager
def _early_pool(workers: int):
    """The pool for the sources' first requests (listing, environment-wide files). On an error it does not wait
    for those still in flight: a wrong vault path is reported at once, not after the round trips."""
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="early")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _rare_gc(young: int = 50_000):
    """Run the block with the cyclic garbage collector's youngest generation collected every `young` allocations
    (CPython's default is 700), then restore it. Parsed exports are trees: reference counting frees them, and a
    collection only walks them in vain: 189 collections took 105 ms of a 100-flow backup, under the GIL, and 20 ms
    with this (issue 8)."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        # What survived is old by now: moved to the oldest generation as it is (freeze + unfreeze), not walked
        # by the collection that the restored threshold would start at once (~7 ms at the end of every run,
        # issue 8). Cycles among it go at the next full collection. Not when the caller froze objects itself:
        # unfreeze would release theirs too.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.set_threshold(*before)


def _named(name: str, error: str) -> str:
    """`error` without a leading "<name>: " (the line names the source already)."""
    return error[len(name) + 2:] if error.startswith(f"{name}: ") else error


class _SourceFailed(FlowvaultError):
    """Every selected source failed as a whole (unreachable, 401/403): exit 3, nothing changed."""

    def __init__(self, message: str, result: BackupResult) -> None:
        super().__init__(message)
        self.result = result


def _make_source(config, src_cfg, *, redactor, jobs: int, workers=None):
    from flowvault.sources import source_module

    module = source_module(src_cfg.type)
    return module.Source(src_cfg.name, src_cfg.settings, redactor=redactor, jobs=jobs,
                         call=workers.call if workers is not None else in_place,
                         secret_hint=getattr(src_cfg, "secret_hint", None), base_dir=config.path.parent)
