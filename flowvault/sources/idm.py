"""PingIDM: workflow definitions (BPMN files from workflow_dir + deployed definitions' metadata, seed 004)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    url: str  # e.g. https://idm.example.com/openidm
    username: str | None = field(default=None, metadata=SECRET)
    password: str | None = field(default=None, metadata=SECRET)
    bearer_token: str | None = field(default=None, metadata=SECRET)  # platform deployments (AM as OIDC provider)
    workflow_dir: str | None = None  # BPMN files (*.bpmn20.xml, *.bar); relative to the config file
    timeout: float = 60.0
