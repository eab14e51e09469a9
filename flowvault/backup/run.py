"""One backup run: every selected source -> canonical files in the vault -> one commit.

Per source: list what the source has (one listing call), export only what changed since index.json (or
everything with `full`), concurrently, writing each item as it arrives; remove only what a successful listing no
longer has; write index.json last. Then one commit of snapshots/ for the whole run (none if nothing changed).
NOTHING LOST: an item that failed keeps its previous files and index entry, is named on stderr and in the commit
message, and the run ends with PartialBackupError (exit 4) after committing the rest. A failed listing deletes
nothing. A run killed at any moment leaves the last commit intact; the next run re-exports whatever the stale
index.json does not vouch for and commits the whole working tree of snapshots/.

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

from flowvault.backup.index import (
    FORMAT, INDEX, is_stale, item_paths, load_index, read_index_doc, redaction_stamp, remove_orphans,
)
from flowvault.backup.records import BackupResult, Entry, Failure, SourceReport, commit_message, item_labels
from flowvault.errors import ConfigError, FlowvaultError, PartialBackupError, UsageError, first_line
from flowvault.sources.base import in_place
from flowvault.vault.slug import SlugMap, slugify
from flowvault.ui import UI

# Exports in flight per source. A backup is one short burst (PingOne allows at most 100 flows per environment), so
# the cap sets how long the burst lasts, not a sustained rate. 16 keeps a 100-flow backup from waiting on round
# trips (8 left it latency-bound: issue 8's >= 6x target was out of reach) while staying well under what one
# client can hold open. PingOne's rate limits are per licence and shared (davinci-api.md 1.3): a 429 pauses every
# thread of the client until its Retry-After (retry.Gate), so a busy licence slows the burst down rather than
# failing it; --jobs lowers the cap for a licence that other tools use heavily.
DEFAULT_JOBS = 16
WORKERS_FROM = 16  # exports of one source from which worker processes are started (flowvault.backup.workers)
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
               source_factory=None, worker_processes: bool = False) -> BackupResult:
    """Back up the selected sources into the vault and commit; PartialBackupError (with .result) if items failed.

    `worker_processes`: parse and normalize exports in spawned processes (flowvault.backup.workers), as the
    `flowvault backup` command does. A spawned process imports the caller's main module, so a script that
    asks for them must keep its work under `if __name__ == "__main__":`, as multiprocessing requires."""
    from flowvault.normalize.redact import ENV_KEY, Redactor
    from flowvault.backup.workers import Workers

    ui = ui or UI()
    if push and not commit:
        raise UsageError("--push needs a commit; drop --no-commit or --push")
    names = select_sources(config, sources)
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
        made = []
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
            made.append((name, src_cfg, source, _start(early, source, _stored(vault_dir, name))))
        # The vault is opened while those first round trips are in flight: importing git and asking it where the
        # repository is took ~60 ms before the first request could leave (issue 8).
        try:
            from flowvault.vault.repo import Vault

            vault = Vault.open(vault_dir)
            _refuse_key_file_inside(key_file, vault)
        except BaseException:
            _abandon(made)
            raise
        with vault.lock():
            def one(name, src_cfg, source, started, report) -> None:
                if started is None:
                    report.error = str(source)
                    ui.info(f"{name}: FAILED: {source}")
                    return
                try:
                    _backup_source(vault, source, report, started, redactor=redactor, full=full, jobs=jobs, ui=ui,
                                   workers=workers, stop=stop)
                except (FlowvaultError, OSError) as e:
                    if isinstance(e, UsageError):
                        raise
                    report.error = first_line(e)
                    ui.info(f"{name}: FAILED, nothing of it changed: {report.error}")
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
            every_source_failed = all(report.error for report in result.sources)
            if commit and not every_source_failed:  # nothing was exported: nothing to commit (not even a .gitkeep)
                sha, changes = vault.commit(lambda ch: commit_message(ch, result, item_labels(vault, ch), message))
                result.commit, result.changes, result.committed = sha, changes, sha is not None
            else:
                vault.sync()  # durable even uncommitted (Vault.commit syncs itself)
                result.changes = vault.pending_changes()
                result.commit = vault.head()
            if push:
                vault.push(getattr(config.vault, "remote", None))
                result.pushed = True
    for failure in result.failures:
        ui.info(failure.line())
    whole = [s for s in result.sources if s.error]
    if whole and len(whole) == len(result.sources) and not result.failures:
        first = whole[0]
        raise _SourceFailed(f"{first.name}: {first.error}" if not first.error.startswith(first.name) else first.error,
                            result)
    if result.failures or whole:
        named = [f"{f.source}/{f.name}" for f in result.failures] + [f"{s.name} (whole source)" for s in whole]
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        error = PartialBackupError(
            f"partial backup: {len(named)} item(s) could not be exported ({shown}); their previous copies stay "
            f"in the vault; run again, or see the lines above for why", failed=named)
        error.result = result
        raise error
    return result


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


class _Stopped(Exception):
    """The run was interrupted: an export not yet started is not started (run_backup's `stop`)."""


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


# --- one source ------------------------------------------------------------------------------------------------


def _start(pool, source, stored) -> tuple:
    """(listing future, extras future) of `source`, both started on `pool`. The environment-wide files (variables,
    applications) need no listing: they are read while the listing and the exports run (they were ~0.4 s of round
    trips one after another at the end), and written after the exports. `stored` reads what the last run stored
    of them, a hint (DaVinci asks for the policies of the applications it knew without waiting for the list)."""
    return pool.submit(source.list), pool.submit(lambda: list(source.extras(stored=stored)))


def _stored(vault_dir, root: str):
    """fname -> bytes of snapshots/<root>/<fname> as the last run left it, or None: read before the vault is
    opened (only a hint: a wrong folder reads as nothing)."""
    from flowvault.vault.files import SNAPSHOTS, SnapshotFiles

    files = SnapshotFiles(Path(vault_dir) / SNAPSHOTS)

    def read(fname: str) -> bytes | None:
        try:
            return files.read(f"{root}/{fname}")
        except (OSError, FlowvaultError):
            return None

    return read


def _backup_source(vault, source, report: SourceReport, started: tuple, *, redactor, full: bool, jobs: int,
                   ui: UI, workers=None, stop=None) -> None:
    try:
        _export_source(vault, source, report, *started, redactor=redactor, full=full, jobs=jobs, ui=ui,
                       workers=workers, stop=stop)
    except BaseException:
        for future in started:
            future.cancel()
        concurrent.futures.wait(started)  # the caller closes the source's client next
        raise


def _export_source(vault, source, report: SourceReport, listing, extras_future, *, redactor, full: bool, jobs: int,
                   ui: UI, workers=None, stop=None) -> None:
    from flowvault.canonical import content_hash, dumpb

    root, kind, nested = report.name, source.kind, source.nested
    index_doc = read_index_doc(vault, root)
    prev = load_index(vault, root, kind)
    redaction = redaction_stamp(redactor)
    if index_doc.get("redaction") not in (None, redaction) or index_doc.get("format") not in (None, FORMAT):
        full = True  # fingerprints made with another key (or another format) would be stale: re-export all

    listed = listing.result()  # raises: a failed listing changes nothing
    report.listed = len(listed)
    failed_files = source.failed_files() if hasattr(source, "failed_files") else {}

    # Entries to keep regardless of the listing: embedded subflows whose parent is still listed, and items whose
    # file could not be read this time (their key is unknown until it can).
    def protected(item_id: str, entry: dict) -> str | None:
        if entry.get("parent") and entry["parent"] in listed:
            return "embedded"
        where = str((entry.get("stamp") or {}).get("file") or "")
        for bad, why in failed_files.items():
            if where and (where == bad or where.startswith(bad + "!")):
                return why
        return None

    final: dict[str, dict] = {}
    slugs = SlugMap({i: e.get("slug") for i, e in prev.items() if isinstance(e.get("slug"), str)},
                    lower=getattr(source, "lower_slugs", True))
    removed_ids = []
    for item_id, entry in prev.items():
        if item_id in listed:
            continue
        why = protected(item_id, entry)
        if why is None:
            removed_ids.append(item_id)
            slugs.release(item_id)
        else:
            final[item_id] = entry
            if why != "embedded":
                report.failed.append(Failure(root, entry.get("name", item_id), item_id, why))
    for bad, why in failed_files.items():
        if not any(str((e.get("stamp") or {}).get("file", "")).split("!")[0] == bad for e in prev.values()):
            report.failed.append(Failure(root, bad, "", why))
    slugs.assign_all((i, it.slug_name) for i, it in listed.items())

    present = set(vault.list_files(f"{root}/{kind}"))  # one listing, not a path check per file (~10 ms / 300)
    todo = [it for i, it in sorted(listed.items()) if full or is_stale(present, prev.get(i), it, root, kind, nested)]
    todo_ids = {it.id for it in todo}
    for item_id in listed:
        if item_id in prev and item_id not in todo_ids:
            final[item_id] = prev[item_id]
    report.unchanged = len(listed) - len(todo)
    if len(todo) >= WORKERS_FROM and workers is not None:
        workers.start()  # their ~0.1 s start-up pays off from a few dozen exports; a nightly run with few has none
    failed_ids: set[str] = set()

    settled = source.settled  # files the source may keep as stored (Source.settle)

    lock = threading.Lock()  # guards slugs, final and failed_ids: workers store side by side

    def write_files(entry: Entry, slug: str) -> dict:
        """Write one flow's (or workflow's) files; its index.json record."""
        paths = item_paths(root, kind, nested, slug, entry.files)
        if entry.id in prev:  # e.g. DaVinci: a rewrite by the service alone keeps the stored flow.json
            for fname in settled:
                if fname in entry.files:
                    entry.files[fname] = source.settle(fname, vault.read(paths[fname]), entry.files[fname])
        for fname, data in entry.files.items():
            vault.write(paths[fname], data)
        old = prev.get(entry.id) or {}
        if old.get("slug") == slug:  # a file the item no longer has (e.g. a BPMN file removed from workflow_dir)
            for fname, path in item_paths(root, kind, nested, slug, old.get("files") or {}).items():
                if fname not in entry.files:
                    vault.remove(path)
        record = {"name": entry.name, "slug": slug, "stamp": entry.stamp or {},
                  "files": {f: content_hash(d) for f, d in sorted(entry.files.items())}}
        if entry.parent:
            record["parent"] = entry.parent
        return record

    def export_and_store(item) -> Exception | None:
        """Export `item` and write its files, on the worker that exported it, so that files are on disk as soon as
        their export arrives (one collecting thread fell 0.35 s behind 16 exports: issue 8). Returns the error of
        an export that failed; a write that fails raises, and fails the source (a full disk is not one item's)."""
        if stop is not None and stop.is_set():
            raise _Stopped
        try:
            entries = source.export(item)
        except Exception as e:  # noqa: BLE001 - any failure of one item: keep its previous copy
            return e
        for entry in entries:
            with lock:
                if entry.parent and entry.id in listed:
                    continue  # a listed subflow is stored from its own export, once
                if entry.parent and entry.id in final and not final[entry.id].get("parent"):
                    continue
                slug = slugs.assign(entry.id, entry.name)
            record = write_files(entry, slug)
            with lock:
                final[entry.id] = record
        return None

    with ui.progress(root, total=len(todo)) as task:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix=root) as pool:
            futures = {pool.submit(export_and_store, item): item for item in todo}
            try:
                for future in concurrent.futures.as_completed(futures):
                    item = futures[future]
                    error = future.result()
                    if error is not None:
                        reason = first_line(error)
                        report.failed.append(Failure(root, item.name, item.id, reason))
                        with lock:
                            failed_ids.add(item.id)
                            if item.id in prev:
                                final[item.id] = prev[item.id]
                        task.advance(f"FAILED {item.name}")
                        continue
                    report.exported += 1
                    task.advance(item.name)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    for item_id in removed_ids:
        entry = prev[item_id]
        for path in item_paths(root, kind, nested, entry["slug"], entry.get("files") or {}).values():
            vault.remove(path)
        if nested:
            vault.remove(f"{root}/{kind}/{entry['slug']}")
        report.removed.append(entry.get("name", item_id))
    remove_orphans(vault, root, kind, nested, final, {slugs.get(i) for i in failed_ids} - {None})

    extras = dict((index_doc.get("extras") or {}))
    for fname, data in extras_future.result():
        if isinstance(data, BaseException):
            reason = first_line(data)
            report.failed.append(Failure(root, fname, "", reason))
            continue
        vault.write(f"{root}/{fname}", data)
        extras[fname] = content_hash(data)

    doc = {"format": FORMAT, "source": root, "type": report.type, "redaction": redaction,
           kind: dict(sorted(final.items())), "extras": dict(sorted(extras.items()))}
    vault.write(f"{root}/{INDEX}", dumpb(doc))  # last: a run killed before this re-exports what it had started
    summary = f"{root}: {report.listed} listed, {report.exported} exported, {report.unchanged} unchanged"
    if report.removed:
        summary += f", {len(report.removed)} removed"
    if report.failed:
        summary += f", {len(report.failed)} failed"
    report.failed.sort(key=lambda f: (f.name, f.id))
    report.removed.sort()
    ui.info(summary)


