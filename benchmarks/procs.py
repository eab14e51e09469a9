"""Child processes for the benchmarks: wall time and peak RSS of one command, and the sandbox as a subprocess."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

FLOWVAULT = [sys.executable, "-m", "flowvault"]


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float  # the child's peak RSS, including the children it waited for (git)
    returncode: int
    stdout: str
    stderr: str


def compile_package() -> None:
    """Compile flowvault's modules to bytecode in place, as `pip install` does for an installed package: with
    PYTHONDONTWRITEBYTECODE set (as on these machines) an editable checkout would be compiled from source in every
    child, ~0.09 s of each process start."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "flowvault"), quiet=1)


def run(cmd: list[str], *, env: dict | None = None, cwd: str | Path | None = None, check: bool = True) -> Run:
    """Run `cmd` to completion; wall time from fork to reap, peak RSS from wait4 (Linux/macOS)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is KiB on Linux, bytes on macOS
            rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        else:  # pragma: no cover - Windows: no wait4, no RSS
            proc.wait()
            seconds, rss = time.perf_counter() - start, float("nan")
        out.seek(0)
        err.seek(0)
        result = Run(seconds, rss, proc.returncode, out.read().decode(errors="replace"),
                     err.read().decode(errors="replace"))
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return result


def median(values) -> float:
    return statistics.median(values)


def interleaved(commands: dict[str, list[str]], repeat: int, **kw) -> dict[str, list[Run]]:
    """Run every command `repeat` times, alternating them (A B A B...), so machine noise hits all alike."""
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for i in range(repeat):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for name in order:
            runs[name].append(run(commands[name], **kw))
    return runs


class SandboxProcess:
    """`flowvault sandbox --flows DIR --latency-ms N --port 0 --write-config FILE` as a subprocess."""

    def __init__(self, flows_dir: Path, config: Path, latency_ms: int, env: dict) -> None:
        self.config = config
        cmd = [*FLOWVAULT, "sandbox", "--flows", str(flows_dir), "--latency-ms", str(latency_ms), "--port", "0",
               "--write-config", str(config)]
        self.log = open(config.with_suffix(".log"), "w+b")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"the sandbox exited {self.proc.returncode}: {self.log.read().decode()[-2000:]}")
            if self.config.is_file():
                for line in self.config.read_text("utf-8").splitlines():
                    if line.startswith("url = ") or line.startswith("api_url = "):
                        url = json.loads(line.split("=", 1)[1].strip())
                        base = url.split("/", 3)
                        return "/".join(base[:3])
            time.sleep(0.05)
        raise RuntimeError("the sandbox did not write its config in time")

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", timeout=10) as resp:
            return json.load(resp)["by_route"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def source_of_route(route: str) -> str:
    """Which configured source a sandbox route belongs to (the sandbox config's `davinci` and `idm`)."""
    path = route.split(" ", 1)[-1]
    return "idm" if path.startswith("/openidm") else "davinci"


def requests_between(before: dict, after: dict) -> dict[str, int]:
    """Requests per source between two /_sandbox/stats readings."""
    out: dict[str, int] = {}
    for route, n in after.items():
        delta = n - before.get(route, 0)
        if delta:
            source = source_of_route(route)
            out[source] = out.get(source, 0) + delta
    return out
