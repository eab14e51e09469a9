"""The sandbox's tiny web framework: requests, responses, a router and the context every emulated system gets.

Each emulated system is a module named in MODULES with `register(router, ctx)` and, optionally,
`config_sources(base_url) -> {name: table}` and `config_launchers(base_url) -> {name: table}` (the TOML tables
that `--write-config` writes). The sandbox is its own small app: it imports no flowvault product module.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, overload

# The emulated systems, in registration order. The last three are written by another engineer and are imported
# only when present, so the framework works (and its tests pass) before they land.
MODULES: tuple[str, ...] = (
    "flowvault.sandbox.token",
    "flowvault.sandbox.davinci",
    "flowvault.sandbox.runtime",
    "flowvault.sandbox.invision",
    "flowvault.sandbox.smartflows",
    "flowvault.sandbox.idm",
)
OPTIONAL_MODULES = frozenset({"flowvault.sandbox.invision", "flowvault.sandbox.smartflows", "flowvault.sandbox.idm"})

HOOK_PREFIX = "/_sandbox/"
DEFAULT_SECRET = "sandbox"
SECRET_ENV = "FLOWVAULT_SANDBOX_SECRET"
# The marker every secret value the sandbox holds contains, so that a leak can be found with grep.
SECRET_MARKER = "SBXSECRET"
ID_NAMESPACE = uuid.UUID("6f0b6a52-3c1e-5d8e-9a55-7e1d0f1c5a10")


# --- errors ---------------------------------------------------------------------------------------------------


class HttpError(Exception):
    """Raised by a handler to answer with an error; the router renders the body in the format of the path's system."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


ErrorFormatter = Callable[[int, str, str, "list[dict] | None"], Any]


def pingone_error(status: int, code: str, message: str, details: list[dict] | None = None) -> dict:
    """A PingOne Platform error body `{id, code, message[, details]}` (OpenAPI BadRequestError, NotFoundError...)."""
    body: dict[str, Any] = {"id": str(uuid.uuid5(ID_NAMESPACE, f"error:{status}:{code}:{message}")), "code": code,
                            "message": message}
    if details:
        body["details"] = details
    return body


# --- request / response ---------------------------------------------------------------------------------------


class Headers(dict):
    """A case-insensitive, single-valued header mapping (the last value of a repeated header wins)."""

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        super().__init__()
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


_MISSING = object()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    route: str | None = None  # the matched pattern, e.g. "GET /v1/environments/{envID}/flows"

    def json(self, default: Any = _MISSING) -> Any:
        """The body parsed as JSON; `default` for an empty body if given; a 400 for anything unparseable."""
        if not self.body.strip() and default is not _MISSING:
            return default
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise HttpError(400, "INVALID_DATA", f"The request body is not valid JSON: {e}") from None

    @overload
    def arg(self, name: str, default: str) -> str: ...
    @overload
    def arg(self, name: str, default: None = None) -> str | None: ...

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-case, without parameters."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.body, str):
            self.body = self.body.encode("utf-8")
        self.headers = dict(self.headers or {})


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response (`Content-Type: application/json` unless `headers` say otherwise)."""
    merged = {"Content-Type": "application/json"}
    merged.update(headers or {})
    return Response(status, _json_bytes(obj), merged)


def _json_bytes(obj: Any) -> bytes:
    """Compact JSON, as PingOne sends it. orjson (C): json.dumps was most of the sandbox's CPU per export (1 ms of
    a 110 KB flow vs 0.14 ms), CPU that a benchmark's client competes for on a small machine (issue 8)."""
    import orjson

    try:
        return orjson.dumps(obj)
    except TypeError:  # what orjson refuses (an integer beyond 64 bits, a non-str key): json's answer
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- router ---------------------------------------------------------------------------------------------------

Handler = Callable[[Request], Response]
_PARAM = re.compile(r"^\{(\w+)\}$")


