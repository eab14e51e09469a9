"""The one PingOne Platform API client (reference/davinci-api.md §1): an environment's paths, and its HAL
listings (`_embedded.<key>` pages that follow `_links.next`).

Both the backup source (flowvault.sources.davinci) and the restore target (flowvault.restore.target) read through
it, so a broken listing means the same to both: a page without its `_embedded` list is an error, never an empty
environment (read as empty, a backup would delete every flow of the vault and a restore would create every flow
anew).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowvault.errors import RemoteError

# Delays before repeating a call refused with 403: right after a role grant, PingOne answers 403 for a few seconds
# (tf-pingone b68f6d50 "Add default retries for insufficient privilege to davinci resources").
FORBIDDEN_RETRIES = (0.5, 1.0, 2.0)

class PlatformClient:
    """An environment of the Platform API, over a flowvault.http.client.Client (made from `settings` unless given)."""

    def __init__(self, name: str, settings: Any, *, client: Any = None, secret_hint: str | None = None,
                 max_in_flight: int | None = None) -> None:
        self.name = name
        self.env = settings.environment_id
        if client is None:
            from flowvault.http.client import Client
            from flowvault.pingone.token import TokenProvider, api_base

            tokens = TokenProvider.from_settings(settings, source=name, secret_hint=secret_hint,
                                                 timeout=settings.timeout)
            client = Client(api_base(settings), source=name, timeout=settings.timeout, auth=tokens,
                            secret_hint=secret_hint, max_in_flight=max_in_flight or 8,
                            forbidden_retries=FORBIDDEN_RETRIES)
        self.http = client

    def path(self, *parts: str) -> str:
        """The API path of `parts` under this environment: /environments/{envID}/<parts>."""
        return "/".join(["/environments", self.env, *parts])

    def pages(self, path: str, key: str, params: dict | None = None) -> Iterator[list]:
        """The `_embedded.<key>` list of each page of the listing at `path`, following `_links.next`
        (RemoteError, naming the request, on a page without its list)."""
        body = self.http.get_json(path, params=params)
        while True:
            try:
                yield embedded(body, key)
            except RemoteError as e:
                raise RemoteError(f"{self.name}: GET {path} -> {e}; nothing was changed") from None
            nxt = next_link(body)
            if not nxt:
                return
            body = self.http.get_json(nxt)

    def listing(self, path: str, key: str, params: dict | None = None) -> list:
        """Every item of the listing at `path` (all pages)."""
        return [item for page in self.pages(path, key, params) for item in page]

    def close(self) -> None:
        """Close the client's connections."""
        self.http.close()


def embedded(body: Any, key: str) -> list:
    """The `_embedded.<key>` list of a HAL page; RemoteError if the page has none.

    PingOne sends `"_embedded": {"<key>": []}` for an empty collection, so a page without the list is a broken
    answer, not an empty environment.
    """
    found = body.get("_embedded") if isinstance(body, dict) else None
    items = found.get(key) if isinstance(found, dict) else None
    if not isinstance(items, list):
        got = type(body).__name__ if not isinstance(body, dict) else f"keys {sorted(body)[:5]}"
        raise RemoteError(f"expected a JSON object with an _embedded.{key} list, got {got}")
    return items


def next_link(body: Any) -> str | None:
    """The href of a HAL page's `_links.next`, if it has one."""
    link = ((body or {}).get("_links") or {}).get("next") if isinstance(body, dict) else None
    href = link.get("href") if isinstance(link, dict) else None
    return href or None
