"""PingOne DaVinci: export every flow version through the PingOne Platform API (seed 002)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    environment_id: str
    client_id: str
    client_secret: str = field(metadata=SECRET)
    region: str = "com"  # com | eu | ca | com.au | sg | asia; ignored where api_url/auth_url are given
    api_url: str | None = None  # e.g. https://api.pingone.eu/v1 or a custom domain / the sandbox
    auth_url: str | None = None  # e.g. https://auth.pingone.eu (the token endpoint is {auth_url}/{envID}/as/token)
    token_auth_method: str = "client_secret_basic"  # or client_secret_post
    include_subflows: bool = True
    include_variable_values: bool = True
    deployed_only: bool = False  # keep the published version instead of the current one
    timeout: float = 60.0