@dataclass
class _Route:
    method: str
    pattern: str
    segments: tuple[str, ...]
    handler: Handler
    system: str = ""  # the module that registered it (for the index at GET /)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params = {}
        for seg, part in zip(self.segments, parts, strict=True):
            m = _PARAM.match(seg)
            if m:
                if not part:
                    return None
                params[m.group(1)] = part
            elif seg != part:
                return None
        return params

    @property
    def literals(self) -> int:
        return sum(1 for s in self.segments if not _PARAM.match(s))


class Router:
    """Routes `METHOD /path/{param}` patterns to handlers; unknown path -> 404, known path with other method -> 405."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._formats: list[tuple[str, ErrorFormatter]] = []
        self.system = ""  # set by build() while a module registers its routes

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator: `handler(request) -> Response` answers `method pattern` (`{name}` matches one segment)."""

        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        segments = tuple(pattern.strip("/").split("/"))
        self._routes.append(_Route(method.upper(), pattern, segments, handler, self.system))

    def index(self) -> dict[str, list[str]]:
        """{system: ["METHOD pattern", ...]} of every route, in registration order."""
        out: dict[str, list[str]] = {}
        for route in self._routes:
            out.setdefault(route.system, []).append(f"{route.method} {route.pattern}")
        return out

    def error_format(self, prefix: str, formatter: ErrorFormatter) -> None:
        """Render errors (HttpError, 404/405, faults) under path `prefix` with
        `formatter(status, code, message, details)`.

        The longest matching prefix wins; the default is the PingOne Platform error body.
        """
        self._formats.append((prefix, formatter))
        self._formats.sort(key=lambda item: -len(item[0]))

    def formatter_for(self, path: str) -> ErrorFormatter:
        for prefix, formatter in self._formats:
            if path.startswith(prefix):
                return formatter
        return pingone_error

    def error_response(self, path: str, error: HttpError) -> Response:
        body = self.formatter_for(path)(error.status, error.code, error.message, error.details)
        return json_response(error.status, body, error.headers)

    def match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], list[str]]:
        """(route, params, allowed methods): the best route for `method path` (most literal segments wins)."""
        parts = path.strip("/").split("/")
        candidates = []
        for route in self._routes:
            params = route.match(parts)
            if params is not None:
                candidates.append((route, params))
        if not candidates:
            return None, {}, []
        best = max(r.literals for r, _ in candidates)
        same_path = [(r, p) for r, p in candidates if r.literals == best]
        for route, params in same_path:
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, params, []
        # Another, less literal pattern may still take this method (e.g. /flows/{id} vs /flows/import).
        for route, params in sorted(candidates, key=lambda rp: -rp[0].literals):
            if route.method == method:
                return route, params, []
        return None, {}, sorted({r.method for r, _ in candidates})

    def dispatch(self, request: Request) -> Response:
        """The response for `request`; never raises for an HttpError."""
        route, params, allowed = self.match(request.method, request.path)
        if route is None:
            if allowed:
                error = HttpError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}",
                                  headers={"Allow": ", ".join(allowed)})
            else:
                error = HttpError(404, "NOT_FOUND", f"No resource at {request.path}")
            return self.error_response(request.path, error)
        request.params = params
        request.route = f"{route.method} {route.pattern}"
        try:
            return route.handler(request)
        except HttpError as e:
            return self.error_response(request.path, e)

    def route_name(self, method: str, path: str) -> str | None:
        """`"METHOD pattern"` of the route that would answer, for statistics."""
        route, _, _ = self.match(method, path)
        return f"{route.method} {route.pattern}" if route else None


# --- context --------------------------------------------------------------------------------------------------


