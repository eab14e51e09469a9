"""PingOne regions: a top-level domain per region, and the base URLs of the services flowvault calls.

Sources: PingOne API conventions (developer.pingidentity.com .../pingone-api-requests.html) and Ping's go-client
`config/top_level_domain.go`; see reference/davinci-api.md section 1.1.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowvault.errors import ConfigError

# TLD -> where it is (for messages only). `asia` is legacy, kept for existing .asia customers.
REGIONS: dict[str, str] = {
    "com": "North America",
    "eu": "Europe",
    "ca": "Canada",
    "com.au": "Australia",
    "sg": "Singapore",
    "asia": "Asia-Pacific (legacy)",
}


@dataclass(frozen=True)
class RegionURLs:
    api: str  # https://api.pingone.{tld}/v1: Platform API, incl. the DaVinci admin API
    auth: str  # https://auth.pingone.{tld}: token endpoint is {auth}/{envID}/as/token
    orchestrate: str  # https://orchestrate-api.pingone.{tld}/v1: DaVinci runtime (policy start)


def check_region(region: str, *, where: str = "") -> str:
    """Return the region TLD normalised (lower case, no leading dot); ConfigError listing valid values if unknown."""
    tld = str(region).strip().lower().lstrip(".")
    if tld not in REGIONS:
        valid = ", ".join(REGIONS)
        raise ConfigError(f"{where}unknown region {region!r}; valid regions: {valid}")
    return tld


def region_urls(region: str) -> RegionURLs:
    """The base URLs of region `region` (a TLD such as 'com' or 'com.au'); ConfigError if unknown."""
    tld = check_region(region)
    return RegionURLs(
        api=f"https://api.pingone.{tld}/v1",
        auth=f"https://auth.pingone.{tld}",
        orchestrate=f"https://orchestrate-api.pingone.{tld}/v1",
    )


def api_url(region: str) -> str:
    """https://api.pingone.{tld}/v1"""
    return region_urls(region).api


def auth_url(region: str) -> str:
    """https://auth.pingone.{tld}"""
    return region_urls(region).auth


def orchestrate_url(region: str) -> str:
    """https://orchestrate-api.pingone.{tld}/v1"""
    return region_urls(region).orchestrate
