"""flowvault.backup.workers: spawned processes that run a backup's CPU-bound calls, and the fallbacks to the caller."""

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import die_unless_in, fail_remotely, pid_of_caller, runtime_error_unless_in

from flowvault.backup.workers import Workers
from flowvault.errors import RemoteError


def wait_until_up(workers: Workers, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while workers.call(pid_of_caller) == os.getpid():
        assert time.monotonic() < deadline, "no worker process came up"
        time.sleep(0.02)


def test_without_processes_calls_run_in_the_caller():
    with Workers(0) as workers:
        workers.start()
        assert workers.call(pid_of_caller) == os.getpid()
    assert multiprocessing.active_children() == []


def test_calls_run_in_a_worker_once_one_is_up_and_close_ends_them():
    workers = Workers(2)
    assert workers.call(pid_of_caller) == os.getpid()  # not started: here
    workers.start()
    wait_until_up(workers)
    assert workers.call(pid_of_caller) != os.getpid()
    workers.close()
    assert multiprocessing.active_children() == []  # close waited for them
    assert workers.call(pid_of_caller) == os.getpid()
    workers.start()  # not after close
    assert workers.call(pid_of_caller) == os.getpid()


def test_a_worker_error_is_raised_in_the_caller_with_its_type_and_message():
    with Workers(1) as workers:
        workers.start()
        wait_until_up(workers)
        with pytest.raises(RemoteError, match="^prod: export of 'x' holds no flow$"):
            workers.call(fail_remotely, "prod: export of 'x' holds no flow")


def test_a_killed_worker_leaves_the_calls_to_the_caller():
    with Workers(1) as workers:
        workers.start()
        wait_until_up(workers)
        assert workers.call(die_unless_in, os.getpid()) == "ran here"  # the worker died; the call ran here
        assert workers.call(pid_of_caller) == os.getpid()  # and so do the next ones


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    # A parent killed with kill -9 cannot close its pool: the workers notice and end within a second or so.
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).parents[1])!r})
        from flowvault.backup.workers import Workers
        from helpers import pid_of_caller
        if __name__ == "__main__":
            workers = Workers(1)
            workers.start()
            while (pid := workers.call(pid_of_caller)) == os.getpid():
                time.sleep(0.02)
            print(pid, flush=True)
            os.kill(os.getpid(), 9)
    """)
    (tmp_path / "parent.py").write_text(script, encoding="utf-8")
    out = subprocess.run([sys.executable, str(tmp_path / "parent.py")], capture_output=True, text=True, timeout=60)
    worker = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(worker):
        assert time.monotonic() < deadline, f"worker {worker} outlived its killed parent"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_close_without_waiting_lets_them_end_and_a_last_close_waits():
    workers = Workers(1)
    workers.start()
    wait_until_up(workers)
    workers.close(wait=False)
    assert workers.call(pid_of_caller) == os.getpid()  # closed: calls run here at once
    workers.close()
    assert multiprocessing.active_children() == []


def test_a_pool_whose_workers_cannot_warm_up_is_never_used(monkeypatch):
    import flowvault.backup.workers as workers_module

    monkeypatch.setattr(workers_module, "_warm_up", _failing_warm_up)
    with Workers(1) as workers:
        workers.start()
        deadline = time.monotonic() + 30
        while not all(f.done() for f in workers._up):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert workers.call(pid_of_caller) == os.getpid()


def _failing_warm_up():
    raise ImportError("no flowvault here")


def test_a_runtime_error_of_the_call_itself_is_raised_not_run_again_here():
    with Workers(1) as workers:
        workers.start()
        wait_until_up(workers)
        with pytest.raises(RuntimeError, match="the widget is gone after shutdown"):
            workers.call(runtime_error_unless_in, os.getpid())
