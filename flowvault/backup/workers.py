"""Worker processes for the CPU-bound part of a backup: turning an export's bytes into canonical files.

A backup's threads mostly wait on the network, but each ~100 KB DaVinci export also costs ~2 ms of Python to
parse, split, redact and serialize, under the one GIL those threads share: on a 2-core machine a 100-flow backup
was bound by that, not by the network, with the second core ~40% idle (issue 8). Workers run that part in other
processes, beside the threads:

    workers = Workers(2, preload=["m"])  # nothing started yet; a worker imports module m when it starts
    workers.start()                   # when there is enough work: the processes start in the background
    entries = workers.call(fn, data)  # fn(data) in a worker once one is up, else here; its exception is raised here
    workers.close()                   # waits for them to end (close(wait=False) lets them end meanwhile)

The processes are spawned (a fresh interpreter, as multiprocessing does by default on macOS and Windows), never
forked from this multi-threaded process, whose locks a fork would copy in whatever state other threads hold them.
Until the first is up (~0.1 s), after `close`, and once the pool broke (a worker was killed), `call` runs fn in
the calling thread: same result, no parallelism. fn and its arguments must pickle. A worker ignores Ctrl-C, which
the parent handles, and ends by itself if its parent dies.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

MAX_PROCESSES = 4  # past a few, this process's own share (HTTP, writes) is the limit


class Workers:
    """Up to `processes` worker processes, started on demand: see the module docstring."""

    def __init__(self, processes: int = 0, preload: Iterable[str] = ()) -> None:
        self.processes = max(0, min(processes, MAX_PROCESSES))
        self.preload = tuple(preload)  # modules a worker imports as it starts, so that its first call does not
        self._pool: Any = None
        self._up: list = []  # futures of the warm-up calls: the pool is used once one has succeeded
        self._ready = False
        self._closed = False
        self._closing: threading.Thread | None = None  # shuts the pool down (it waits for the processes)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the processes in the background (once; not after close, not when `processes` is 0)."""
        with self._lock:
            if self._pool is not None or self._closed or self.processes < 1:
                return
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            try:
                pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_worker_setup)
                self._up = [pool.submit(_warm_up, self.preload) for _ in range(self.processes)]
            except OSError as e:  # no processes left (ulimit): the threads do the work
                log.debug("no worker processes (%s)", e)
                return
            self._pool = pool

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args): in a worker process once one is up (its exception is raised here), else in this thread."""
        pool = self._pool
        if pool is not None and self._is_up():
            from concurrent.futures.process import BrokenProcessPool

            try:
                future = pool.submit(fn, *args)
            except RuntimeError:  # broken, or closed meanwhile: run it here
                future = None
            if future is not None:
                try:
                    return future.result()  # fn's own exception is raised here, as it would be in this thread
                except BrokenProcessPool:  # a worker died (killed, out of memory): the rest runs here
                    if self._pool is pool:
                        log.warning("a worker process died; the rest of the exports are normalized in the threads")
                        self._pool = None
        return fn(*args)

    def _is_up(self) -> bool:
        """True once a worker has run its warm-up (a worker that cannot even import flowvault is never used)."""
        if not self._ready:
            self._ready = any(f.done() and not f.cancelled() and f.exception() is None for f in self._up)
        return self._ready

    def close(self, wait: bool = True) -> None:
        """Stop the processes; with `wait`, return once they have ended (~15 ms after the last call): one left
        behind would hold this process's stdout and stderr open, and whoever reads them would wait for it. So
        close(wait=False) as soon as the work is done lets them end meanwhile, and a last close() makes sure."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
            if pool is not None:
                self._closing = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True},
                                                 name="workers-close", daemon=True)
                self._closing.start()
            closing = self._closing
        if wait and closing is not None:
            closing.join()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import what the caller's calls will need (Workers' `preload`), so that the first call does not."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def _worker_setup() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
    # A parent killed without closing the pool (kill -9) leaves its workers waiting on a queue the others still
    # hold open: each watches for its parent's death and ends then.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)
