"""flowvault: back up, review and smoke-test PingOne DaVinci and PingIDM flows with git."""

__version__ = "0.1.0"
