"""Profitbase InVision Data Flows: start + status (seed 001)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    url: str  # the API base including the app path, e.g. https://mydomain.com/invision
    dataflow_id: str
    api_key: str = field(metadata=SECRET)
    await_completion: bool = False  # await=true: the start call waits for the end (may take hours)
    poll_interval: float = 2.0
