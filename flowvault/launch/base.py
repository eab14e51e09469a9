"""What every launcher shares: the Result record, the Launcher protocol, deadlines, progress and the start call.

A launcher starts a flow once (never retried: a retried start runs the flow twice), then follows it with polls
(retried) until it passes, fails, blocks or its deadline passes. `run()` turns whatever happened into a Result,
so that `launch`, `smoke`, JUnit, Markdown and JSON all render the same record.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flowvault.errors import FlowvaultError, RemoteError
from flowvault.masking import mask

if TYPE_CHECKING:
    from flowvault.http.client import Client

log = logging.getLogger("flowvault.launch")

PASSED, FAILED, BLOCKED, ERROR = "passed", "failed", "blocked", "error"
OUTCOMES = (PASSED, FAILED, BLOCKED, ERROR)


@dataclass
class Result:
    """One launch: what `flowvault launch --format json` prints and each smoke row / JUnit testcase is made of.

    outcome: passed (the flow succeeded), failed (it ran and said no), blocked (it waits for a person or an event),
    error (the service failed the call, or the run did not finish in time: then timed_out is true).
    """

    launcher: str
    type: str
    outcome: str
    run_id: str | None = None
    status: str | None = None  # the service's last status word: Succeeded, Success, ended, suspended, success, ...
    message: str = ""
    duration: float = 0.0
    output: Any = None  # the service's last JSON answer (the final execution, the history record, the response body)
    timed_out: bool = False
    waiting_on: str | None = None  # the step a suspended/blocked run waits on
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == PASSED

    def to_dict(self) -> dict:
        """The record as JSON-ready data, with every registered secret masked."""
        data = asdict(self)
        data["duration"] = round(self.duration, 3)
        return mask_tree(json.loads(json.dumps(data, ensure_ascii=False, default=str)))


def mask_tree(value: Any) -> Any:
    """`value` (JSON data) with registered secrets masked in every string, keys included."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(str(k)): mask_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_tree(v) for v in value]
    return value


class Progress(Protocol):
    def update(self, status: str, message: str = "", percentage: float | None = None) -> None: ...


class NullProgress:
    def update(self, status: str, message: str = "", percentage: float | None = None) -> None:
        pass


@dataclass
class RunOptions:
    """How to run one launch: the input (a dict, or XML text for Smart Flows), the deadline, and --no-wait."""

    input: Any = None
    timeout: float = 300.0
    wait: bool = True
    progress: Progress = field(default_factory=NullProgress)


class Launcher(Protocol):
    """A launch API: `Launcher(name, settings)`, then `run(options) -> Result`; `cancel()` on Ctrl-C."""

    type: ClassVar[str]

    def __init__(self, name: str, settings: Any, *, secret_hint: str | None = None) -> None: ...

    def run(self, options: RunOptions) -> Result: ...

    def cancel(self) -> None: ...


class Deadline:
    """A monotonic deadline with the poll-interval backoff every follower uses."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.started = clock()
        self.at = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self.at

    def elapsed(self) -> float:
        return self._clock() - self.started

    def sleep(self, interval: float) -> None:
        time.sleep(max(0.0, min(interval, self.remaining())))


def backoff(interval: float, cap: float = 30.0) -> Callable[[], float]:
    """Poll intervals: `interval`, then growing by half each time up to `cap` (InVision: 2 s growing to 30 s)."""
    state = {"next": interval}

    def step() -> float:
        current = state["next"]
        state["next"] = min(cap, current * 1.5)
        return current

    return step


class BaseLauncher:
    """Shared plumbing: the HTTP client, the start call, and run() turning errors into a Result."""

    type: ClassVar[str] = ""

    def __init__(self, name: str, settings: Any, *, secret_hint: str | None = None) -> None:
        self.name = name
        self.settings = settings
        self.secret_hint = secret_hint
        self.run_id: str | None = None
        self.last_status: str | None = None
        self.last_body: Any = None
        self._client: Client | None = None

    # --- to implement

    def launch(self, options: RunOptions, deadline: Deadline) -> Result:
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop the run if the API can (best effort; called on Ctrl-C)."""

    # --- shared

    def result(self, outcome: str, message: str = "", **kw: Any) -> Result:
        kw.setdefault("run_id", self.run_id)
        kw.setdefault("status", self.last_status)
        kw.setdefault("output", self.last_body)
        return Result(self.name, self.type, outcome, message=message, **kw)

    def client(self, base_url: str, *, auth: dict | None = None, headers: dict | None = None, timeout: float = 30.0):
        """The shared HTTP client; `auth` holds only credential headers (every value is masked), `headers` the rest."""
        from flowvault.http.client import Client

        if self._client is None:
            self._client = Client(base_url, source=f"launcher {self.name}", timeout=timeout, auth=auth,
                                  headers=headers, secret_hint=self.secret_hint)
        return self._client

    def start_call(self, path: str, *, json: Any = None, data: Any = None, params: dict | None = None,
                   headers: dict | None = None, timeout: float | None = None):
        """POST the start exactly once (retry=False: not after a status, a timeout or a dropped connection) and
        return the Response whatever its status: the error body is the flow's answer (DaVinci's
        createErrorResponse, IDM's script error), so the caller decides. 401/403 still raise AuthError."""
        if self._client is None:
            raise RuntimeError("start_call before client(): a launcher makes its client first")
        return self._client.request("POST", path, retry=False, json=json, data=data, params=params, headers=headers,
                                    timeout=timeout, expect_json=False, raise_for_status=False)

    def run(self, options: RunOptions) -> Result:
        """Launch and follow; every outcome (also a refused credential or an unreachable service) is a Result."""
        deadline = Deadline(options.timeout)
        try:
            result = self.launch(options, deadline)
        except RemoteError as e:
            result = self.result(ERROR, str(e), http_status=e.status)
        except KeyboardInterrupt:
            log.warning("%s: interrupted; cancelling run %s", self.name, self.run_id or "(not started)")
            try:
                self.cancel()
            except FlowvaultError as e:
                log.warning("%s: cancel failed: %s", self.name, e)
            raise
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
        result.duration = deadline.elapsed()
        result.message = mask(result.message)
        return result

    def timed_out(self, deadline: Deadline, what: str, waiting_on: str | None = None) -> Result:
        """The Result of a run that did not finish before its deadline: name the step and the last answer."""
        where = f"; waiting on {waiting_on}" if waiting_on else ""
        last = f"; last status {self.last_status}" if self.last_status else ""
        message = f"{what} did not finish within {deadline.seconds:g} s{where}{last} (run {self.run_id})"
        return self.result(ERROR, message, timed_out=True, waiting_on=waiting_on)


def json_or_none(response) -> Any:
    """The body of an http Response parsed as JSON, or None if it is empty or not JSON."""
    try:
        return json.loads(response.content) if response.content and response.content.strip() else None
    except ValueError:
        return None
