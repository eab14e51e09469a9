"""Raw exports <-> canonical snapshots (docs/canonical-format.md). Pure functions, no I/O."""
