"""PingIDM workflow start: POST /openidm/workflow/processinstance?_action=create (seed 004)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://idm.example.com/openidm
    key: str | None = None  # _key: the process id; starts the latest deployed version
    process_definition_id: str | None = None  # _processDefinitionId: wins over key
    business_key: str | None = None
    username: str | None = field(default=None, metadata=SECRET)
    password: str | None = field(default=None, metadata=SECRET)
    bearer_token: str | None = field(default=None, metadata=SECRET)
    poll_interval: float = 0.5
