"""Smart Flows (Xpertdoc / Experlogix): flow executions with progress long-poll (seed 003)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://smartflows.example.com:443
    flow_id: str
    api_key: str = field(metadata=SECRET)
    input_file: str | None = None  # XML body; otherwise rendered from `input`
    poll_timeout: int = 10  # seconds per progress long-poll
