"""Raw exports <-> canonical snapshots (docs/canonical-format.md). Pure functions, no I/O."""

from flowvault.normalize.canonical import content_hash, dumps, loads

__all__ = ["content_hash", "dumps", "loads"]
