"""A restore: read the saved flow, plan what the target needs, ask for its secrets, write it (run.py is the entry
point)."""
