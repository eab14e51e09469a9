"""Helpers for the reliability tests: vaults on a sandbox, snapshot trees, subprocess runs, a tampering proxy."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from click.testing import CliRunner

from flowvault.cli import cli

SECRET = "sbx-test-7f3a9c2e"  # FLOWVAULT_SANDBOX_SECRET: distinctive, so a grep for it cannot match by accident
REDACT_KEY = "reliability-redaction-key-5e1b"
CANARY = "SBXSECRET"  # every secret the sandbox holds contains it
ROOT = Path(__file__).resolve().parents[2]


def git(repo, *args: str, check: bool = True) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=check, capture_output=True, text=True).stdout


def cli_run(vault: Path, *args: str, config: Path | None = None):
    """`flowvault --config <vault>/flowvault.toml ARGS` in-process (CliRunner; stdout and stderr apart)."""
    return CliRunner().invoke(cli, ["--config", str(config or vault / "flowvault.toml"), *args])


def make_vault(path: Path, sb=None, *, url: str | None = None) -> Path:
    """A new vault at `path` whose flowvault.toml points at sandbox `sb` (or at `url`, e.g. a proxy in front)."""
    result = CliRunner().invoke(cli, ["init", str(path)])
    assert result.exit_code == 0, result.output
    (path / "flowvault.toml").unlink()
    if sb is not None:
        sb.write_config(path / "flowvault.toml")
        if url:
            text = (path / "flowvault.toml").read_text("utf-8").replace(sb.url, url)
            (path / "flowvault.toml").write_text(text, "utf-8")
    return path


def snapshot_tree(vault: Path) -> dict[str, bytes]:
    """{path under snapshots/: bytes} of every file, for byte-for-byte comparisons."""
    root = vault / "snapshots"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def committed_tree(vault: Path, ref: str = "HEAD") -> dict[str, bytes]:
    """{path under snapshots/: bytes} of the commit `ref`."""
    names = git(vault, "ls-tree", "-r", "--name-only", "-z", ref, "--", "snapshots").split("\0")
    out = {}
    for name in filter(None, names):
        blob = subprocess.run(["git", "-C", str(vault), "cat-file", "blob", f"{ref}:{name}"], check=True,
                              capture_output=True).stdout
        out[name[len("snapshots/"):]] = blob
    return out


def call(url: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "FLOWVAULT_SANDBOX_SECRET": SECRET, "FLOWVAULT_REDACT_KEY": REDACT_KEY,
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("FLOWVAULT_CONFIG", None)
    env.update(extra)
    return env


def flowvault_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowvault", *args]


def index(vault: Path, source: str = "davinci") -> dict:
    return json.loads((vault / "snapshots" / source / "index.json").read_text("utf-8"))


# --- a tampering proxy --------------------------------------------------------------------------------------


@dataclass
class Proxy:
    """Forwards to `upstream` on 127.0.0.1; `tamper(method, path, n)` may replace the answer of the n-th call
    (0-based, per method+path) with (status, body bytes), "drop" (hang up) or "truncate" (half the real body)."""

    upstream: str
    tamper: Callable[[str, str, int], object] = lambda method, path, n: None
    seen: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def __enter__(self) -> Proxy:
        proxy = self
        up = urlsplit(self.upstream)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                key = f"{self.command} {path}"
                with lock:
                    n = proxy.seen.get(key, 0)
                    proxy.seen[key] = n + 1
                action = proxy.tamper(self.command, path, n)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if isinstance(action, tuple):
                    status, data = action
                    self._answer(status, {"Content-Type": "application/json"}, data)
                    return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                kept = {k: v for k, v in resp.getheaders()
                        if k.lower() not in ("content-length", "connection", "transfer-encoding")}
                if action == "truncate":
                    self.send_response(resp.status)
                    for k, v in kept.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._answer(resp.status, kept, data)

            def _answer(self, status, headers, data):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up early (a body too large) is not this proxy's business

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
