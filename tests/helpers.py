"""Test helpers shared by several test modules."""

import contextlib
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@contextlib.contextmanager
def sandbox_and_vault(tmp_path):
    """(sandbox, vault): a sandbox on 127.0.0.1 and a fresh vault whose flowvault.toml is the sandbox's config."""
    from click.testing import CliRunner

    from flowvault.cli import cli
    from flowvault.sandbox.server import Sandbox

    with Sandbox(port=0) as sb:
        vault = tmp_path / "vault"
        result = CliRunner().invoke(cli, ["init", str(vault)])
        assert result.exit_code == 0, result.output
        (vault / "flowvault.toml").unlink()
        sb.write_config(vault / "flowvault.toml")
        yield sb, vault


# --- functions a worker process runs (tests/test_workers.py): importable by name, as pickling needs ------------


def pid_of_caller() -> int:
    import os

    return os.getpid()


def fail_remotely(message: str) -> None:
    from flowvault.errors import RemoteError

    raise RemoteError(message)


def die_unless_in(pid: int) -> str:
    """Kill the process that runs this, unless it is `pid` (the test's own)."""
    import os

    if os.getpid() != pid:
        os._exit(3)
    return "ran here"


def runtime_error_unless_in(pid: int) -> str:
    """Raise a RuntimeError that mentions a shutdown in any process but `pid` (the test's own)."""
    import os

    if os.getpid() != pid:
        raise RuntimeError("the widget is gone after shutdown")
    return "ran here"


# --- a scripted HTTP server on 127.0.0.1 (port 0), for client tests (tests/http, tests/pingone) ----------------

DROP = "drop"  # close the connection without answering
TRUNCATE = "truncate"  # promise a longer body than we send, then close


class ScriptedServer:
    """Answers each path from a script: a list of responses used in turn (the last one repeats), each a
    (status, headers, body) tuple, DROP, TRUNCATE, or a callable(request) -> one of those. Records every request."""

    def __init__(self):
        self.scripts = {}
        self.calls = defaultdict(int)
        self.requests = []  # dicts: path, method, headers, query, body, time
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that gave up (timeout test) is expected
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def script(self, path, *responses):
        self.scripts[path] = list(responses)

    def handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        request = {
            "path": split.path, "method": h.command, "headers": dict(h.headers), "query": parse_qs(split.query),
            "body": body, "time": time.monotonic(),
        }
        with self.lock:
            self.requests.append(request)
            index = self.calls[split.path]
            self.calls[split.path] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            script = self.scripts.get(split.path, [(404, {}, {"code": "NOT_FOUND", "message": "no such path"})])
            answer = script[min(index, len(script) - 1)]
        try:
            if self.delay:
                time.sleep(self.delay)
            if callable(answer):
                answer = answer(request)
            if answer == DROP:
                h.close_connection = True
                return
            if answer == TRUNCATE:
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", "1000")
                h.end_headers()
                h.wfile.write(b'{"flows": [')
                h.wfile.flush()
                h.close_connection = True
                return
            status, headers, payload = answer
            if isinstance(payload, (dict, list)):
                payload = json.dumps(payload).encode()
                headers = {"Content-Type": "application/json", **headers}
            elif isinstance(payload, str):
                payload = payload.encode()
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        finally:
            with self.lock:
                self.in_flight -= 1

    def times(self, path):
        return [r["time"] for r in self.requests if r["path"] == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


OK = (200, {}, {"ok": True})


def run_in_terminal(args, env, timeout: float = 120) -> str:
    """Run flowvault with stdout and stderr on a pseudo-terminal; what the terminal received."""
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "flowvault", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    proc.wait(timeout=timeout)
    return b"".join(chunks).decode("utf-8", "replace")


def sandbox_token(sb, env_id: str | None = None) -> str:
    """A worker-app access token for one of the sandbox's DaVinci environments (default: the seeded one), got the
    way a tool outside flowvault gets it (client credentials, secret "sandbox")."""
    import base64
    import urllib.request

    from flowvault.sandbox import davinci

    basic = base64.b64encode(f"{davinci.CLIENT_ID}:sandbox".encode()).decode()
    req = urllib.request.Request(f"{sb.url}/{env_id or davinci.ENV_ID}/as/token", data=b"grant_type=client_credentials",
                                 headers={"Authorization": f"Basic {basic}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["access_token"]