class Clock:
    """Deterministic time: `now()` starts at `start` and moves only by `advance()` and `tick()`, so two sandboxes
    started alike stamp identical dates. `elapsed()` (real seconds since start plus every advance, not ticks) is
    what token expiry uses: a saved version ticks the dates on without ageing the caller's token."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> None:
        self._start = start
        self._offset = 0.0  # seconds added to the dates
        self._aged = 0.0  # seconds added to elapsed()
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> datetime:
        """Move the dates and token ages on by `seconds` (POST /_sandbox/clock)."""
        with self._lock:
            self._offset += seconds
            self._aged += seconds
            return self._start + timedelta(seconds=self._offset)

    def tick(self, seconds: float) -> datetime:
        """Move only the dates on by `seconds`: the stamp of something saved, later than the one before."""
        with self._lock:
            self._offset += seconds
            return self._start + timedelta(seconds=self._offset)

    def elapsed(self) -> float:
        with self._lock:
            return time.monotonic() - self._t0 + self._aged

    def iso(self, moment: datetime | None = None) -> str:
        """`2026-01-01T00:00:00.000Z`, the PingOne date format."""
        moment = moment or self.now()
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def epoch_ms(self, moment: datetime | None = None) -> int:
        return int((moment or self.now()).timestamp() * 1000)


@dataclass
class Stats:
    requests: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, route: str) -> None:
        with self.lock:
            self.requests += 1
            self.by_route[route] = self.by_route.get(route, 0) + 1

    def snapshot(self) -> dict:
        with self.lock:
            return {"requests": self.requests, "by_route": dict(sorted(self.by_route.items()))}


@dataclass
class SandboxContext:
    """What every module gets: the accepted secret, the seed, a seeded RNG, the clock, the base URL and state."""

    secret: str = DEFAULT_SECRET
    seed: int = 0
    base_url: str = ""
    flows_dir: Path | None = None
    state_dir: Path | None = None
    clock: Clock = field(default_factory=Clock)
    rng: random.Random = field(init=False)
    state: dict[str, Any] = field(default_factory=dict)  # one entry per module, keyed by its short name
    fail_ids: set[str] = field(default_factory=set)  # POST /_sandbox/faults: ids whose exports/runs answer 500
    # POST /_sandbox/faults {"fail_writes": ...}: environment name -> {"allowed": writes still accepted,
    # "times": failures still to answer before writes are accepted again (None: until cleared)}
    fail_writes: dict[str, dict] = field(default_factory=dict)
    environments: tuple[str, ...] = ("davinci",)  # the DaVinci environments served (--environments)
    stats: Stats = field(default_factory=Stats)
    lock: threading.RLock = field(default_factory=threading.RLock)  # hold while mutating shared state

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if self.flows_dir is not None:
            self.flows_dir = Path(self.flows_dir)
        if self.state_dir is not None:
            self.state_dir = Path(self.state_dir)

    def new_id(self, kind: str, *parts: object) -> str:
        """A UUID that depends only on the seed, `kind` and `parts`: the same in two sandboxes started alike."""
        return str(uuid.uuid5(ID_NAMESPACE, ":".join([str(self.seed), kind, *map(str, parts)])))

    def admit_write(self, environment: str) -> bool:
        """Whether environment `environment` accepts one more admin-API write (counts it against fail_writes)."""
        with self.lock:
            entry = self.fail_writes.get(environment)
            if entry is None:
                return True
            if entry["allowed"] > 0:
                entry["allowed"] -= 1
                return True
            if entry["times"] is not None:
                entry["times"] -= 1
                if entry["times"] <= 0:
                    del self.fail_writes[environment]
            return False

    def accepts(self, credential: str | None) -> bool:
        """True if `credential` is the sandbox secret (FLOWVAULT_SANDBOX_SECRET), which every credential must be."""
        return credential is not None and credential == self.secret

    def load_state(self, name: str) -> Any | None:
        """Module `name`'s saved state from --state DIR (`<name>.json`), or None if there is none."""
        if self.state_dir is None:
            return None
        path = self.state_dir / f"{name}.json"
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def save_state(self, name: str, obj: Any) -> None:
        """Write module `name`'s state to --state DIR atomically (no-op when state is in memory only)."""
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"{name}.json"
        tmp = path.with_suffix(f".json.tmp{threading.get_ident()}")
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


# --- modules and hooks ----------------------------------------------------------------------------------------


def load_modules(names: Iterable[str] = MODULES) -> list[ModuleType]:
    """The emulated-system modules that exist (optional ones are skipped when absent)."""
    modules = []
    for name in names:
        if name in OPTIONAL_MODULES and importlib.util.find_spec(name) is None:
            continue
        modules.append(importlib.import_module(name))
    return modules


