"""A backup run: select sources, export (threads, and worker processes for the CPU part), keep index.json, write
the files and commit them (run.py is the entry point)."""
