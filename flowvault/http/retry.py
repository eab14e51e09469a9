"""When and how long flowvault.http.client.Client waits before trying a read again: Retry-After, backoff, the 429 gate.

Reads are retried on 408/429/500/502/503/504 and dropped connections by urllib3's Retry (mounted on the session's
adapter), honouring Retry-After (seconds or HTTP-date, capped), with exponential backoff + jitter otherwise, as
Ping's go-client does (reference/davinci-api.md 1.3). A 429 closes a Gate shared by all threads of the client until
its Retry-After has passed.

urllib3 is imported on first use (retry_class) so that `flowvault --help` never loads it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flowvault.http.errors import reason

# The client's logger: a retry is one more line of the call it belongs to (`-v` shows both under flowvault.http.client).
log = logging.getLogger("flowvault.http")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CONNECT_RETRIES = 3  # after a refused connection or an unknown host (Client._new_session says why)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait for a Retry-After header value (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


class Gate:
    """A "not before" time shared by every thread of one client: a 429 pauses them all, not only the one that got it."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._sleep = sleep

    def defer(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._not_before - time.monotonic()
            if remaining <= 0:
                return
            self._sleep(remaining)


@dataclass
class Policy:
    """What the urllib3 Retry subclass needs from its client (kept across Retry.new copies)."""

    source: str
    gate: Gate
    retry_after_cap: float
    backoff_factor: float
    backoff_cap: float
    sleep: Callable[[float], None]
    retries: int = 0  # the most a call is retried (connect errors: CONNECT_RETRIES at most)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (1-based), capped."""
        delay = self.backoff_factor * (2 ** (attempt - 1))
        return min(self.backoff_cap, delay + random.uniform(0, self.backoff_factor / 2))


def _connect_error(error: BaseException) -> bool:
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    return isinstance(error, (NewConnectionError, ConnectTimeoutError)) or isinstance(
        getattr(error, "reason", None), (NewConnectionError, ConnectTimeoutError))


_retry_class = None


def retry_class():
    """urllib3's Retry, subclassed to follow a Policy; made on first use, so importing this module stays cheap."""
    global _retry_class
    if _retry_class is None:
        _retry_class = _make_retry_class()
    return _retry_class


def _make_retry_class():
    from urllib3.util.retry import Retry

    class PolicyRetry(Retry):
        # Honour Retry-After on every status we retry (go-client does on 429/501/503; 502/504 proxies send it too).
        RETRY_AFTER_STATUS_CODES = RETRY_STATUSES

        def __init__(self, *args: Any, policy: Policy | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.policy = policy

        def new(self, **kw: Any):
            kw.setdefault("policy", self.policy)
            return super().new(**kw)

        def get_retry_after(self, response) -> float | None:
            seconds = retry_after_seconds(response.headers.get("Retry-After"))
            if seconds is None or self.policy is None:
                return seconds
            return min(seconds, self.policy.retry_after_cap)

        def sleep(self, response=None) -> None:
            policy = self.policy
            if policy is None:  # pragma: no cover - every client sets a policy
                return super().sleep(response)
            attempt = len(self.history)
            delay = self.get_retry_after(response) if response is not None else None
            if delay is None:
                delay = policy.backoff(attempt)
            last = self.history[-1] if self.history else None
            cause = f"{last.status}" if last and last.status else type(last.error).__name__ if last else "error"
            path = urlsplit(last.url or "").path if last else ""
            if attempt == 1:  # at default verbosity, once per call: a wait of many seconds is not silent (issue 19)
                connect = last is not None and last.error is not None and _connect_error(last.error)
                most = min(CONNECT_RETRIES, policy.retries) if connect else policy.retries
                why = cause if last is None or last.error is None else reason(last.error)
                log.warning("%s: retrying %s %s (%d/%d) after %s", policy.source, last.method if last else "", path,
                            attempt, most or attempt, why)
            log.info(
                "%s: %s %s -> %s; retry %d in %.1f s",
                policy.source, last.method if last else "", path, cause, attempt, delay,
            )
            if response is not None and response.status == 429:
                policy.gate.defer(delay)
            else:
                policy.sleep(delay)
            policy.gate.wait()

    return PolicyRetry