def register_hooks(router: Router, ctx: SandboxContext) -> None:
    """The generic test hooks under /_sandbox/ (modules add their own, e.g. the DaVinci flow edit)."""

    @router.route("GET", "/_sandbox/stats")
    def stats(request: Request) -> Response:
        return json_response(200, ctx.stats.snapshot())

    @router.route("POST", "/_sandbox/faults")
    def faults(request: Request) -> Response:
        body = request.json(default={})
        usage = ('Expected {"fail": ["<id>", ...]} and/or {"fail_writes": {"<environment>": N}} '
                 '(N: writes still accepted, or {"after": N, "times": K} to fail K writes, then accept again)')
        if (not isinstance(body, dict) or not body.keys() & {"fail", "fail_writes"}
                or body.keys() - {"fail", "fail_writes"}):
            raise HttpError(400, "INVALID_DATA", usage)
        fail = body.get("fail", sorted(ctx.fail_ids))
        if not isinstance(fail, list) or not all(isinstance(x, str) for x in fail):
            raise HttpError(400, "INVALID_DATA", usage)
        writes = body.get("fail_writes")
        entries: dict[str, dict] | None = None
        if writes is not None:
            if not isinstance(writes, dict):
                raise HttpError(400, "INVALID_DATA", usage)
            entries = {}
            for name, spec in writes.items():
                if name not in ctx.environments:
                    raise HttpError(400, "INVALID_DATA", f"fail_writes: no environment named {name!r}; "
                                    f"served: {', '.join(ctx.environments)}")
                after, times = (spec, None) if not isinstance(spec, dict) else (spec.get("after"), spec.get("times"))
                if not _count(after) or not (times is None or (_count(times) and times > 0)):
                    raise HttpError(400, "INVALID_DATA", usage)
                entries[name] = {"allowed": after, "times": times}
        with ctx.lock:
            ctx.fail_ids = set(fail)
            if entries is not None:
                ctx.fail_writes = entries
            return json_response(200, {"fail": sorted(ctx.fail_ids), "fail_writes": {
                name: entry["allowed"] if entry["times"] is None
                else {"after": entry["allowed"], "times": entry["times"]}
                for name, entry in sorted(ctx.fail_writes.items())}})

    @router.route("GET", "/")
    def index(request: Request) -> Response:
        hooks, systems = [], {}
        for name, patterns in router.index().items():
            hooks += [p for p in patterns if p.split(" ", 1)[1].startswith(HOOK_PREFIX)]
            served = [p for p in patterns if p.split(" ", 1)[1] != "/" and p not in hooks]
            if served:
                systems[name] = {"base_path": _base_path(served), "routes": served}
        return json_response(200, {"service": "flowvault sandbox", "systems": systems,
                                   **ctx.state.get("index", {}), "hooks": hooks})

    @router.route("POST", "/_sandbox/clock")
    def clock(request: Request) -> Response:
        body = request.json(default={})
        seconds = body.get("advance", 0) if isinstance(body, dict) else None
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise HttpError(400, "INVALID_DATA", 'Expected {"advance": <seconds >= 0>}')
        return json_response(200, {"now": ctx.clock.iso(ctx.clock.advance(seconds))})


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def build(ctx: SandboxContext, modules: Iterable[ModuleType] | None = None) -> tuple[Router, list[ModuleType]]:
    """A router with the hooks and every module registered."""
    router = Router()
    register_hooks(router, ctx)
    mods = list(modules) if modules is not None else load_modules()
    for module in mods:
        router.system = getattr(module, "__name__", "module").rsplit(".", 1)[-1]
        module.register(router, ctx)
    router.system = ""
    return router, mods


def _base_path(patterns: list[str]) -> str:
    """The longest leading run of path segments that every route pattern shares."""
    paths = [p.split(" ", 1)[1].strip("/").split("/") for p in patterns]
    common: list[str] = []
    for parts in zip(*paths, strict=False):  # stops at the shortest pattern
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/" + "/".join(common)
