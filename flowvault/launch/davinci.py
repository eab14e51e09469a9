"""DaVinci flow policy start: POST {runtime_url}/company/{companyId}/policy/{policyId}/start (seed 000)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = {"secret": True}


@dataclass(frozen=True)
class Settings:
    company_id: str
    policy_id: str
    api_key: str = field(metadata=SECRET)
    region: str = "com"
    runtime_url: str | None = None  # default https://orchestrate-api.pingone.{region}/v1
