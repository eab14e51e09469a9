"""The sandbox HTTP server: threads, latency, fault injection, statistics and `--write-config`."""

from __future__ import annotations

import contextlib
import inspect
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

from flowvault.sandbox.app import (
    DEFAULT_SECRET,
    HOOK_PREFIX,
    SECRET_ENV,
    Headers,
    HttpError,
    Request,
    Response,
    Router,
    SandboxContext,
    build,
)
from flowvault.sandbox.envs import DEFAULT, check_names
from flowvault.sandbox.tomlw import dumps as toml_dumps

# Fault kinds, drawn uniformly; a 5xx is then one of 500/502/503.
FAULT_KINDS = ("429", "5xx", "drop", "truncate")
FAULT_RETRY_AFTER = 1  # seconds: small, so that clients honouring Retry-After keep tests fast


def fault_for(seed: int, rate: float, n: int) -> str | None:
    """The fault (None, "429", "500", "502", "503", "drop", "truncate") for the `n`-th counted request.

    Depends only on (seed, n), so a client that sends the same requests in the same order meets the same faults.
    """
    if rate <= 0:
        return None
    rng = random.Random(f"{seed}:fault:{n}")
    if rng.random() >= rate:
        return None
    kind = rng.choice(FAULT_KINDS)
    return rng.choice(("500", "502", "503")) if kind == "5xx" else kind


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; with Nagle on, the body's last segment waited for the client's
        # delayed ACK of the headers: ~40 ms on top of --latency-ms for many responses. Real front ends (nginx's
        # tcp_nodelay, every load balancer) send at once.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        sb = self.server.sandbox
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=Headers(self.headers.items()),
            body=body,
        )
        router, _ = sb._bound()
        if split.path.startswith(HOOK_PREFIX):
            self._send(router.dispatch(request))
            return
        fault = sb.next_fault(request)
        if sb.latency_ms:
            time.sleep(sb.latency_ms / 1000)  # on this request's own thread: N requests in flight take ~1 latency
        if fault == "drop":
            self._drop()
            return
        if fault in ("429", "500", "502", "503"):
            self._send(sb.fault_response(request, int(fault)))
            return
        response = router.dispatch(request)
        if fault == "truncate":
            self._send(response, truncate=True)
            return
        self._send(response)

    def _send(self, response: Response, truncate: bool = False) -> None:
        body = response.body if self.command != "HEAD" else b""
        self.send_response(response.status)
        for key, value in (response.headers or {}).items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        if truncate:
            # Announce the whole body, send half of it, and hang up: the client sees an incomplete read.
            self.send_header("Content-Length", str(len(body) + 64))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._drop()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Sandbox:
    """The emulated remote systems on one loopback port.

    with Sandbox() as sb:
        requests.get(sb.url + "/_sandbox/stats")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        flows_dir: str | os.PathLike | None = None,
        state_dir: str | os.PathLike | None = None,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        secret: str | None = None,
        modules: list[ModuleType] | None = None,
        verbose: bool = False,
        environments: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        self.environments = check_names(environments or (DEFAULT,))
        self.host = host
        self.port = port
        self.flows_dir = Path(flows_dir) if flows_dir else None
        self.state_dir = Path(state_dir) if state_dir else None
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.seed = seed
        self.secret = secret if secret is not None else os.environ.get(SECRET_ENV, DEFAULT_SECRET)
        self.verbose = verbose
        self._modules_arg = modules
        self.modules: list[ModuleType] = []
        self.ctx: SandboxContext | None = None
        self.router: Router | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0
        self._counter_lock = threading.Lock()

    # --- lifecycle

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._server.server_address[1]}"

    def bind(self) -> Sandbox:
        """Listen (port 0 picks a free port) and build the modules; requests are served once started."""
        self._bind()
        return self

    def _bind(self) -> _Server:
        if self._server is not None:
            return self._server
        server = self._server = _Server((self.host, self.port), _Handler, bind_and_activate=True)
        server.sandbox = self
        self.ctx = SandboxContext(secret=self.secret, seed=self.seed, base_url=self.url,
                                  flows_dir=self.flows_dir, state_dir=self.state_dir, environments=self.environments)
        self.router, self.modules = build(self.ctx, self._modules_arg)
        return server

    def _bound(self) -> tuple[Router, SandboxContext]:
        """The router and context, built by bind()."""
        if self.router is None or self.ctx is None:
            raise RuntimeError("the sandbox is not bound")
        return self.router, self.ctx

    def start(self) -> Sandbox:
        """Serve in a background thread."""
        server = self._bind()
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05),
                                            name="flowvault-sandbox", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (the CLI)."""
        server = self._bind()
        try:
            server.serve_forever()
        finally:
            server.server_close()

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- faults and statistics

    def next_fault(self, request: Request) -> str | None:
        """Count `request` and draw its fault (hooks are neither counted nor faulted)."""
        with self._counter_lock:
            n = self._counter
            self._counter += 1
        router, ctx = self._bound()
        route = router.route_name(request.method, request.path) or f"{request.method} (no route)"
        ctx.stats.count(route)
        return fault_for(self.seed, self.fault_rate, n)

    def fault_response(self, request: Request, status: int) -> Response:
        router, ctx = self._bound()
        if status == 429:
            error = HttpError(
                429, "REQUEST_LIMITED", "The request was rate limited; retry after the period in Retry-After.",
                details=[{"code": "LIMIT_EXCEEDED", "message": "Too many requests",
                          "innerError": {"retryAfter": ctx.clock.iso()}}],
                headers={"Retry-After": str(FAULT_RETRY_AFTER)})
        else:
            codes = {500: "UNEXPECTED_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}
            # The spec's http.503.ServiceUnavailable declares a Retry-After header; 500 and 502 declare none.
            headers = {"Retry-After": str(FAULT_RETRY_AFTER)} if status == 503 else None
            error = HttpError(status, codes[status], "The service could not complete the request; try again later.",
                              headers=headers)
        return router.error_response(request.path, error)

    # --- configuration

    def config(self) -> dict:
        """The flowvault.toml for this sandbox, as a dict: [vault], [sources.*] and [launchers.*] of every module."""
        sources: dict[str, dict] = {}
        launchers: dict[str, dict] = {}
        for module in self.modules:
            for name, into in (("config_sources", sources), ("config_launchers", launchers)):
                if hasattr(module, name):
                    tables = self._module_tables(getattr(module, name))
                    clash = sorted(into.keys() & tables.keys())
                    if clash:
                        raise ValueError(f"--write-config: {', '.join(clash)} named twice; rename the environment")
                    into.update(tables)
        return {"vault": {"path": "."}, "sources": sources, "launchers": launchers}

    def _module_tables(self, function) -> dict[str, dict]:
        """A module's config tables; modules whose tables depend on the served environments take the context."""
        if "ctx" in inspect.signature(function).parameters:
            return function(self.url, ctx=self.ctx)
        return function(self.url)

    def write_config(self, path: str | os.PathLike) -> Path:
        """Write a complete flowvault.toml for this sandbox; secrets are ${FLOWVAULT_SANDBOX_SECRET} references."""
        path = Path(path)
        header = (f"# flowvault.toml for the flowvault sandbox at {self.url} (seed {self.seed}).\n"
                  f"# Every secret is ${{{SECRET_ENV}}} (default {DEFAULT_SECRET!r}).\n\n")
        path.write_text(header + toml_dumps(self.config()), encoding="utf-8")
        return path
